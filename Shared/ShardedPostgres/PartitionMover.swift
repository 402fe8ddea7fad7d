import Logging
import PostgresNIO

/// Moves one partition's rows to another shard and flips the partition map (resharding).
///
/// 1. **Fence** the partition on its source shard: under the lock of its `consumer_offsets`
///    rows (so no consumer transaction for it is in flight), a `partition_fences` row. From then
///    on every `TransactionalConsumer` refuses to write the partition there, holds it (paused,
///    other partitions keep flowing) and waits for the map to change.
/// 2. **Drain** the partition's outbox rows on the source (its relay publishes them).
/// 3. **Copy** every row with that `partition` from every table that has the column (parents
///    before the tables that reference them), in one transaction on the target that first
///    clears leftovers of an interrupted attempt, and **verify** the row counts before commit.
/// 4. **Flip** the map entry in the control database; consumers reload it and resume the
///    partition from the offsets that moved with its rows.
/// 5. **Delete** the rows from the source. The fence stays there, so a consumer with a stale map
///    can never write to the old shard.
///
/// Every step can be repeated: running the move again after a crash finishes it.
public struct PartitionMover: Sendable {
    /// What a move did.
    public struct Report: Sendable, Equatable {
        public var partition: Int32
        public var fromShard: Int
        public var toShard: Int
        /// Rows per table, counted on the source before and on the target after the copy.
        public var rows: [String: Int]
        /// True when the map already pointed at the target (an earlier run got that far).
        public var alreadyMoved: Bool
    }

    private let postgres: ShardedPostgres
    private let logger: Logger

    /// Creates a mover over the shards.
    public init(postgres: ShardedPostgres, logger: Logger) {
        self.postgres = postgres
        self.logger = logger
    }

    /// Moves `partition` to shard `target`.
    public func move(partition: Int32, to target: Int, drainTimeout: Duration = .seconds(60)) async throws -> Report {
        let map = try await postgres.loadShardMap(logger: logger)
        guard partition >= 0, partition < map.partitionCount else {
            throw ShardMapError("partition \(partition) is outside 0..<\(map.partitionCount)")
        }
        guard target >= 0, target < postgres.shards.count else {
            throw ShardMapError("shard \(target) is outside 0..<\(postgres.shards.count)")
        }
        var logger = self.logger
        logger[metadataKey: "kafka.partition"] = "\(partition)"
        let source = map.shard(forPartition: partition)
        if source == target {
            // Already flipped: remove what an interrupted run left on other fenced shards.
            for shard in postgres.shards.indices where shard != target {
                let client = postgres.client(forShard: shard)
                if try await isFenced(partition, client) { try await deleteRows(of: partition, client, logger: logger) }
            }
            return Report(partition: partition, fromShard: source, toShard: target, rows: [:], alreadyMoved: true)
        }
        let from = postgres.client(forShard: source), to = postgres.client(forShard: target)

        try await from.transaction(logger: logger) { connection in
            try await connection.query("SELECT 1 FROM consumer_offsets WHERE partition = \(partition) FOR UPDATE", logger: logger)
            try await connection.query("""
                INSERT INTO partition_fences (partition, reason) VALUES (\(partition), \("moving to shard \(target)"))
                ON CONFLICT (partition) DO UPDATE SET reason = EXCLUDED.reason, fenced_at = now()
                """, logger: logger)
        }
        logger.notice("partition fenced on its source shard", metadata: ["postgres.shard": "\(source)"])
        try await drainOutbox(of: partition, from, timeout: drainTimeout, logger: logger)

        let tables = try await partitionedTables(from, logger: logger)
        var counts: [String: Int] = [:]
        for table in tables { counts[table] = try await count(table, partition, from, logger: logger) }
        try await to.transaction(logger: logger) { connection in
            try await connection.query("DELETE FROM partition_fences WHERE partition = \(partition)", logger: logger)
            for table in tables.reversed() {
                try await connection.query(PostgresQuery(unsafeSQL: "DELETE FROM \(table) WHERE partition = $1", binds: Self.binds(partition)), logger: logger)
            }
            for table in tables { try await copy(table, partition, from: from, into: connection, logger: logger) }
            for table in tables {
                var copied = 0
                for try await n in try await connection.query(
                    PostgresQuery(unsafeSQL: "SELECT count(*) FROM \(table) WHERE partition = $1", binds: Self.binds(partition)), logger: logger
                ).decode(Int.self) { copied = n }
                guard copied == counts[table] else {
                    throw ShardMapError("copy of \(table) for partition \(partition) has \(copied) rows, the source \(counts[table] ?? 0)")
                }
            }
        }
        logger.notice("partition copied", metadata: ["postgres.shard": "\(target)", "rows": "\(counts)"])

        try await postgres.control.query("""
            INSERT INTO partition_shards (partition, shard) VALUES (\(partition), \(target))
            ON CONFLICT (partition) DO UPDATE SET shard = EXCLUDED.shard, updated_at = now()
            """, logger: logger)
        try await postgres.loadShardMap(logger: logger)
        logger.notice("partition map flipped", metadata: ["postgres.shard": "\(target)"])

        try await deleteRows(of: partition, from, logger: logger)
        return Report(partition: partition, fromShard: source, toShard: target, rows: counts, alreadyMoved: false)
    }

