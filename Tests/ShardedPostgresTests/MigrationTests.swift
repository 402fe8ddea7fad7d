import Logging
import PostgresNIO
import ShardedPostgres
import Testing
import TestSupport

@Suite struct MigrationTests {
    let environment: TestEnvironment
    init() throws { environment = try TestEnvironment.current() }

    @Test func migrationsAreIdempotentAndSerialised() async throws {
        let databases = try await TestDatabases.create(shards: 2, in: environment)
        try await withShardedPostgres(databases, partitionCount: 12) { postgres in
            let logger = TestEnvironment.logger
            // Two processes starting at once: the advisory lock serialises them.
            try await withThrowingTaskGroup(of: Void.self) { group in
                for _ in 0..<3 {
                    group.addTask { try await postgres.migrate([PlatformMigrations.control, PlatformMigrations.shard], logger: logger) }
                }
                try await group.waitForAll()
            }
            let again = try await Migrator.apply(PlatformMigrations.shard, on: postgres.client(forShard: 1), logger: logger)
            #expect(again.isEmpty, "a second run must apply nothing")
            for shard in postgres.shards {
                #expect(try await scalar(shard, "SELECT count(*)::int FROM schema_migrations WHERE component = 'platform'") == PlatformMigrations.shard.migrations.count)
                #expect(try await scalar(shard, "SELECT count(*)::int FROM information_schema.tables WHERE table_name = 'consumer_offsets'") == 1)
            }
            #expect(try await scalar(postgres.control, "SELECT count(*)::int FROM information_schema.tables WHERE table_name = 'partition_shards'") == 1)

            // A new version is applied on top; an edited applied migration is refused.
            let v2 = MigrationSet(component: "platform-test", target: .shard, migrations: [
                Migration(version: 1, name: "t", statements: ["CREATE TABLE mig_t (a int)"]),
                Migration(version: 2, name: "u", statements: ["ALTER TABLE mig_t ADD COLUMN b int"]),
            ])
            #expect(try await Migrator.apply(v2, on: postgres.client(forShard: 0), logger: logger) == [1, 2])
            let edited = MigrationSet(component: "platform-test", target: .shard, migrations: [
                Migration(version: 1, name: "t", statements: ["CREATE TABLE mig_t (a bigint)"]),
            ])
            await #expect(throws: MigrationError.self) {
                try await Migrator.apply(edited, on: postgres.client(forShard: 0), logger: logger)
            }
            // A failing migration leaves nothing behind (one transaction).
            let broken = MigrationSet(component: "broken", target: .shard, migrations: [
                Migration(version: 1, name: "ok", statements: ["CREATE TABLE mig_ok (a int)"]),
                Migration(version: 2, name: "bad", statements: ["CREATE TABLE mig_bad (a no_such_type)"]),
            ])
            await #expect(throws: (any Error).self) { try await Migrator.apply(broken, on: postgres.client(forShard: 0), logger: logger) }
            #expect(try await scalar(postgres.client(forShard: 0), "SELECT count(*)::int FROM information_schema.tables WHERE table_name = 'mig_ok'") == 0)
        }
    }

    @Test func shardMapIsStoredAndPartitionCountIsGuarded() async throws {
        let databases = try await TestDatabases.create(shards: 2, in: environment)
        try await withShardedPostgres(databases, partitionCount: 8) { postgres in
            try await postgres.migrate([PlatformMigrations.control, PlatformMigrations.shard], logger: TestEnvironment.logger)
            // The first start writes the whole default map down, so a shard added later moves nothing.
            let first = try await postgres.loadShardMap(logger: TestEnvironment.logger)
            #expect((0..<8).allSatisfy { first.shard(forPartition: Int32($0)) == $0 % 2 })
            #expect(try await scalar(postgres.control, "SELECT count(*)::int FROM partition_shards WHERE shard = partition % 2") == 8)
            try await postgres.control.query("UPDATE partition_shards SET shard = 0 WHERE partition = 3", logger: TestEnvironment.logger)
            let map = try await postgres.loadShardMap(logger: TestEnvironment.logger)
            #expect(map.shard(forPartition: 3) == 0)
            #expect(map.shard(forPartition: 5) == 1)
        }
        // A process that only reads picks up a flipped entry within one refresh interval.
        try await withShardedPostgres(databases, partitionCount: 8) { postgres in
            try await postgres.loadShardMap(logger: TestEnvironment.logger)
            #expect(postgres.shardMap.shard(forPartition: 5) == 1)
            let refresher = Task {
                try await ShardMapRefresher(postgres: postgres, interval: .milliseconds(100), logger: TestEnvironment.logger).run()
            }
            defer { refresher.cancel() }
            try await postgres.control.query("UPDATE partition_shards SET shard = 0 WHERE partition = 5", logger: TestEnvironment.logger)
            #expect(await eventually(timeout: .seconds(10), every: .milliseconds(50)) { postgres.shardMap.shard(forPartition: 5) == 0 })
        }
        // The same databases with another partition count are refused.
        try await withShardedPostgres(databases, partitionCount: 16) { postgres in
            await #expect(throws: ShardMapError.self) { try await postgres.loadShardMap(logger: TestEnvironment.logger) }
        }
    }
}
