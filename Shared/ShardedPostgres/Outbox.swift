import Kafka
import Logging
import Metrics
import NIOConcurrencyHelpers
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

    /// The channel `append` notifies (on the shard's database) when its transaction commits.
    public static let channel = "twinfleet_outbox"

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
            // The notification reaches the relay when the transaction commits (never before, and
            // not at all if it rolls back); one per transaction, however many chunks.
            try await connection.query("""
                WITH inserted AS (
                    INSERT INTO outbox (partition, topic, key, value, headers)
                    SELECT p, t, CASE WHEN hk THEN k END, v, h
                    FROM unnest(\(partitions)::int[], \(topics)::text[], \(keys)::bytea[], \(hasKey)::bool[], \(values)::bytea[], \(headers)::bytea[])
                      WITH ORDINALITY AS x(p, t, k, hk, v, h, n)
                    ORDER BY n)
                SELECT pg_notify(\(channel), '')
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
///
/// The relay listens on `Outbox.channel`: a commit that appended rows wakes it at once, so a
/// record waits for no poll. `idleDelay` is only the fallback look when nothing was notified.
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
    public init(postgres: ShardedPostgres, producer: KafkaProducer, batchSize: Int = 500, idleDelay: Duration = .seconds(1), logger: Logger) {
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
                    try await connection.listen(on: Outbox.channel) { notifications in
                        let doorbell = Doorbell()
                        // Not awaited when the relay stops: leaving `listen` ends the sequence.
                        let listener = Task {
                            for try await _ in notifications { doorbell.ring() }
                        }
                        defer { listener.cancel() }
                        var acknowledged: [Int64] = []
                        while !Task.isCancelled && !Task.isShuttingDownGracefully {
                            acknowledged = try await drainOnce(deleting: acknowledged, connection: connection, logger: logger)
                            // A full batch: more may be waiting. Otherwise rows committed since the
                            // read have rung (or will ring) the doorbell; the acknowledged rows are
                            // deleted with the next read, or now if none comes.
                            if acknowledged.count < batchSize, await !doorbell.wait(upTo: idleDelay), !acknowledged.isEmpty {
                                try await delete(acknowledged, connection: connection, logger: logger)
                                acknowledged = []
                            }
                        }
                        if !acknowledged.isEmpty { try await delete(acknowledged, connection: connection, logger: logger) }
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

    /// Deletes the rows of the previous batch (acknowledged by Kafka) and reads the next in the
    /// same statement, publishes it, and returns the IDs now acknowledged. Rows deleted by the
    /// statement are still in its snapshot, hence their exclusion from the read.
    func drainOnce(deleting acknowledged: [Int64], connection: PostgresConnection, logger: Logger) async throws -> [Int64] {
        var ids: [Int64] = []
        var records: [OutgoingRecord] = []
        let rows = try await connection.query("""
            WITH deleted AS (DELETE FROM outbox WHERE id = ANY(\(acknowledged)::bigint[]))
            SELECT id, topic, key, value, headers FROM outbox WHERE NOT (id = ANY(\(acknowledged)::bigint[]))
            ORDER BY id LIMIT \(batchSize)
            """, logger: logger)
        for try await (id, topic, key, value, headers) in rows.decode((Int64, String, ByteBuffer?, ByteBuffer, ByteBuffer).self) {
            ids.append(id)
            records.append(OutgoingRecord(
                topic: topic, key: key.map { Array($0.readableBytesView) }, value: Array(value.readableBytesView),
                headers: Outbox.decodeHeaders(headers)))
        }
        guard !records.isEmpty else { return [] }
        _ = try await producer.sendAll(records)
        published.increment(by: records.count)
        return ids
    }

    private func delete(_ ids: [Int64], connection: PostgresConnection, logger: Logger) async throws {
        try await connection.query("DELETE FROM outbox WHERE id = ANY(\(ids)::bigint[])", logger: logger)
    }
}

/// Wakes one waiter; a ring with nobody waiting is kept for the next wait.
final class Doorbell: Sendable {
    private struct State {
        var rung = false
        var waiter: CheckedContinuation<Void, Never>?
    }

    private let state = NIOLockedValueBox(State())

    func ring() {
        let waiter = state.withLockedValue { state -> CheckedContinuation<Void, Never>? in
            guard let waiter = state.waiter else {
                state.rung = true
                return nil
            }
            state.waiter = nil
            return waiter
        }
        waiter?.resume()
    }

    /// Returns true when rung (at once if rung since the last wait), false after `timeout` or
    /// when the task is cancelled.
    func wait(upTo timeout: Duration) async -> Bool {
        let timedOut = NIOLockedValueBox(false)
        let timer = Task { [self] in
            try await Task.sleep(for: timeout)
            timedOut.withLockedValue { $0 = true }
            ring()
        }
        defer { timer.cancel() }
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let resumeNow = state.withLockedValue { state -> Bool in
                    if state.rung || Task.isCancelled {
                        state.rung = false
                        return true
                    }
                    state.waiter = continuation
                    return false
                }
                if resumeNow { continuation.resume() }
            }
        } onCancel: {
            timer.cancel()
            ring()
        }
        return !timedOut.withLockedValue { $0 } && !Task.isCancelled
    }
}
