import BusContracts
import Kafka
import Logging
import Metrics
import NIOConcurrencyHelpers
import PostgresNIO
import ServiceLifecycle

/// Applies a batch of records to one shard inside an open transaction.
///
/// Records arrive in partition order, all belonging to partitions stored on `shard`. Throw
/// `PoisonRecordError` (or any non-database error) for a record that can never be applied: the
/// consumer then isolates it, sends it to the dead-letter topic and applies its neighbours.
public protocol TransactionalHandler: Sendable {
    /// Applies records; everything written through `connection` commits with the offsets.
    func apply(_ records: [ConsumedRecord], shard: Int, connection: PostgresConnection, logger: Logger) async throws
}

/// A record that can never be applied (undecodable, impossible values…).
public struct PoisonRecordError: Error, Sendable, CustomStringConvertible {
    /// A stable machine-readable reason, e.g. `undecodable`, `unknown-device`.
    public let code: String
    /// Human-readable detail.
    public let reason: String
    /// Creates an error.
    public init(code: String, reason: String) {
        self.code = code
        self.reason = reason
    }
    public var description: String { "\(code): \(reason)" }
}

/// Exactly-once effect of Kafka records in PostgreSQL.
///
/// For every batch and shard it opens one transaction, locks this group's offset rows for the
/// batch's partitions, drops records below the stored offsets (redeliveries, or records a previous
/// owner of the partition already applied), lets the handler write, and stores the next offsets in
/// the same transaction. On assignment it resumes each partition from the stored offset. A crash
/// at any point therefore loses nothing and applies nothing twice. Poison records go to the
/// dead-letter topic with the reason and never block their partition.
public final class TransactionalConsumer<Handler: TransactionalHandler>: Service, @unchecked Sendable {
    /// Tunables.
    public struct Options: Sendable {
        /// Consumer group (also the key of the stored offsets).
        public var groupID: String
        /// Topics consumed.
        public var topics: [String]
        /// Most records per batch.
        public var maxBatchSize: Int = 1000
        /// Pause between retries of a transient failure.
        public var retryDelay: Duration = .milliseconds(500)
        /// Longest wait for one transaction before it is abandoned and retried (a connection the
        /// server dropped mid-transaction can leave a query waiting forever).
        public var transactionTimeout: Duration = .seconds(30)
        /// How often a partition held for a move checks whether the move is done.
        public var moveCheckInterval: Duration = .seconds(1)
        /// Creates options.
        public init(groupID: String, topics: [String]) {
            self.groupID = groupID
            self.topics = topics
        }
    }

    private let options: Options
    private let kafka: KafkaConfiguration
    private let postgres: ShardedPostgres
    /// The handler records are applied with.
    public let handler: Handler
    private let deadLetters: DeadLetterPublisher
    private let logger: Logger
    private let applied: Counter
    private let poisoned: Counter
    /// Partitions whose shard fenced them (a partition move), with that shard: their records are
    /// skipped until the shard map sends the partition elsewhere.
    private let fenced = NIOLockedValueBox<[Int32: Int]>([:])
    private let processedChunks = NIOLockedValueBox(0)
    private let kafkaConsumer = NIOLockedValueBox<KafkaConsumer?>(nil)

    /// Creates the consumer; it joins the group when `run()` starts.
    public init(
        options: Options, kafka: KafkaConfiguration, postgres: ShardedPostgres, handler: Handler,
        deadLetters: DeadLetterPublisher, logger: Logger
    ) {
        self.options = options
        self.kafka = kafka
        self.postgres = postgres
        self.handler = handler
        self.deadLetters = deadLetters
        var logger = logger
        logger[metadataKey: KafkaLogKey.group] = "\(options.groupID)"
        self.logger = logger
        applied = Counter(label: "twinfleet_txconsumer_records_applied_total", dimensions: [("group", options.groupID)])
        poisoned = Counter(label: "twinfleet_txconsumer_records_dead_lettered_total", dimensions: [("group", options.groupID)])
    }