    /// Tables of the shard's schema with a `partition` column, parents before the tables whose
    /// foreign keys reference them. The fences and the (drained) outbox stay where they are.
    func partitionedTables(_ client: PostgresClient, logger: Logger) async throws -> [String] {
        var tables: [String] = []
        for try await name in try await client.query("""
            SELECT c.relname::text FROM pg_class c
            JOIN pg_namespace n ON n.oid = c.relnamespace
            JOIN pg_attribute a ON a.attrelid = c.oid AND a.attname = 'partition' AND NOT a.attisdropped
            WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p') AND NOT c.relispartition
              AND c.relname NOT IN ('partition_fences', 'outbox')
            ORDER BY c.relname
            """, logger: logger).decode(String.self) {
            // Names come from the catalog; still, only plain identifiers are ever spliced in.
            guard name.allSatisfy({ $0.isASCII && ($0.isLowercase || $0.isNumber || $0 == "_") }) else {
                throw ShardMapError("table \(name) has a name the mover does not quote")
            }
            tables.append(name)
        }
        var parents: [String: Set<String>] = [:]
        for try await (child, parent) in try await client.query("""
            SELECT conrelid::regclass::text, confrelid::regclass::text FROM pg_constraint WHERE contype = 'f'
            """, logger: logger).decode((String, String).self) where child != parent {
            parents[child, default: []].insert(parent)
        }
        var ordered: [String] = [], placed: Set<String> = []
        func place(_ table: String, depth: Int) {
            guard !placed.contains(table), depth < 50 else { return }
            for parent in parents[table, default: []].sorted() where tables.contains(parent) { place(parent, depth: depth + 1) }
            placed.insert(table)
            ordered.append(table)
        }
        for table in tables { place(table, depth: 0) }
        return ordered
    }

    private func copy(_ table: String, _ partition: Int32, from source: PostgresClient, into target: PostgresConnection, logger: Logger) async throws {
        var chunk: [String] = []
        func flush() async throws {
            guard !chunk.isEmpty else { return }
            let json = "[" + chunk.joined(separator: ",") + "]"
            chunk.removeAll(keepingCapacity: true)
            try await target.query(
                PostgresQuery(unsafeSQL: "INSERT INTO \(table) SELECT * FROM json_populate_recordset(NULL::\(table), $1::json)", binds: Self.binds(json)),
                logger: logger)
        }
        let rows = try await source.query(
            PostgresQuery(unsafeSQL: "SELECT row_to_json(t)::text FROM \(table) t WHERE partition = $1", binds: Self.binds(partition)), logger: logger)
        for try await row in rows.decode(String.self) {
            chunk.append(row)
            if chunk.count == 2000 { try await flush() }
        }
        try await flush()
    }

    private func drainOutbox(of partition: Int32, _ client: PostgresClient, timeout: Duration, logger: Logger) async throws {
        let deadline = ContinuousClock.now + timeout
        while true {
            var pending = 0
            for try await n in try await client.query("""
                SELECT CASE WHEN to_regclass('outbox') IS NULL THEN 0
                            ELSE (SELECT count(*) FROM outbox WHERE partition = \(partition)) END
                """, logger: logger).decode(Int.self) { pending = n }
            if pending == 0 { return }
            guard ContinuousClock.now < deadline else {
                throw ShardMapError("\(pending) outbox rows of partition \(partition) not relayed after \(timeout); is the relay running? Run the move again to continue")
            }
            try await Task.sleep(for: .milliseconds(200))
        }
    }

    private func deleteRows(of partition: Int32, _ client: PostgresClient, logger: Logger) async throws {
        let tables = try await partitionedTables(client, logger: logger)
        try await client.transaction(logger: logger) { connection in
            for table in tables.reversed() {
                try await connection.query(PostgresQuery(unsafeSQL: "DELETE FROM \(table) WHERE partition = $1", binds: Self.binds(partition)), logger: logger)
            }
        }
    }

    private func isFenced(_ partition: Int32, _ client: PostgresClient) async throws -> Bool {
        for try await _ in try await client.query("SELECT 1 FROM partition_fences WHERE partition = \(partition)", logger: logger) { return true }
        return false
    }

    private func count(_ table: String, _ partition: Int32, _ client: PostgresClient, logger: Logger) async throws -> Int {
        var total = 0
        for try await n in try await client.query(
            PostgresQuery(unsafeSQL: "SELECT count(*) FROM \(table) WHERE partition = $1", binds: Self.binds(partition)), logger: logger
        ).decode(Int.self) { total = n }
        return total
    }

    private static func binds(_ value: Int32) -> PostgresBindings {
        var bindings = PostgresBindings()
        bindings.append(value)
        return bindings
    }

    private static func binds(_ value: String) -> PostgresBindings {
        var bindings = PostgresBindings()
        bindings.append(value)
        return bindings
    }
}
