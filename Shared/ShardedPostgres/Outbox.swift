import Kafka
import Logging
import Metrics
import PostgresNIO
import ServiceLifecycle

/// The transactional outbox: records to publish are written to the shard in the same transaction
/// as the rows they describe, and `OutboxRelay` publishes them after commit.
///
/// A consumer that must emit records because of what it wrote (twin changes after a twin update,
/// deliveries after a command transition) cannot produce inside its PostgreSQL transaction: a
/// crash between commit and produce would lose the record, one before commit would publish
/// something that never happened. With the outbox the record exists if and only if the
/// transaction committed, and it is published at least once, in commit order per shard.
public enum Outbox {
    /// The outbox table, on every shard (component "outbox").
    public static let migrations = MigrationSet(component: "outbox", target: .shard, migrations: [
        Migration(version: 1, name: "outbox", statements: [
            """
            CREATE TABLE outbox (
                id bigserial PRIMARY KEY,
                partition integer NOT NULL,
                topic text NOT NULL,
                key bytea,
                value bytea NOT NULL,
                headers bytea NOT NULL,
                created_at timestamptz NOT NULL DEFAULT now())
            """,
        ]),
    ])

    /// Appends records to the outbox inside the caller's transaction.
    ///
    /// `partition` is the device's partition (stored like every device-keyed row, so a moved
    /// partition's pending records can move with it).
    public static func append(
        _ records: [(partition: Int32, record: OutgoingRecord)], connection: PostgresConnection, logger: Logger
    ) async throws {
        guard !records.isEmpty else { return }
        // Headers are stored in one bytea per record (see `encodeHeaders`): PostgreSQL arrays
        // cannot nest per-record header lists.
        for chunk in stride(from: 0, to: records.count, by: 1000) {
            let slice = records[chunk..<min(chunk + 1000, records.count)]
            let partitions = slice.map(\.partition)
            let topics = slice.map(\.record.topic)
            let keys = slice.map { $0.record.key.map { ByteBuffer(bytes: $0) } ?? ByteBuffer() }
            let hasKey = slice.map { $0.record.key != nil }
            let values = slice.map { ByteBuffer(bytes: $0.record.value) }
            let headers = slice.map { encodeHeaders($0.record.headers) }
            try await connection.query("""
                INSERT INTO outbox (partition, topic, key, value, headers)
                SELECT p, t, CASE WHEN hk THEN k END, v, h
                FROM unnest(\(partitions)::int[], \(topics)::text[], \(keys)::bytea[], \(hasKey)::bool[], \(values)::bytea[], \(headers)::bytea[])
                  WITH ORDINALITY AS x(p, t, k, hk, v, h, n)
                ORDER BY n
                """, logger: logger)
        }
    }

    /// Headers as `u16 name length, name, u32 value length, value` repeated.
    static func encodeHeaders(_ headers: [KafkaHeader]) -> ByteBuffer {
        var buffer = ByteBuffer()
        for header in headers {
            buffer.writeInteger(UInt16(header.key.utf8.count))
            buffer.writeString(header.key)
            buffer.writeInteger(UInt32(header.value.count))
            buffer.writeBytes(header.value)
        }
        return buffer
    }

    static func decodeHeaders(_ buffer: ByteBuffer) -> [KafkaHeader] {
        var buffer = buffer
        var headers: [KafkaHeader] = []
        while let nameLength = buffer.readInteger(as: UInt16.self),
              let name = buffer.readString(length: Int(nameLength)),
              let valueLength = buffer.readInteger(as: UInt32.self),
              let value = buffer.readBytes(length: Int(valueLength)) {
            headers.append(KafkaHeader(key: name, value: value))
        }
        return headers
    }
}

/// Publishes outbox rows of every shard to Kafka in id order and deletes them once acknowledged.
///
/// Any number of replicas may run: each shard's outbox is drained by whichever replica holds that
/// shard's advisory lock, so per-shard (hence per-device) order is kept. Delivery is at least
/// once (a crash between acknowledgement and delete republishes); consumers are idempotent.
public final class OutboxRelay: Service, Sendable {
    private let postgres: ShardedPostgres
    private let producer: KafkaProducer
    private let logger: Logger
    private let batchSize: Int
    private let idleDelay: Duration
    private let published = Counter(label: "twinfleet_outbox_published_total")

    /// Key of the advisory lock that elects one relay per shard.
    static let lockKey: Int64 = 0x7477_696e_6f75_7401

    /// Creates a relay.
    public init(postgres: ShardedPostgres, producer: KafkaProducer, batchSize: Int = 500, idleDelay: Duration = .milliseconds(50), logger: Logger) {
        self.postgres = postgres
        self.producer = producer
        self.batchSize = batchSize
        self.idleDelay = idleDelay
        self.logger = logger
    }

    /// Drains every shard until shutdown.
    public func run() async throws {
        await withDiscardingTaskGroup { group in
            for shard in postgres.shards.indices {
                group.addTask { await self.relay(shard: shard) }
            }
        }
    }

    private func relay(shard: Int) async {
        var logger = self.logger
        logger[metadataKey: "postgres.shard"] = "\(shard)"
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            do {
                // Held for as long as this replica drains the shard.
                let led = try await withAdvisoryLeadership(postgres.client(forShard: shard), key: Self.lockKey, logger: logger) { connection in
                    while !Task.isCancelled && !Task.isShuttingDownGracefully {
                        let sent = try await drainOnce(connection: connection, logger: logger)
                        if sent == 0 { try await Task.sleep(for: idleDelay) }
                    }
                }
                if !led { try await Task.sleep(for: .seconds(1)) }
            } catch is CancellationError {
                return
            } catch {
                logger.warning("outbox relay failed; retrying", metadata: ["error": "\(error)"])
                try? await Task.sleep(for: .seconds(1))
            }
        }
    }

    /// Publishes up to one batch; returns how many rows were published and deleted.
    func drainOnce(connection: PostgresConnection, logger: Logger) async throws -> Int {
        var ids: [Int64] = []
        var records: [OutgoingRecord] = []
        let rows = try await connection.query("""
            SELECT id, topic, key, value, headers FROM outbox ORDER BY id LIMIT \(batchSize)
            """, logger: logger)
        for try await (id, topic, key, value, headers) in rows.decode((Int64, String, ByteBuffer?, ByteBuffer, ByteBuffer).self) {
            ids.append(id)
            records.append(OutgoingRecord(
                topic: topic, key: key.map { Array($0.readableBytesView) }, value: Array(value.readableBytesView),
                headers: Outbox.decodeHeaders(headers)))
        }
        guard !records.isEmpty else { return 0 }
        _ = try await producer.sendAll(records)
        try await connection.query("DELETE FROM outbox WHERE id = ANY(\(ids))", logger: logger)
        published.increment(by: records.count)
        return records.count
    }
}
