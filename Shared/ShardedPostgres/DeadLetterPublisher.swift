import BusContracts
import Foundation
import Kafka
import SwiftProtobuf

/// Sends refused records to `cpe.dead-letter.v1` with where they came from and why.
public struct DeadLetterPublisher: Sendable {
    private let producer: KafkaProducer
    private let topic: String

    /// Creates a publisher on the given producer.
    public init(producer: KafkaProducer, topic: String = Topic.deadLetter) {
        self.producer = producer
        self.topic = topic
    }

    /// Publishes one dead letter keyed like the original record and waits for the broker.
    public func publish(_ record: ConsumedRecord, consumerGroup: String, code: String, reason: String) async throws {
        var letter = Twinfleet_Bus_V1_DeadLetter()
        letter.sourceTopic = record.topic
        letter.sourcePartition = record.partition
        letter.sourceOffset = record.offset
        letter.key = Data(record.key ?? [])
        letter.value = Data(record.value)
        for header in record.headers { letter.headers[header.key] = Data(header.value) }
        letter.consumerGroup = consumerGroup
        letter.errorCode = code
        letter.reason = reason
        letter.failedAtUs = Int64(Date().timeIntervalSince1970 * 1_000_000)
        let bytes: [UInt8] = try letter.serializedBytes()
        try await producer.send(OutgoingRecord(topic: topic, key: record.key, value: bytes, headers: [
            KafkaHeader(key: "twinfleet-error-code", string: code),
        ]))
    }
}