    /// Consumes until graceful shutdown or cancellation; the batch in progress finishes first.
    public func run() async throws {
        var consumerOptions = KafkaConsumer.Options(groupID: options.groupID, topics: options.topics)
        consumerOptions.maxBatchSize = options.maxBatchSize
        let consumer = try KafkaConsumer(
            configuration: kafka, options: consumerOptions, logger: logger,
            rebalanceHandler: { [self] event in await self.startOffsets(for: event) })
        kafkaConsumer.withLockedValue { $0 = consumer }
        defer { kafkaConsumer.withLockedValue { $0 = nil } }
        do {
            try await withGracefulShutdownHandler {
                for await batch in consumer.batches.cancelOnGracefulShutdown() {
                    let next = try await process(batch)
                    processedChunks.withLockedValue { $0 = consumer.takenChunks }
                    consumer.commitAsync(next)
                }
            } onGracefulShutdown: {
                // Leaving the group ends `batches` after the batch in progress.
                consumer.requestShutdown()
            }
        } catch {
            // Leave the group before failing so the partitions move to a healthy member at once.
            await consumer.shutdown()
            throw error
        }
        await consumer.shutdown()
    }

    /// Partitions this member holds now and may write: its assignment (any topic) minus the
    /// partitions a move has fenced. Work outside the record stream (a clock) limits itself to
    /// these.
    public var heldPartitions: Set<Int32> {
        let frozen = fenced.withLockedValue { Set($0.keys) }
        let assigned = kafkaConsumer.withLockedValue { $0?.assignment } ?? []
        return Set(assigned.map(\.partition)).subtracting(frozen)
    }

    /// Runs `work` in a transaction on `shard` that first locks this group's stored-offset rows of
    /// `partitions`, as a batch does: it never interleaves with this consumer's batches for them,
    /// nor with a partition move (which fences under the same locks). Fenced partitions are left
    /// out; `work` gets the partitions it may touch and does not run when none remain.
    public func withPartitionsLocked(
        _ partitions: Set<Int32>, shard: Int, logger: Logger, _ work: @Sendable @escaping (Set<Int32>, PostgresConnection) async throws -> Void
    ) async throws {
        guard !partitions.isEmpty else { return }
        let group = options.groupID
        let numbers = partitions.sorted()
        try await withDeadline(options.transactionTimeout) { [postgres] in
            try await postgres.client(forShard: shard).transaction(logger: logger) { connection in
                try await connection.query("""
                    SELECT 1 FROM consumer_offsets WHERE consumer_group = \(group) AND partition = ANY(\(numbers)::int[])
                    ORDER BY topic, partition FOR UPDATE
                    """, logger: logger)
                var open = partitions
                for try await partition in try await connection.query(
                    "SELECT partition FROM partition_fences WHERE partition = ANY(\(numbers)::int[])", logger: logger
                ).decode(Int32.self) {
                    open.remove(partition)
                }
                guard !open.isEmpty else { return }
                try await work(open, connection)
            }
        }
    }

    /// Applies one batch on every shard it touches; returns the next offsets per partition.
    func process(_ batch: [ConsumedRecord]) async throws -> [TopicPartition: Int64] {
        let frozen = fenced.withLockedValue { Set($0.keys) }
        let batch = frozen.isEmpty ? batch : batch.filter { !frozen.contains($0.partition) }
        let map = postgres.shardMap
        var byShard: [Int: [ConsumedRecord]] = [:]
        for record in batch {
            byShard[map.shard(forPartition: record.partition), default: []].append(record)
        }
        try await withThrowingTaskGroup(of: Void.self) { group in
            for (shard, records) in byShard {
                group.addTask { try await self.applyWithRetry(records, shard: shard) }
            }
            try await group.waitForAll()
        }
        return batch.nextOffsets
    }


