import Logging
import ServiceLifecycle

/// Reloads the partition map from the control database at an interval, for processes that read
/// shards without consuming (a consumer reloads it as soon as a partition move fences it). After
/// a partition move, such a process routes reads to the new shard within one interval.
public struct ShardMapRefresher: Service {
    private let postgres: ShardedPostgres
    private let interval: Duration
    private let logger: Logger

    /// Creates the refresher.
    public init(postgres: ShardedPostgres, interval: Duration = .seconds(10), logger: Logger) {
        self.postgres = postgres
        self.interval = interval
        self.logger = logger
    }

    /// Reloads until graceful shutdown or cancellation; a failed reload keeps the map in use.
    public func run() async throws {
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            try? await Task.sleep(for: interval)
            let before = postgres.shardMap
            do {
                let after = try await postgres.loadShardMap(logger: logger)
                if after != before { logger.notice("partition map changed", metadata: ["overrides": "\(after.overrides.count)"]) }
            } catch {
                logger.warning("partition map reload failed; keeping the current one", metadata: ["error": "\(error)"])
            }
        }
    }
}
