import ArgumentParser
import Foundation
import Kafka
import Logging
import NIOConcurrencyHelpers
import PostgresNIO
import ServiceLifecycle
import ShardedPostgres

/// Rows written by the benchmark: the same shape for the exactly-once path and for raw COPY.
let benchMigrations = MigrationSet(component: "devtool-bench", target: .shard, migrations: [
    Migration(version: 1, name: "bench tables", statements: [
        "CREATE TABLE bench_applied (device_id text NOT NULL, partition integer NOT NULL, kafka_offset bigint NOT NULL, value text NOT NULL)",
        "CREATE TABLE bench_copy (device_id text NOT NULL, partition integer NOT NULL, kafka_offset bigint NOT NULL, value text NOT NULL)",
    ]),
])

/// Inserts each batch with one multi-row INSERT and counts what it applied.
struct BenchHandler: TransactionalHandler {
    let applied: NIOLockedValueBox<(count: Int, first: ContinuousClock.Instant?, last: ContinuousClock.Instant?)>

    func apply(_ records: [ConsumedRecord], shard: Int, connection: PostgresConnection, logger: Logger) async throws {
        let devices = records.map { $0.keyString ?? "" }
        let partitions = records.map(\.partition)
        let offsets = records.map(\.offset)
        let values = records.map { String(decoding: $0.value, as: UTF8.self) }
        try await connection.query("""
            INSERT INTO bench_applied (device_id, partition, kafka_offset, value)
            SELECT * FROM unnest(\(devices)::text[], \(partitions)::int[], \(offsets)::bigint[], \(values)::text[])
            """, logger: logger)
        let now = ContinuousClock.now
        applied.withLockedValue { state in
            state.count += records.count
            if state.first == nil { state.first = now }
            state.last = now
        }
    }
}