    private func applyWithRetry(_ records: [ConsumedRecord], shard: Int) async throws {
        var records = records
        while true {
            do {
                let batch = records
                try await withDeadline(options.transactionTimeout) {
                    try await self.applyInTransaction(batch, shard: shard)
                }
                return
            } catch {
                let cause = Self.rootCause(error)
                if let fence = cause as? PartitionFencedError {
                    // A partition move is under way: hold these partitions, go on with the rest.
                    freeze(fence.partitions, on: shard)
                    records.removeAll { fence.partitions.contains($0.partition) }
                    if records.isEmpty { return }
                    continue
                }
                if Self.isTransient(cause) {
                    logger.warning("transient failure, retrying batch", metadata: ["postgres.shard": "\(shard)", "error": "\(cause)"])
                    try await Task.sleep(for: options.retryDelay)
                    continue
                }
                guard records.count > 1 else {
                    try await deadLetter(records[0], shard: shard, cause: cause)
                    return
                }
                // Isolate the poison record(s): apply one record per transaction.
                logger.notice("batch refused, applying records one by one", metadata: ["postgres.shard": "\(shard)", "error": "\(cause)"])
                for record in records {
                    try await applyWithRetry([record], shard: shard)
                }
                return
            }
        }
    }

    /// One transaction: lock offsets, drop already-applied records, apply, store offsets.
    private func applyInTransaction(_ records: [ConsumedRecord], shard: Int) async throws {
        let group = options.groupID
        let partitions = Set(records.map(\.topicPartition))
        let topics = partitions.map(\.topic)
        let numbers = partitions.map(\.partition)
        var logger = self.logger
        logger[metadataKey: "postgres.shard"] = "\(shard)"
        let handler = self.handler
        let count = try await postgres.client(forShard: shard).transaction(logger: logger) { connection -> Int in
            try await connection.query("""
                INSERT INTO consumer_offsets (consumer_group, topic, partition, next_offset)
                SELECT \(group), t, p, 0 FROM unnest(\(topics)::text[], \(numbers)::int[]) AS x(t, p)
                ON CONFLICT DO NOTHING
                """, logger: logger)
            var stored: [TopicPartition: Int64] = [:]
            let rows = try await connection.query("""
                SELECT o.topic, o.partition, o.next_offset FROM consumer_offsets o
                JOIN unnest(\(topics)::text[], \(numbers)::int[]) AS x(t, p) ON o.topic = x.t AND o.partition = x.p
                WHERE o.consumer_group = \(group)
                ORDER BY o.topic, o.partition
                FOR UPDATE OF o
                """, logger: logger)
            for try await (topic, partition, offset) in rows.decode((String, Int32, Int64).self) {
                stored[TopicPartition(topic: topic, partition: partition)] = offset
            }
            // Checked after the offset rows are locked: a move fences under the same locks.
            var fencedHere: Set<Int32> = []
            for try await partition in try await connection.query(
                "SELECT partition FROM partition_fences WHERE partition = ANY(\(numbers)::int[])", logger: logger
            ).decode(Int32.self) {
                fencedHere.insert(partition)
            }
            if !fencedHere.isEmpty { throw PartitionFencedError(partitions: fencedHere, shard: shard) }
            let fresh = records.filter { $0.offset >= (stored[$0.topicPartition] ?? 0) }
            guard !fresh.isEmpty else { return 0 }
            try await handler.apply(fresh, shard: shard, connection: connection, logger: logger)
            try await Self.storeOffsets(of: fresh, group: group, connection: connection, logger: logger)
            return fresh.count
        }
        applied.increment(by: count)
    }

