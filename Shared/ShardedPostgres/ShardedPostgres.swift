import Logging
import NIOConcurrencyHelpers
import PostgresNIO
import ServiceLifecycle

/// The control database and the shard databases, with the partition→shard map that routes
/// device-keyed work to a shard.
///
/// As a `Service` it runs every connection pool; start it before anything that queries.
public final class ShardedPostgres: Service, Sendable {
    /// The control database (non-device data, the shard map).
    public let control: PostgresClient
    /// One client per shard, shard 0 first.
    public let shards: [PostgresClient]
    private let map: NIOLockedValueBox<LoadedMap>

    /// The map in use and the order of the loads: a load installs its map only if no load that
    /// began after it has installed one already, so a slow load that read the table before a
    /// partition move committed can never put the old map back after the mover's own reload.
    private struct LoadedMap {
        var map: ShardMap
        var installed: UInt64 = 0
        var issued: UInt64 = 0
    }

    /// Creates clients (no connection is made until `run()`), with the default map for
    /// `partitionCount` partitions until `loadShardMap` reads the stored one.
    public init(configuration: ShardedPostgresConfiguration, partitionCount: Int32, backgroundLogger: Logger) throws {
        control = PostgresClient(configuration: configuration.control, backgroundLogger: backgroundLogger)
        shards = configuration.shards.map { PostgresClient(configuration: $0, backgroundLogger: backgroundLogger) }
        map = NIOLockedValueBox(LoadedMap(map: try ShardMap(partitionCount: partitionCount, shardCount: configuration.shards.count)))
    }

    /// Runs the connection pools until cancelled or shut down.
    public func run() async throws {
        await withDiscardingTaskGroup { group in
            for client in [control] + shards {
                group.addTask { await client.run() }
            }
        }
    }

    /// The current partition→shard map.
    public var shardMap: ShardMap { map.withLockedValue { $0.map } }

    /// The client of a shard.
    public func client(forShard shard: Int) -> PostgresClient { shards[shard] }

    /// The client holding a partition's rows.
    public func client(forPartition partition: Int32) -> PostgresClient {
        shards[shardMap.shard(forPartition: partition)]
    }

    /// Applies control sets to the control database and shard sets to every shard.
    public func migrate(_ sets: [MigrationSet], logger: Logger) async throws {
        for set in sets {
            switch set.target {
            case .control:
                try await Migrator.apply(set, on: control, logger: logger)
            case .shard:
                for (index, shard) in shards.enumerated() {
                    var logger = logger
                    logger[metadataKey: "postgres.shard"] = "\(index)"
                    try await Migrator.apply(set, on: shard, logger: logger)
                }
            }
        }
    }

    /// Reads the stored partition map from the control database, first recording the partition and
    /// shard counts on a new cluster and refusing to start if they differ from the stored ones
    /// (a different P would silently move every device to another partition).
    @discardableResult
    public func loadShardMap(logger: Logger) async throws -> ShardMap {
        let (current, ticket) = map.withLockedValue { state -> (ShardMap, UInt64) in
            state.issued += 1
            return (state.map, state.issued)
        }
        let loaded = try await control.transaction(logger: logger) { connection -> ShardMap in
            try await connection.query("""
                INSERT INTO cluster_settings (key, value) VALUES ('partition_count', \(String(current.partitionCount)))
                ON CONFLICT (key) DO NOTHING
                """, logger: logger)
            let rows = try await connection.query(
                "SELECT value FROM cluster_settings WHERE key = 'partition_count'", logger: logger)
            var stored = ""
            for try await value in rows.decode(String.self) { stored = value }
            guard stored == String(current.partitionCount) else {
                throw ShardMapError("the cluster was created with \(stored) partitions; configuration says \(current.partitionCount)")
            }
            // The whole map is written down on the cluster's first start, so adding a shard
            // later changes no partition's shard (the default `partition mod S` would move
            // them all); partitions then move only through `PartitionMover`.
            try await connection.query("""
                INSERT INTO partition_shards (partition, shard)
                SELECT p, p % \(current.shardCount) FROM generate_series(0, \(Int(current.partitionCount) - 1)) AS p
                WHERE NOT EXISTS (SELECT 1 FROM partition_shards)
                """, logger: logger)
            var overrides: [Int32: Int] = [:]
            for try await (partition, shard) in try await connection.query(
                "SELECT partition, shard FROM partition_shards", logger: logger
            ).decode((Int32, Int).self) {
                overrides[partition] = shard
            }
            return try ShardMap(partitionCount: current.partitionCount, shardCount: current.shardCount, overrides: overrides)
        }
        return map.withLockedValue { state in
            guard ticket > state.installed else { return state.map }
            state.map = loaded
            state.installed = ticket
            return loaded
        }
    }
}

extension PostgresClient {
    /// `withTransaction`, but rethrowing the closure's own error (a `MigrationError`, a
    /// `PoisonRecordError`…) instead of postgres-nio's wrapper when the closure failed.
    @discardableResult
    public func transaction<Result: Sendable>(
        logger: Logger, file: String = #file, line: Int = #line,
        _ body: (PostgresConnection) async throws -> sending Result
    ) async throws -> Result {
        do {
            return try await withTransaction(logger: logger, file: file, line: line, body)
        } catch let error as PostgresTransactionError {
            throw error.closureError ?? error
        }
    }
}
