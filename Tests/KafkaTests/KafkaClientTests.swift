import Foundation
import Kafka
import Testing
import TestSupport

/// Producer and consumer against the dev broker (librdkafka's mock cluster in its own process).
@Suite(.serialized) struct KafkaClientTests {
    let environment: TestEnvironment

    init() throws {
        environment = try TestEnvironment.current()
    }

    @Test func partitionerAgreesWithLibrdkafka() async throws {
        let topic = TestEnvironment.unique("partitioner")
        try await environment.createTopic(topic, partitions: 12)
        let producer = try KafkaProducer(configuration: environment.kafka(), logger: TestEnvironment.logger)
        let keys = (0..<400).map { "OUI\($0 % 7)-Model-\(String($0 * 7919, radix: 16))" }
        let reports = try await producer.sendAll(keys.map { OutgoingRecord(topic: topic, key: $0, value: Array("x".utf8)) })
        await producer.shutdown()
        var seen = Set<Int32>()
        for (key, report) in zip(keys, reports) {
            #expect(report.topicPartition.partition == KafkaPartitioner.partition(forKey: key, partitionCount: 12), "key \(key)")
            seen.insert(report.topicPartition.partition)
        }
        #expect(seen.count == 12, "400 keys should reach every partition")
    }

    @Test func recordsTravelBetweenProcessesWithKeysAndOrder() async throws {
        let topic = TestEnvironment.unique("cross-process")
        try await environment.createTopic(topic, partitions: 6)
        // Another process produces 300 records over 20 keys…
        let producer = try ChildProcess(
            "twinfleet-devtool", ["produce", "--topic", topic, "--count", "300", "--keys", "20", "--prefix", "dev-"],
            environment: environment, variables: environment.childEnvironment())
        let status = await producer.waitForExit(timeout: .seconds(60))
        #expect(status == 0, "producer failed: \(producer.standardErrorTail)")
        // …and this process consumes them.
        let consumer = try KafkaConsumer(
            configuration: environment.kafka(), options: .init(groupID: TestEnvironment.unique("g"), topics: [topic]),
            logger: TestEnvironment.logger)
        var records: [ConsumedRecord] = []
        let collect = Task { [records] in
            var records = records
            for await batch in consumer.batches {
                records += batch
                if records.count >= 300 { break }
            }
            return records
        }
        let timeout = Task { try await Task.sleep(for: .seconds(60)); consumer.requestShutdown() }
        records = await collect.value
        timeout.cancel()
        await consumer.shutdown()
        #expect(records.count == 300)
        var lastValue: [String: Int] = [:]
        for record in records {
            let key = try #require(record.keyString)
            let value = Int(String(decoding: record.value, as: UTF8.self))!
            #expect(value % 20 == Int(key.dropFirst(4))!, "value \(value) under key \(key)")
            #expect(record.partition == KafkaPartitioner.partition(forKey: key, partitionCount: 6))
            #expect(value > (lastValue[key] ?? -1), "per-key order broken for \(key)")
            lastValue[key] = value
        }

        // The other direction: this process produces, a child process consumes.
        let reverseTopic = TestEnvironment.unique("reverse")
        try await environment.createTopic(reverseTopic, partitions: 3)
        let child = try ChildProcess(
            "twinfleet-devtool", ["consume", "--topic", reverseTopic, "--group", TestEnvironment.unique("g"), "--expect", "50"],
            environment: environment, variables: environment.childEnvironment())
        let ownProducer = try KafkaProducer(configuration: environment.kafka(), logger: TestEnvironment.logger)
        _ = try await ownProducer.sendAll((0..<50).map {
            OutgoingRecord(topic: reverseTopic, key: "cpe-\($0 % 5)", value: Array("v\($0)".utf8), headers: [KafkaHeader(key: "h", string: "1")])
        })
        await ownProducer.shutdown()
        #expect(await child.waitForExit(timeout: .seconds(60)) == 0, "consumer failed: \(child.standardErrorTail)")
        let values = Set(child.events.filter { $0["event"] as? String == "record" }.compactMap { $0["value"] as? String })
        #expect(values == Set((0..<50).map { "v\($0)" }))
    }

    @Test func consumerGroupSharesPartitionsAndTakesOverAfterAMemberDies() async throws {
        let topic = TestEnvironment.unique("group")
        let group = TestEnvironment.unique("members")
        try await environment.createTopic(topic, partitions: 6)
        let variables = environment.childEnvironment()
        let first = try ChildProcess("twinfleet-devtool", ["consume", "--topic", topic, "--group", group], environment: environment, variables: variables)
        let second = try ChildProcess("twinfleet-devtool", ["consume", "--topic", topic, "--group", group], environment: environment, variables: variables)

        func latestAssignment(_ member: ChildProcess) -> Set<Int> {
            var current = Set<Int>()
            for event in member.events {
                switch event["event"] as? String {
                case "assigned": current.formUnion(event["partitions"] as? [Int] ?? [])
                case "revoked": current.subtract(event["partitions"] as? [Int] ?? [])
                default: break
                }
            }
            return current
        }
        let shared = await eventually(timeout: .seconds(60)) {
            let a = latestAssignment(first), b = latestAssignment(second)
            return !a.isEmpty && !b.isEmpty && a.isDisjoint(with: b) && a.union(b) == Set(0..<6)
        }
        #expect(shared, "members did not split the partitions: \(latestAssignment(first)) / \(latestAssignment(second))")

        let producer = try KafkaProducer(configuration: environment.kafka(), logger: TestEnvironment.logger)
        _ = try await producer.sendAll((0..<120).map { OutgoingRecord(topic: topic, key: "dev-\($0)", value: Array("a\($0)".utf8)) })
        func values(_ member: ChildProcess) -> Set<String> {
            Set(member.events.filter { $0["event"] as? String == "record" }.compactMap { $0["value"] as? String })
        }
        let allSeen = await eventually(timeout: .seconds(30)) { values(first).union(values(second)).count == 120 }
        #expect(allSeen)
        #expect(!values(first).isEmpty && !values(second).isEmpty, "both members should have consumed records")

        // The first member dies without leaving the group; the second takes over its partitions.
        first.signal(SIGKILL)
        let tookOver = await eventually(timeout: .seconds(60)) { latestAssignment(second) == Set(0..<6) }
        #expect(tookOver, "survivor holds \(latestAssignment(second))")
        _ = try await producer.sendAll((0..<120).map { OutgoingRecord(topic: topic, key: "dev-\($0)", value: Array("b\($0)".utf8)) })
        await producer.shutdown()
        let survivorGotAll = await eventually(timeout: .seconds(30)) {
            values(second).isSuperset(of: (0..<120).map { "b\($0)" })
        }
        #expect(survivorGotAll)
        second.signal(SIGTERM)
        #expect(await second.waitForExit(timeout: .seconds(30)) == 0)
    }
}
