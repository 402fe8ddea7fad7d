import TwinfleetModel
import Foundation
import Logging
import Metrics
import NIOConcurrencyHelpers
import PostgresNIO
import ServiceLifecycle
import ShardedPostgres

/// The dispatcher's clock: what must happen without a record arriving (a command expires, a
/// backoff ends, a not-before time comes, a delivery hears nothing, an idle CWMP device needs
/// another connection request).
///
/// Every `interval` it looks, on each shard, at the devices of the partitions this member holds
/// whose `wake_at` has passed, under the same locks a batch of the record consumer takes, so the
/// two never interleave on a device and a partition move never sees a write behind its fence.
/// Old final commands are deleted after `retention`.
public struct DispatchClock: Service {
    let postgres: ShardedPostgres
    let consumer: TransactionalConsumer<DispatchHandler>
    let policy: DispatchPolicy
    let interval: Duration
    let batchSize: Int
    let retention: Duration
    let logger: Logger
    private let clock: @Sendable () -> Date

    public init(postgres: ShardedPostgres, consumer: TransactionalConsumer<DispatchHandler>, policy: DispatchPolicy,
                interval: Duration = .milliseconds(500), batchSize: Int = 500, retention: Duration = .seconds(30 * 86_400),
                logger: Logger, clock: @escaping @Sendable () -> Date = { Date() }) {
        self.postgres = postgres
        self.consumer = consumer
        self.policy = policy
        self.interval = interval
        self.batchSize = batchSize
        self.retention = retention
        self.logger = logger
        self.clock = clock
    }

    public func run() async throws {
        var lastCleanup = Date.distantPast
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            try? await Task.sleep(for: interval)
            let held = consumer.heldPartitions
            guard !held.isEmpty else { continue }
            let map = postgres.shardMap
            var byShard: [Int: Set<Int32>] = [:]
            for partition in held { byShard[map.shard(forPartition: partition), default: []].insert(partition) }
            for (shard, partitions) in byShard {
                do {
                    // A backlog is worked off in a few rounds, then the other shards get their turn.
                    var rounds = 0
                    while try await tick(shard: shard, partitions: partitions) >= batchSize, rounds < 20, !Task.isShuttingDownGracefully {
                        rounds += 1
                    }
                } catch {
                    logger.warning("dispatcher clock tick failed; next tick retries", metadata: ["postgres.shard": "\(shard)", "error": "\(error)"])
                }
            }
            if clock().timeIntervalSince(lastCleanup) > 3600 {
                lastCleanup = clock()
                await cleanup(byShard)
            }
        }
    }

    /// Processes the devices due on one shard; returns how many there were.
    @discardableResult
    public func tick(shard: Int, partitions: Set<Int32>) async throws -> Int {
        let now = clock()
        let policy = self.policy, limit = batchSize, logger = self.logger, topics = consumer.handler.topics
        let count = NIOLockedValueBox(0)
        try await consumer.withPartitionsLocked(partitions, shard: shard, logger: logger) { open, connection in
            var due: [String: Int32] = [:]
            let rows = try await connection.query("""
                SELECT device_id, partition FROM dispatcher_devices
                WHERE partition = ANY(\(open.sorted())::int[]) AND wake_at <= \(now)
                ORDER BY wake_at LIMIT \(limit)
                """, logger: logger)
            for try await (device, partition) in rows.decode((String, Int32).self) { due[device] = partition }
            guard !due.isEmpty else { return }
            var loaded = try await DispatchStore.load(devices: due, policy: policy, connection: connection, logger: logger)
            var effects: [(partition: Int32, effect: DispatchEffect)] = []
            for (device, partition) in due {
                guard var queue = loaded.queues[device] else { continue }
                effects += queue.tick(now: now).map { (partition, $0) }
                // The wake time is written back even when nothing changed.
                queue.touch()
                loaded.queues[device] = queue
            }
            try await DispatchStore.save(loaded, effects: effects, topics: topics, now: now, connection: connection, logger: logger)
            count.withLockedValue { $0 = due.count }
        }
        return count.withLockedValue { $0 }
    }

    /// Deletes final commands (and their transitions) older than the retention.
    private func cleanup(_ byShard: [Int: Set<Int32>]) async {
        let cutoff = clock().addingTimeInterval(-retention.timeInterval)
        for (shard, partitions) in byShard {
            do {
                try await consumer.withPartitionsLocked(partitions, shard: shard, logger: logger) { [logger] open, connection in
                    try await connection.query("""
                        DELETE FROM dispatcher_transitions t USING dispatcher_commands c
                        WHERE t.command_id = c.command_id AND c.partition = ANY(\(open.sorted())::int[]) AND c.finished_at < \(cutoff)
                        """, logger: logger)
                    try await connection.query("""
                        DELETE FROM dispatcher_commands WHERE partition = ANY(\(open.sorted())::int[]) AND finished_at < \(cutoff)
                        """, logger: logger)
                }
            } catch {
                logger.warning("deleting old commands failed", metadata: ["postgres.shard": "\(shard)", "error": "\(error)"])
            }
        }
    }
}