    private static func storeOffsets(
        of records: [ConsumedRecord], group: String, connection: PostgresConnection, logger: Logger
    ) async throws {
        let next = records.nextOffsets
        let topics = next.keys.map(\.topic)
        let numbers = next.keys.map(\.partition)
        let offsets = next.values.map { $0 }
        try await connection.query("""
            UPDATE consumer_offsets o SET next_offset = x.n, updated_at = now()
            FROM unnest(\(topics)::text[], \(numbers)::int[], \(offsets)::bigint[]) AS x(t, p, n)
            WHERE o.consumer_group = \(group) AND o.topic = x.t AND o.partition = x.p AND o.next_offset < x.n
            """, logger: logger)
    }

    /// Sends a record to the dead-letter topic, then stores its offset so the partition moves on.
    private func deadLetter(_ record: ConsumedRecord, shard: Int, cause: any Error) async throws {
        let poison = cause as? PoisonRecordError
        let code = poison?.code ?? "apply-failed"
        let reason = poison?.reason ?? String(describing: cause)
        logger.error("record sent to dead-letter topic", metadata: [
            KafkaLogKey.topic: "\(record.topic)", KafkaLogKey.partition: "\(record.partition)",
            KafkaLogKey.offset: "\(record.offset)", "reason": "\(reason)",
        ])
        try await deadLetters.publish(record, consumerGroup: options.groupID, code: code, reason: reason)
        poisoned.increment()
        let group = options.groupID
        try await postgres.client(forShard: shard).transaction(logger: logger) { connection in
            try await connection.query("""
                INSERT INTO consumer_offsets (consumer_group, topic, partition, next_offset)
                VALUES (\(group), \(record.topic), \(record.partition), \(record.offset + 1))
                ON CONFLICT (consumer_group, topic, partition)
                DO UPDATE SET next_offset = GREATEST(consumer_offsets.next_offset, EXCLUDED.next_offset), updated_at = now()
                """, logger: logger)
        }
    }

    /// The offset stored for a partition on the shard the map gives it; nil when none is.
    private func storedOffset(of tp: TopicPartition) async throws -> Int64? {
        let rows = try await postgres.client(forPartition: tp.partition).query("""
            SELECT next_offset FROM consumer_offsets
            WHERE consumer_group = \(options.groupID) AND topic = \(tp.topic) AND partition = \(tp.partition)
            """, logger: logger)
        for try await offset in rows.decode(Int64.self) { return offset }
        return nil
    }

    /// Start offsets for newly assigned partitions, read from their shards.
    private func startOffsets(for event: KafkaConsumer.RebalanceEvent) async -> [TopicPartition: KafkaConsumer.StartOffset] {
        guard case .assigned(let partitions) = event else { return [:] }
        var result: [TopicPartition: KafkaConsumer.StartOffset] = [:]
        for tp in partitions {
            var attempt = 0
            while true {
                do {
                    result[tp] = try await storedOffset(of: tp).map { .offset($0) } ?? .beginning
                    break
                } catch {
                    attempt += 1
                    // The in-transaction offset check keeps this safe: starting early only re-reads.
                    if attempt >= 20 {
                        logger.error("stored offsets unreadable; starting from the group's Kafka offset", metadata: ["error": "\(error)"])
                        result[tp] = .committed
                        break
                    }
                    try? await Task.sleep(for: options.retryDelay)
                }
            }
        }
        logger.info("resuming from stored offsets", metadata: ["offsets": "\(result.sorted { $0.key.description < $1.key.description }.map { "\($0.key)=\($0.value)" })"])
        return result
    }

    // MARK: Partition moves

    /// Stops applying `partitions` (fenced on `shard`) until the shard map moves them.
    private func freeze(_ partitions: Set<Int32>, on shard: Int) {
        let newlyFrozen = fenced.withLockedValue { frozen in
            partitions.filter { frozen[$0] == nil }.map { partition -> Int32 in
                frozen[partition] = shard
                return partition
            }
        }
        for partition in newlyFrozen {
            logger.notice("partition fenced for a move; holding it", metadata: [KafkaLogKey.partition: "\(partition)", "postgres.shard": "\(shard)"])
            Task { await self.awaitMove(of: partition, from: shard) }
        }
    }

