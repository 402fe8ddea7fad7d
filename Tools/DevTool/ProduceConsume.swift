import ArgumentParser
import Foundation
import Kafka
import ServiceLifecycle
import UnixSignals

/// Produces keyed records and prints where each key went.
struct Produce: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Produce records keyed by device IDs.")

    @Option(help: "Topic to produce to.") var topic: String
    @Option(help: "Number of records.") var count = 100
    @Option(help: "Distinct keys (records i uses key <prefix><i mod keys>).") var keys = 10
    @Option(help: "Key prefix.") var prefix = "device-"
    @Option(help: "Value prefix; the value is <value-prefix><i>.") var valuePrefix = ""

    func run() async throws {
        let environment = ToolEnvironment()
        let producer = try KafkaProducer(configuration: try environment.kafka(), logger: environment.logger)
        var partitions: [String: Int32] = [:]
        for chunk in stride(from: 0, to: count, by: 1000) {
            let records = (chunk..<min(chunk + 1000, count)).map { i in
                OutgoingRecord(topic: topic, key: "\(prefix)\(i % keys)", value: Array("\(valuePrefix)\(i)".utf8))
            }
            let reports = try await producer.sendAll(records)
            for (record, report) in zip(records, reports) {
                partitions[String(decoding: record.key!, as: UTF8.self)] = report.topicPartition.partition
            }
        }
        await producer.shutdown()
        emit(["event": "produced", "count": count, "partitions": partitions.mapValues { Int($0) }])
    }
}

/// Joins a consumer group and prints records and assignments as JSON lines.
struct Consume: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Consume records as a consumer-group member, printing JSON lines.")

    @Option(help: "Topic to consume.") var topic: String
    @Option(help: "Consumer group.") var group: String
    @Option(help: "Exit after this many records (0: run until SIGTERM).") var expect = 0
    @Option(help: "Commit offsets to Kafka after each batch.") var commit = true

    func run() async throws {
        let environment = ToolEnvironment()
        var kafka = try environment.kafka()
        kafka["session.timeout.ms"] = "6000"
        kafka["heartbeat.interval.ms"] = "500"
        let consumer = try KafkaConsumer(
            configuration: kafka, options: .init(groupID: group, topics: [topic]), logger: environment.logger,
            rebalanceHandler: { event in
                switch event {
                case .assigned(let partitions):
                    emit(["event": "assigned", "partitions": partitions.map { Int($0.partition) }.sorted()])
                case .revoked(let partitions):
                    emit(["event": "revoked", "partitions": partitions.map { Int($0.partition) }.sorted()])
                }
                return [:]
            })
        let signals = await UnixSignalsSequence(trapping: .sigterm, .sigint)
        let stopper = Task {
            for await _ in signals { consumer.requestShutdown(); return }
        }
        var seen = 0
        for await batch in consumer.batches {
            var next: [TopicPartition: Int64] = [:]
            for record in batch {
                emit(["event": "record", "partition": Int(record.partition), "offset": record.offset,
                      "key": record.keyString ?? "", "value": String(decoding: record.value, as: UTF8.self)])
                next[record.topicPartition] = record.offset + 1
            }
            if commit { consumer.commitAsync(next) }
            seen += batch.count
            if expect > 0 && seen >= expect { break }
        }
        stopper.cancel()
        await consumer.shutdown()
        emit(["event": "done", "count": seen])
    }
}
