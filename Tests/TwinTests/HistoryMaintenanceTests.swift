import Foundation
import PostgresNIO
import ShardedPostgres
import Testing
import TestSupport
import Twin

@Suite struct HistoryMaintenanceTests {
    @Test func createsDaysAheadAndDropsExpiredDays() async throws {
        let environment = try TestEnvironment.current()
        let databases = try await TestDatabases.create(shards: 1, in: environment)
        try await withShardedPostgres(databases, partitionCount: 4) { postgres in
            let logger = TestEnvironment.logger
            try await postgres.migrate([PlatformMigrations.shard, TwinMigrations.shard], logger: logger)
            let shard = postgres.client(forShard: 0)
            // An expired day (2026-08-01) and a kept one (2026-11-01), created by hand.
            try await shard.query("CREATE TABLE parameter_history_20260801 PARTITION OF parameter_history FOR VALUES FROM ('2026-08-01') TO ('2026-08-02')", logger: logger)
            try await shard.query("CREATE TABLE parameter_history_20261101 PARTITION OF parameter_history FOR VALUES FROM ('2026-11-01') TO ('2026-11-02')", logger: logger)
            let now = ISO8601DateFormatter().date(from: "2026-11-23T15:30:00Z")!
            let maintenance = HistoryMaintenance(postgres: postgres, retentionDays: 30, logger: logger)
            try await maintenance.maintain(shard: 0, now: now)
            try await maintenance.maintain(shard: 0, now: now)  // idempotent
            var names: [String] = []
            let rows = try await shard.query("""
                SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid JOIN pg_class p ON p.oid = i.inhparent
                WHERE p.relname = 'parameter_history' ORDER BY c.relname
                """, logger: logger)
            for try await name in rows.decode(String.self) { names.append(name) }
            #expect(names == [
                "parameter_history_20261101", "parameter_history_20261123", "parameter_history_20261124",
                "parameter_history_20261125", "parameter_history_20261126", "parameter_history_default",
            ])
            // A change on that day lands in its own partition, not the default one.
            try await shard.query("""
                INSERT INTO parameter_history (device_id, path, partition, value, value_type, valid_from, changed_at, twin_version)
                VALUES ('d', 'Device.X', 0, '1', 'string', '2026-11-20T10:00:00Z', '2026-11-24T10:00:00Z', 1)
                """, logger: logger)
            #expect(try await scalar(shard, "SELECT count(*)::int FROM parameter_history_20261124") == 1)
            #expect(try await scalar(shard, "SELECT count(*)::int FROM parameter_history_default") == 0)
        }
    }
}
