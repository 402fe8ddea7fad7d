import Foundation
import Logging
import PostgresNIO
import ServiceLifecycle
import ShardedPostgres

/// Keeps `parameter_history` partitioned by day: creates the partitions of the next days ahead of
/// time and drops those older than the retention.
public struct HistoryMaintenance: Service {
    private let postgres: ShardedPostgres
    private let retentionDays: Int
    private let logger: Logger

    /// Creates the maintenance loop.
    public init(postgres: ShardedPostgres, retentionDays: Int, logger: Logger) {
        self.postgres = postgres
        self.retentionDays = retentionDays
        self.logger = logger
    }

    /// Runs once at start and then hourly until shutdown.
    public func run() async throws {
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            for shard in postgres.shards.indices {
                do {
                    try await maintain(shard: shard, now: Date())
                } catch {
                    logger.warning("history maintenance failed", metadata: ["postgres.shard": "\(shard)", "error": "\(error)"])
                }
            }
            try? await Task.sleep(for: .seconds(3600))
        }
    }

    /// Creates partitions for today and the next 3 days; drops partitions past the retention.
    public func maintain(shard: Int, now: Date) async throws {
        let client = postgres.client(forShard: shard)
        let day: TimeInterval = 86_400
        let today = Date(timeIntervalSince1970: (now.timeIntervalSince1970 / day).rounded(.down) * day)
        for offset in 0...3 {
            let start = today.addingTimeInterval(Double(offset) * day)
            let name = Self.partitionName(start)
            // Partition names are derived from dates (digits only), never from input.
            do {
                try await client.query(PostgresQuery(unsafeSQL: """
                    CREATE TABLE IF NOT EXISTS \(name) PARTITION OF parameter_history
                    FOR VALUES FROM ('\(Self.isoDay(start))') TO ('\(Self.isoDay(start.addingTimeInterval(day)))')
                    """), logger: logger)
            } catch {
                // Rows for that day already sit in the default partition (e.g. replayed old events).
                logger.notice("history partition not created", metadata: ["partition": "\(name)", "error": "\(error)"])
            }
        }
        let cutoff = Self.partitionName(today.addingTimeInterval(-Double(retentionDays) * day))
        let rows = try await client.query("""
            SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid JOIN pg_class p ON p.oid = i.inhparent
            WHERE p.relname = 'parameter_history' AND c.relname ~ '^parameter_history_[0-9]{8}$'
            """, logger: logger)
        var expired: [String] = []
        for try await name in rows.decode(String.self) where name < cutoff { expired.append(name) }
        for name in expired {
            try await client.query(PostgresQuery(unsafeSQL: "DROP TABLE \(name)"), logger: logger)
            logger.info("history partition dropped", metadata: ["partition": "\(name)"])
        }
    }

    static func partitionName(_ day: Date) -> String {
        "parameter_history_" + isoDay(day).replacingOccurrences(of: "-", with: "")
    }

    static func isoDay(_ day: Date) -> String {
        let c = Calendar(identifier: .gregorian).dateComponents(in: TimeZone(identifier: "UTC")!, from: day)
        return String(format: "%04d-%02d-%02d", c.year!, c.month!, c.day!)
    }
}
