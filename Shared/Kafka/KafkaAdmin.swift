import CRdKafka
import Foundation
import Logging

/// Topic administration through Kafka's admin API (CreateTopics).
///
/// librdkafka's mock cluster does not implement CreateTopics; the development broker creates
/// topics itself (see `Services/DevKafka`), so this is used against real Kafka.
public struct KafkaAdmin: Sendable {
    private let configuration: KafkaConfiguration

    /// Creates an admin client configuration.
    public init(configuration: KafkaConfiguration) {
        self.configuration = configuration
    }

    /// Creates topics with a partition count; topics that already exist are not an error.
    public func createTopics(
        _ names: [String], partitions: Int32, replicationFactor: Int32 = -1, timeout: Duration = .seconds(30)
    ) throws(KafkaError) {
        guard !names.isEmpty else { return }
        let handle = try makeClient(type: RD_KAFKA_PRODUCER, conf: configuration.makeConf())
        defer { rd_kafka_destroy(handle) }
        let queue = rd_kafka_queue_new(handle)!
        defer { rd_kafka_queue_destroy(queue) }
        var errstr = [CChar](repeating: 0, count: 512)
        var newTopics: [OpaquePointer?] = []
        defer { newTopics.forEach { rd_kafka_NewTopic_destroy($0) } }
        for name in names {
            guard let topic = rd_kafka_NewTopic_new(name, partitions, replicationFactor, &errstr, errstr.count) else {
                throw KafkaError(.admin, message: "invalid topic \(name)")
            }
            newTopics.append(topic)
        }
        let options = rd_kafka_AdminOptions_new(handle, RD_KAFKA_ADMIN_OP_CREATETOPICS)
        defer { rd_kafka_AdminOptions_destroy(options) }
        rd_kafka_AdminOptions_set_operation_timeout(options, Int32(timeout.components.seconds * 1000), &errstr, errstr.count)
        newTopics.withUnsafeMutableBufferPointer { buffer in
            rd_kafka_CreateTopics(handle, buffer.baseAddress, buffer.count, options, queue)
        }
        guard let event = rd_kafka_queue_poll(queue, Int32(timeout.components.seconds * 1000 + 5000)) else {
            throw KafkaError(.timeout, message: "CreateTopics did not answer", isRetriable: true)
        }
        defer { rd_kafka_event_destroy(event) }
        if rd_kafka_event_error(event) != RD_KAFKA_RESP_ERR_NO_ERROR {
            throw .from(rd_kafka_event_error(event), .admin, context: "CreateTopics")
        }
        guard let result = rd_kafka_event_CreateTopics_result(event) else {
            throw KafkaError(.admin, message: "unexpected admin event")
        }
        var count = 0
        let topics = rd_kafka_CreateTopics_result_topics(result, &count)
        for i in 0..<count {
            guard let topicResult = topics?[i] else { continue }
            let err = rd_kafka_topic_result_error(topicResult)
            if err != RD_KAFKA_RESP_ERR_NO_ERROR && err != RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS {
                throw .from(err, .admin, context: "create topic \(String(cString: rd_kafka_topic_result_name(topicResult)))")
            }
        }
    }

    /// Partition count of a topic as the cluster reports it (nil if the topic does not exist).
    public func partitionCount(of topic: String, timeout: Duration = .seconds(10)) throws(KafkaError) -> Int32? {
        var configuration = configuration
        configuration["allow.auto.create.topics"] = "false"
        let handle = try makeClient(type: RD_KAFKA_PRODUCER, conf: configuration.makeConf())
        defer { rd_kafka_destroy(handle) }
        let topicHandle = rd_kafka_topic_new(handle, topic, nil)
        defer { rd_kafka_topic_destroy(topicHandle) }
        var metadata: UnsafePointer<rd_kafka_metadata>?
        let err = rd_kafka_metadata(handle, 0, topicHandle, &metadata, Int32(timeout.components.seconds * 1000))
        guard err == RD_KAFKA_RESP_ERR_NO_ERROR, let metadata else {
            throw .from(err, .admin, context: "metadata for \(topic)")
        }
        defer { rd_kafka_metadata_destroy(metadata) }
        guard metadata.pointee.topic_cnt > 0 else { return nil }
        let t = metadata.pointee.topics[0]
        if t.err == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART { return nil }
        return t.partition_cnt
    }
}