/// The platform benchmark: Kafka producer and consumer throughput through the broker, and
/// exactly-once apply into PostgreSQL next to raw COPY of the same rows, in one run.
struct Bench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Platform benchmark (prints a Markdown table).")

    @Option(help: "Records to produce.") var records = 200_000
    @Option(help: "Distinct device IDs.") var devices = 20_000
    @Option(help: "Value size in bytes.") var valueSize = 200
    @Option(help: "Dev broker URL to create the topic with KAFKA_PARTITIONS partitions (else the Kafka admin API).") var devKafkaURL: String?
    @Option(help: "Batch size of the transactional consumer.") var batch = 1000

    func run() async throws {
        let environment = ToolEnvironment()
        let partitions = try environment.partitionCount
        let topic = "bench.platform.\(UUID().uuidString.prefix(8).lowercased())"
        try await createTopic(topic, partitions: partitions, environment: environment)
        let (postgres, poolTask) = try await environment.postgres(extra: [benchMigrations])
        for shard in postgres.shards {
            try await shard.query("TRUNCATE bench_applied, bench_copy", logger: environment.logger)
        }
        let padding = String(repeating: "x", count: max(0, valueSize - 12))
        let outgoing = (0..<records).map { i in
            OutgoingRecord(topic: topic, key: "bench-\(String(format: "%06d", i % devices))", value: Array("\(i)-\(padding)".utf8))
        }

        // 1. Producer: acknowledged records per second.
        let producer = try KafkaProducer(configuration: try environment.kafka(), logger: environment.logger)
        let produceStart = ContinuousClock.now
        for chunk in stride(from: 0, to: records, by: 20_000) {
            _ = try await producer.sendAll(Array(outgoing[chunk..<min(chunk + 20_000, records)]))
        }
        let produceTime = ContinuousClock.now - produceStart

        // 2. Plain consumer from a new group.
        let consumer = try KafkaConsumer(
            configuration: try environment.kafka(), options: .init(groupID: "bench-plain-\(topic)", topics: [topic]),
            logger: environment.logger)
        var consumed = 0
        var consumeStart: ContinuousClock.Instant?
        for await batch in consumer.batches {
            if consumeStart == nil { consumeStart = .now }
            consumed += batch.count
            if consumed >= records { break }
        }
        let consumeTime = ContinuousClock.now - consumeStart!
        await consumer.shutdown()

        // 3. Transactional consumer into PostgreSQL (time from the first applied batch to the last).
        let state = NIOLockedValueBox<(count: Int, first: ContinuousClock.Instant?, last: ContinuousClock.Instant?)>((0, nil, nil))
        var options = TransactionalConsumer<BenchHandler>.Options(groupID: "bench-tx-\(topic)", topics: [topic])
        options.maxBatchSize = batch
        let transactional = TransactionalConsumer(
            options: options, kafka: try environment.kafka(), postgres: postgres, handler: BenchHandler(applied: state),
            deadLetters: DeadLetterPublisher(producer: producer), logger: environment.logger)
        let txTask = Task { try await transactional.run() }
        while state.withLockedValue({ $0.count }) < records {
            try await Task.sleep(for: .milliseconds(20))
        }
        txTask.cancel()
        _ = try? await txTask.value
        let (appliedCount, firstApply, lastApply) = state.withLockedValue { ($0.count, $0.first!, $0.last!) }
        // The first batch's own time is not inside first→last; scale by the records after it.
        let txTime = lastApply - firstApply
        let txRate = Double(appliedCount - min(batch, appliedCount)) / seconds(txTime)

        // 4. Raw COPY of the same rows into the same shards, one COPY per shard, concurrently.
        let map = postgres.shardMap
        var linesByShard: [Int: [String]] = [:]
        for (offset, record) in outgoing.enumerated() {
            let device = String(decoding: record.key!, as: UTF8.self)
            let partition = map.partition(forDevice: device)
            linesByShard[map.shard(forPartition: partition), default: []].append(
                "\(device)\t\(partition)\t\(offset)\t\(String(decoding: record.value, as: UTF8.self))")
        }
        let copyStart = ContinuousClock.now
        try await copyPerShard(postgres, table: "bench_copy", columns: ["device_id", "partition", "kafka_offset", "value"], linesByShard: linesByShard, logger: environment.logger)
        let copyTime = ContinuousClock.now - copyStart
        var copied = 0
        var exactlyOnce = 0
        for shard in postgres.shards {
            for try await n in try await shard.query("SELECT count(*)::int FROM bench_copy", logger: environment.logger).decode(Int.self) { copied += n }
            for try await n in try await shard.query("SELECT count(*)::int FROM bench_applied", logger: environment.logger).decode(Int.self) { exactlyOnce += n }
        }
        await producer.shutdown()
        poolTask.cancel()

        let produceRate = Double(records) / seconds(produceTime)
        let consumeRate = Double(records) / seconds(consumeTime)
        let copyRate = Double(copied) / seconds(copyTime)
        print("""
            Platform benchmark — \(records) records, \(devices) devices, \(valueSize)-byte values, \(partitions) partitions, \(postgres.shards.count) shards

            | measure | records/s | notes |
            |---|---:|---|
            | producer (acks=all, idempotent, delivery awaited) | \(Int(produceRate)) | \(String(format: "%.1f", produceRate * Double(valueSize) / 1_000_000)) MB/s of values |
            | consumer (one member, batches of up to 500) | \(Int(consumeRate)) | |
            | transactional consumer → PostgreSQL (offsets in the same transaction) | \(Int(txRate)) | batch \(batch); rows in table: \(exactlyOnce) |
            | raw COPY of the same rows into the same shards | \(Int(copyRate)) | reference, rows: \(copied) |
            | transactional / COPY | \(String(format: "%.2f", txRate / copyRate)) | |
            """)
        guard exactlyOnce == records, copied == records else {
            throw ValidationError("row counts differ: applied \(exactlyOnce), copied \(copied), expected \(records)")
        }
    }

    private func createTopic(_ topic: String, partitions: Int32, environment: ToolEnvironment) async throws {
        if let devKafkaURL {
            try await createDevTopic(topic, partitions: partitions, url: devKafkaURL)
        } else {
            try KafkaAdmin(configuration: try environment.kafka()).createTopics([topic], partitions: partitions)
        }
    }
}

func seconds(_ duration: Duration) -> Double {
    Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
}
