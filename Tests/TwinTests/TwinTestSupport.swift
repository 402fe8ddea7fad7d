import BusContracts
import Foundation
import Kafka
import ShardedPostgres
import SwiftProtobuf
import TestSupport
import Twin
import TwinfleetModel

/// A twin-store consumer running in this process against test databases.
struct TwinHarness {
    let environment: TestEnvironment
    let topics: TwinTopics
    let partitions: Int32
    let databases: TestDatabases

    /// The device-events topic.
    var topic: String { topics.deviceEvents }

    static func make(partitions: Int32 = 4) async throws -> TwinHarness {
        let environment = try TestEnvironment.current()
        let topics = TwinTopics(
            deviceEvents: TestEnvironment.unique("twin-events"), commands: TestEnvironment.unique("twin-commands"),
            commandResults: TestEnvironment.unique("twin-results"))
        for topic in topics.all { try await environment.createTopic(topic, partitions: partitions) }
        let databases = try await TestDatabases.create(shards: 2, in: environment)
        return TwinHarness(environment: environment, topics: topics, partitions: partitions, databases: databases)
    }

    /// Runs `body` while a twin-store consumer (group `group`) applies the topic.
    func run<T: Sendable>(group: String = TestEnvironment.unique("twin"), _ body: (ShardedPostgres, TwinReader, KafkaProducer) async throws -> T) async throws -> T {
        let producer = try KafkaProducer(configuration: environment.kafka(), logger: TestEnvironment.logger)
        let result = try await withShardedPostgres(databases, partitionCount: partitions) { postgres in
            try await postgres.migrate(
                [PlatformMigrations.control, PlatformMigrations.shard, Outbox.migrations, TwinMigrations.shard], logger: TestEnvironment.logger)
            try await postgres.loadShardMap(logger: TestEnvironment.logger)
            let consumer = TransactionalConsumer(
                options: .init(groupID: group, topics: topics.all), kafka: environment.kafka(), postgres: postgres,
                handler: TwinApplier(topics: topics), deadLetters: DeadLetterPublisher(producer: producer), logger: TestEnvironment.logger)
            let relay = OutboxRelay(postgres: postgres, producer: producer, logger: TestEnvironment.logger)
            let tasks = [Task { try await consumer.run() }, Task { try await relay.run() }]
            defer { tasks.forEach { $0.cancel() } }
            return try await body(postgres, TwinReader(postgres: postgres), producer)
        }
        await producer.shutdown()
        return result
    }
}
