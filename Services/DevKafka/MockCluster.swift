import CRdKafka
import Foundation
import Kafka
import NIOConcurrencyHelpers
import ServiceLifecycle

/// librdkafka's in-memory mock Kafka cluster: real Kafka wire protocol on 127.0.0.1, several
/// brokers, consumer groups and offset commits — and no persistence at all.
final class MockCluster: Service, @unchecked Sendable {
    private let handle: OpaquePointer
    private let cluster: OpaquePointer
    private let topics = NIOLockedValueBox<[String: Int32]>([:])
    /// The `bootstrap.servers` list clients use.
    let bootstrapServers: String

    /// Starts a cluster with `brokers` brokers.
    init(brokers: Int32) throws(KafkaError) {
        guard let conf = rd_kafka_conf_new() else { throw KafkaError(.configuration, message: "rd_kafka_conf_new") }
        var errstr = [CChar](repeating: 0, count: 256)
        // The hosting client never connects anywhere; keep its own logging quiet.
        rd_kafka_conf_set(conf, "log_level", "4", &errstr, errstr.count)
        guard let handle = rd_kafka_new(RD_KAFKA_PRODUCER, conf, &errstr, errstr.count) else {
            throw KafkaError(.clientCreation, message: "mock host client could not be created")
        }
        guard let cluster = rd_kafka_mock_cluster_new(handle, brokers) else {
            rd_kafka_destroy(handle)
            throw KafkaError(.clientCreation, message: "mock cluster could not be created")
        }
        self.handle = handle
        self.cluster = cluster
        self.bootstrapServers = String(cString: rd_kafka_mock_cluster_bootstraps(cluster))
    }

    /// Creates a topic with `partitions` partitions; creating an existing topic again is refused
    /// unless the partition count matches.
    func createTopic(_ name: String, partitions: Int32) throws(KafkaError) {
        if let existing = topics.withLockedValue({ $0[name] }) {
            guard existing == partitions else {
                throw KafkaError(.admin, message: "topic \(name) exists with \(existing) partitions")
            }
            return
        }
        let replication = Int32(1)
        let err = rd_kafka_mock_topic_create(cluster, name, partitions, replication)
        if err != RD_KAFKA_RESP_ERR_NO_ERROR && err != RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS {
            throw KafkaError(.admin, message: "create \(name): \(String(cString: rd_kafka_err2str(err)))")
        }
        topics.withLockedValue { $0[name] = partitions }
    }

    /// Topics created through this process and their partition counts.
    var createdTopics: [String: Int32] { topics.withLockedValue { $0 } }

    func run() async throws {
        try? await gracefulShutdown()
        rd_kafka_mock_cluster_destroy(cluster)
        rd_kafka_destroy(handle)
    }
}
