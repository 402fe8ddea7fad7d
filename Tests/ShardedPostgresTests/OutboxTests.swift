import BusContracts
import Kafka
import NIOConcurrencyHelpers
import PostgresNIO
import ShardedPostgres
import Testing
import TestSupport

@Suite struct OutboxTests {
    let environment: TestEnvironment
    init() throws { environment = try TestEnvironment.current() }

    /// A topic of 3 partitions, migrated shards with their map, and a producer for a relay.
    private func withOutbox(
        shards: Int, _ body: (_ topic: String, _ postgres: ShardedPostgres, _ map: ShardMap, _ producer: KafkaProducer) async throws -> Void
    ) async throws {
        let topic = TestEnvironment.unique("outbox")
        try await environment.createTopic(topic, partitions: 3)
        let databases = try await TestDatabases.create(shards: shards, in: environment)
        let producer = try KafkaProducer(configuration: environment.kafka(), logger: TestEnvironment.logger)
        try await withShardedPostgres(databases, partitionCount: 3) { postgres in
            let logger = TestEnvironment.logger
            try await postgres.migrate([PlatformMigrations.control, PlatformMigrations.shard, Outbox.migrations], logger: logger)
            try await body(topic, postgres, try await postgres.loadShardMap(logger: logger), producer)
        }
        await producer.shutdown()
    }

    @Test func committedRecordsArePublishedInOrderAndRolledBackOnesNever() async throws {
        try await withOutbox(shards: 2) { topic, postgres, map, producer in
            let logger = TestEnvironment.logger
            func record(_ device: String, _ value: String) -> (partition: Int32, record: OutgoingRecord) {
                (map.partition(forDevice: device), OutgoingRecord(
                    topic: topic, key: device, value: Array(value.utf8),
                    headers: [KafkaHeader(key: "twinfleet-schema", string: "test"), KafkaHeader(key: "empty", value: [])]))
            }
            // Committed: 60 records over 6 devices, appended in several transactions per shard.
            for batch in 0..<3 {
                for shard in 0..<2 {
                    let devices = (0..<6).map { "dev-\($0)" }.filter { map.shard(forDevice: $0) == shard }
                    try await postgres.client(forShard: shard).transaction(logger: logger) { connection in
                        try await Outbox.append(
                            devices.flatMap { device in (0..<10).map { i in record(device, "\(batch * 10 + i)") } },
                            connection: connection, logger: logger)
                    }
                }
            }
            // Rolled back: never published.
            struct Abort: Error {}
            await #expect(throws: Abort.self) {
                try await postgres.client(forShard: 0).transaction(logger: logger) { connection in
                    try await Outbox.append([record("dev-rollback", "never")], connection: connection, logger: logger)
                    throw Abort()
                }
            }
            let relay = OutboxRelay(postgres: postgres, producer: producer, batchSize: 7, logger: logger)
            let relayTask = Task { try await relay.run() }
            let consumer = try KafkaConsumer(
                configuration: environment.kafka(), options: .init(groupID: TestEnvironment.unique("g"), topics: [topic]), logger: logger)
            var received: [ConsumedRecord] = []
            let timeout = Task { try await Task.sleep(for: .seconds(30)); consumer.requestShutdown() }
            for await batch in consumer.batches {
                received += batch
                if received.count >= 180 { break }
            }
            timeout.cancel()
            try await Task.sleep(for: .milliseconds(500))
            await consumer.shutdown()
            relayTask.cancel()
            #expect(received.count == 180)
            #expect(!received.contains { $0.value == Array("never".utf8) })
            var last: [String: Int] = [:]
            for record in received {
                let device = try #require(record.keyString)
                let value = Int(String(decoding: record.value, as: UTF8.self))!
                #expect(value >= (last[device] ?? -1), "order broken for \(device)")
                last[device] = value
                #expect(record.partition == map.partition(forDevice: device))
                #expect(record.header("twinfleet-schema") == Array("test".utf8))
                #expect(record.header("empty") == [])
            }
            // Published rows are deleted: with the next read, or once the relay has been idle
            // for its fallback delay (1 s).
            for shard in postgres.shards {
                let drained = await eventually(timeout: .seconds(10)) {
                    (try? await scalar(shard, "SELECT count(*)::int FROM outbox")) == 0
                }
                #expect(drained)
            }
        }
    }

    /// The relay sleeps on the shard's notification, not a poll: a commit that appends rows wakes
    /// it at once (here its fallback delay is two minutes), a rolled-back append does not.
    @Test func aCommitWakesTheIdleRelay() async throws {
        try await withOutbox(shards: 1) { topic, postgres, map, producer in
            let logger = TestEnvironment.logger
            let relay = OutboxRelay(postgres: postgres, producer: producer, idleDelay: .seconds(120), logger: logger)
            let relayTask = Task { try await relay.run() }
            let consumer = try KafkaConsumer(
                configuration: environment.kafka(), options: .init(groupID: TestEnvironment.unique("g"), topics: [topic]), logger: logger)
            let received = NIOLockedValueBox<[String]>([])
            let reading = Task {
                for await batch in consumer.batches {
                    received.withLockedValue { $0 += batch.map { String(decoding: $0.value, as: UTF8.self) } }
                }
            }
            // The relay has found the outbox empty and sleeps.
            try await Task.sleep(for: .seconds(2))
            func append(_ value: String, commit: Bool) async throws {
                struct Abort: Error {}
                do {
                    try await postgres.client(forShard: 0).transaction(logger: logger) { connection in
                        try await Outbox.append(
                            [(map.partition(forDevice: "dev-1"), OutgoingRecord(topic: topic, key: "dev-1", value: Array(value.utf8)))],
                            connection: connection, logger: logger)
                        if !commit { throw Abort() }
                    }
                } catch is Abort {}
            }
            try await append("rolled-back", commit: false)
            try await append("first", commit: true)
            #expect(await eventually(timeout: .seconds(30)) { received.withLockedValue { $0 } == ["first"] })
            // Asleep again, and woken again.
            try await Task.sleep(for: .seconds(1))
            try await append("second", commit: true)
            #expect(await eventually(timeout: .seconds(30)) { received.withLockedValue { $0 } == ["first", "second"] })
            consumer.requestShutdown()
            await consumer.shutdown()
            reading.cancel()
            relayTask.cancel()
        }
    }
}
