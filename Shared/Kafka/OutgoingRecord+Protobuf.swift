import BusContracts
import SwiftProtobuf

extension OutgoingRecord {
    /// A record carrying `message`, with the content-type and schema headers every Twinfleet
    /// record has (``RecordHeader``).
    public init<M: SwiftProtobuf.Message>(message: M, topic: String, key: String) throws {
        self.init(
            topic: topic, key: key, value: try message.serializedBytes(),
            headers: RecordHeader.describing(M.self).map { KafkaHeader(key: $0.name, string: $0.value) })
    }
}