    /// Pauses the partition, waits for the map to send it to another shard, then resumes it from
    /// the offsets stored there. Records fetched before the seek are skipped while it is frozen.
    private func awaitMove(of partition: Int32, from shard: Int) async {
        guard let consumer = kafkaConsumer.withLockedValue({ $0 }) else { return }
        let assigned = { consumer.assignment.filter { $0.partition == partition } }
        try? consumer.pause(Array(assigned()))
        while !Task.isCancelled {
            try? await Task.sleep(for: options.moveCheckInterval)
            if let map = try? await postgres.loadShardMap(logger: logger), map.shard(forPartition: partition) != shard { break }
        }
        for tp in assigned() {
            // -2 is RD_KAFKA_OFFSET_BEGINNING: nothing stored yet.
            let start = (try? await storedOffset(of: tp)) ?? -2
            do { try consumer.seek(tp, to: start) } catch {
                logger.warning("seek after partition move failed", metadata: [KafkaLogKey.partition: "\(tp)", "error": "\(error)"])
            }
        }
        // Batches fetched before the seek may still be buffered: let the loop skip them first.
        try? await Task.sleep(for: .milliseconds(300))
        let fetched = consumer.fetchedChunks
        while processedChunks.withLockedValue({ $0 }) < fetched && !Task.isCancelled {
            try? await Task.sleep(for: .milliseconds(20))
        }
        fenced.withLockedValue { $0[partition] = nil }
        try? consumer.resume(Array(assigned()))
        logger.notice("partition resumed on its new shard", metadata: [
            KafkaLogKey.partition: "\(partition)", "postgres.shard": "\(postgres.shardMap.shard(forPartition: partition))",
        ])
    }

    /// Runs `work`, or throws `TransactionTimeout` once `duration` has passed. The abandoned work
    /// is cancelled and left to finish on its own: a hung query cannot be interrupted, and
    /// waiting for it would stall the partition.
    private func withDeadline(_ duration: Duration, _ work: @escaping @Sendable () async throws -> Void) async throws {
        let settled = NIOLockedValueBox(false)
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            let worker = Task {
                let result: Result<Void, any Error>
                do { try await work(); result = .success(()) } catch { result = .failure(error) }
                if settled.withLockedValue({ done in defer { done = true }; return !done }) {
                    continuation.resume(with: result)
                }
            }
            Task {
                try? await Task.sleep(for: duration)
                if settled.withLockedValue({ done in defer { done = true }; return !done }) {
                    worker.cancel()
                    continuation.resume(throwing: TransactionTimeout(duration: duration))
                }
            }
        }
    }

    static func rootCause(_ error: any Error) -> any Error {
        if let transaction = error as? PostgresTransactionError {
            return transaction.closureError ?? transaction.commitError ?? transaction.beginError ?? error
        }
        return error
    }

    /// Failures worth retrying as they are: lost connections, serialization failures, shutdowns.
    static func isTransient(_ error: any Error) -> Bool {
        if error is TransactionTimeout { return true }
        if let kafka = error as? KafkaError { return kafka.isRetriable }
        guard let psql = error as? PSQLError else { return false }
        guard let state = psql.serverInfo?[.sqlState] else {
            // No server answer: the connection failed or closed.
            return true
        }
        return ["40", "08", "53", "57", "58"].contains(String(state.prefix(2)))
    }
}

/// A transaction that did not finish in time (retried like a lost connection).
/// The shard refused writes for partitions a move has fenced.
struct PartitionFencedError: Error, CustomStringConvertible {
    let partitions: Set<Int32>
    let shard: Int
    var description: String { "partitions \(partitions.sorted()) are fenced on shard \(shard) (partition move)" }
}

struct TransactionTimeout: Error, CustomStringConvertible {
    let duration: Duration
    var description: String { "transaction did not finish within \(duration)" }
}
