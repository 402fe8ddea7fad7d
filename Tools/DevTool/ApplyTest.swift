import ArgumentParser
import BusContracts
import Kafka
import Logging
import PostgresNIO
import ServiceLifecycle
import ShardedPostgres

/// The table the exactly-once test consumer writes (deliberately without a unique key, so a
/// duplicate apply would show up as a duplicate row).
let applyTestMigrations = MigrationSet(component: "devtool-apply-test", target: .shard, migrations: [
    Migration(version: 1, name: "applied records", statements: [
        """
        CREATE TABLE devtool_applied (
            id bigserial PRIMARY KEY,
            consumer_group text NOT NULL,
            device_id text NOT NULL,
            value text NOT NULL,
            partition integer NOT NULL,
            kafka_offset bigint NOT NULL,
            applied_at timestamptz NOT NULL DEFAULT now())
        """,
        "CREATE INDEX devtool_applied_group ON devtool_applied (consumer_group)",
    ]),
])

/// Inserts one row per record; a record whose value is `poison` is refused.
struct ApplyTestHandler: TransactionalHandler {
    let group: String

    func apply(_ records: [ConsumedRecord], shard: Int, connection: PostgresConnection, logger: Logger) async throws {
        if let poison = records.first(where: { $0.value == Array("poison".utf8) }) {
            throw PoisonRecordError(code: "test-poison", reason: "value at offset \(poison.offset) is poison")
        }
        let devices = records.map { $0.keyString ?? "" }
        let values = records.map { String(decoding: $0.value, as: UTF8.self) }
        let partitions = records.map(\.partition)
        let offsets = records.map(\.offset)
        try await connection.query("""
            INSERT INTO devtool_applied (consumer_group, device_id, value, partition, kafka_offset)
            SELECT \(group), d, v, p, o FROM unnest(\(devices)::text[], \(values)::text[], \(partitions)::int[], \(offsets)::bigint[]) AS x(d, v, p, o)
            """, logger: logger)
    }
}

/// Runs the transactional test consumer until SIGTERM (the kill -9 test starts and kills it).
struct ApplyTest: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Apply records exactly once into devtool_applied (test consumer).")

    @Option(help: "Topic to consume.") var topic: String
    @Option(help: "Consumer group.") var group: String
    @Option(help: "Largest batch.") var batch = 200

    func run() async throws {
        let environment = ToolEnvironment()
        let (postgres, poolTask) = try await environment.postgres(extra: [applyTestMigrations])
        let producer = try KafkaProducer(configuration: try environment.kafka(), logger: environment.logger)
        var options = TransactionalConsumer<ApplyTestHandler>.Options(groupID: group, topics: [topic])
        options.maxBatchSize = batch
        options.transactionTimeout = .seconds(10)
        var kafka = try environment.kafka()
        kafka["session.timeout.ms"] = "6000"
        kafka["heartbeat.interval.ms"] = "500"
        let consumer = TransactionalConsumer(
            options: options, kafka: kafka, postgres: postgres,
            handler: ApplyTestHandler(group: group), deadLetters: DeadLetterPublisher(producer: producer),
            logger: environment.logger)
        emit(["event": "started"])
        var configuration = ServiceGroupConfiguration(
            services: [.init(service: producer), .init(service: consumer)],
            gracefulShutdownSignals: [.sigterm, .sigint], logger: environment.logger)
        configuration.maximumGracefulShutdownDuration = .seconds(20)
        configuration.maximumCancellationDuration = .seconds(3)
        let group = ServiceGroup(configuration: configuration)
        try await group.run()
        poolTask.cancel()
    }
}
