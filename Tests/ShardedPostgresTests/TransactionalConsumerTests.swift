import Foundation
import BusContracts
import Kafka
import PostgresNIO
import ShardedPostgres
import Testing
import TestSupport

/// Exactly-once apply through the transactional consumer, with real processes killed by SIGKILL.
@Suite(.serialized) struct TransactionalConsumerTests {
    let environment: TestEnvironment
    init() throws { environment = try TestEnvironment.current() }

    func appliedCount(_ postgres: ShardedPostgres, group: String) async throws -> Int {
        try await sumOverShards(postgres, "SELECT count(*)::int FROM devtool_applied WHERE consumer_group = \(group)")
    }

    @Test func everyRecordIsAppliedExactlyOnceAcrossKillAndRestart() async throws {
        let partitions: Int32 = 8
        let total = 12_000
        let topic = TestEnvironment.unique("exactly-once")
        let group = TestEnvironment.unique("apply")
        try await environment.createTopic(topic, partitions: partitions)
        let databases = try await TestDatabases.create(shards: 2, in: environment)
        var variables = environment.childEnvironment(postgres: databases)
        variables["KAFKA_PARTITIONS"] = String(partitions)
        let arguments = ["apply-test", "--topic", topic, "--group", group, "--batch", "40"]

        let producer = try KafkaProducer(configuration: environment.kafka(), logger: TestEnvironment.logger)
        for chunk in stride(from: 0, to: total, by: 2000) {
            _ = try await producer.sendAll((chunk..<chunk + 2000).map {
                OutgoingRecord(topic: topic, key: "cpe-\($0 % 997)", value: Array("v\($0)".utf8))
            })
        }
        await producer.shutdown()

        // Two members share the partitions; one is killed mid-stream and later restarted.
        var first = try ChildProcess("twinfleet-devtool", arguments, environment: environment, variables: variables)
        let second = try ChildProcess("twinfleet-devtool", arguments, environment: environment, variables: variables)
        try await withShardedPostgres(databases, partitionCount: partitions) { postgres in
            let started = await eventually(timeout: .seconds(90)) {
                (try? await appliedCount(postgres, group: group)) ?? 0 > 1500
            }
            #expect(started, "nothing applied: \(first.standardErrorTail)")
            first.signal(SIGKILL)
            let atKill = try await appliedCount(postgres, group: group)
            #expect(atKill < total, "the kill should land mid-stream")
            let progressed = try await eventually(timeout: .seconds(90)) {
                try await appliedCount(postgres, group: group) > atKill + 1000
            }
            #expect(progressed, "the survivor did not take over: \(second.standardErrorTail)")
            first = try ChildProcess("twinfleet-devtool", arguments, environment: environment, variables: variables)
            let finished = try await eventually(timeout: .seconds(180), every: .milliseconds(500)) {
                try await appliedCount(postgres, group: group) >= total
            }
            let appliedNow = try await appliedCount(postgres, group: group)
            #expect(finished, "applied \(appliedNow) of \(total)")
            // Give any duplicate a chance to appear before counting.
            try await Task.sleep(for: .seconds(3))
            #expect(try await appliedCount(postgres, group: group) == total)
            var distinct = 0
            let map = try await postgres.loadShardMap(logger: TestEnvironment.logger)
            for (index, shard) in postgres.shards.enumerated() {
                distinct += try await scalar(shard, "SELECT count(DISTINCT value)::int FROM devtool_applied WHERE consumer_group = \(group)")
                // Every row sits on the shard its device's partition maps to.
                let rows = try await shard.query("SELECT DISTINCT device_id, partition FROM devtool_applied WHERE consumer_group = \(group)", logger: TestEnvironment.logger)
                for try await (device, partition) in rows.decode((String, Int32).self) {
                    #expect(partition == KafkaPartitioner.partition(forKey: device, partitionCount: partitions))
                    #expect(map.shard(forPartition: partition) == index)
                }
                // Stored offsets equal the end of each partition this shard holds.
                let stored = try await scalar(shard, "SELECT coalesce(sum(next_offset), 0)::int FROM consumer_offsets WHERE consumer_group = \(group)")
                let rowsHere = try await scalar(shard, "SELECT count(*)::int FROM devtool_applied WHERE consumer_group = \(group)")
                #expect(stored == rowsHere)
            }
            #expect(distinct == total, "duplicates or losses: \(distinct) distinct values")
        }
        first.signal(SIGTERM)
        second.signal(SIGTERM)
        #expect(await first.waitForExit(timeout: .seconds(30)) == 0)
        #expect(await second.waitForExit(timeout: .seconds(30)) == 0)
    }

    @Test func poisonRecordsGoToTheDeadLetterTopicWithoutBlockingNeighbours() async throws {
        let topic = TestEnvironment.unique("poison")
        let group = TestEnvironment.unique("apply")
        try await environment.createTopic(topic, partitions: 2)
        let databases = try await TestDatabases.create(shards: 2, in: environment)
        var variables = environment.childEnvironment(postgres: databases)
        variables["KAFKA_PARTITIONS"] = "2"
        let producer = try KafkaProducer(configuration: environment.kafka(), logger: TestEnvironment.logger)
        var records = (0..<200).map { OutgoingRecord(topic: topic, key: "cpe-\($0 % 10)", value: Array("v\($0)".utf8)) }
        records.insert(OutgoingRecord(topic: topic, key: "cpe-3", value: Array("poison".utf8)), at: 77)
        let reports = try await producer.sendAll(records)
        let poisonReport = reports[77]
        await producer.shutdown()

        let worker = try ChildProcess(
            "twinfleet-devtool", ["apply-test", "--topic", topic, "--group", group, "--batch", "50"],
            environment: environment, variables: variables)
        try await withShardedPostgres(databases, partitionCount: 2) { postgres in
            let done = await eventually(timeout: .seconds(90)) {
                (try? await appliedCount(postgres, group: group)) ?? 0 >= 200
            }
            #expect(done, "neighbours of the poison record were not applied: \(worker.standardErrorTail)")
            let applied = try await appliedCount(postgres, group: group)
            #expect(applied == 200)
        }

        // The dead letter names the source and the reason.
        let reader = try KafkaConsumer(
            configuration: environment.kafka(), options: .init(groupID: TestEnvironment.unique("dlq"), topics: [Topic.deadLetter]),
            logger: TestEnvironment.logger)
        let timeout = Task { try await Task.sleep(for: .seconds(30)); reader.requestShutdown() }
        var found: Twinfleet_Bus_V1_DeadLetter?
        search: for await batch in reader.batches {
            for record in batch {
                let letter = try Twinfleet_Bus_V1_DeadLetter(serializedBytes: record.value)
                if letter.sourceTopic == topic { found = letter; break search }
            }
        }
        timeout.cancel()
        await reader.shutdown()
        let letter = try #require(found)
        #expect(letter.sourcePartition == poisonReport.topicPartition.partition)
        #expect(letter.sourceOffset == poisonReport.offset)
        #expect(letter.errorCode == "test-poison")
        #expect(letter.reason.contains("poison"))
        #expect(letter.consumerGroup == group)
        #expect(String(decoding: letter.value, as: UTF8.self) == "poison")
        #expect(String(decoding: letter.key, as: UTF8.self) == "cpe-3")
        worker.signal(SIGTERM)
        #expect(await worker.waitForExit(timeout: .seconds(30)) == 0)
    }
}
