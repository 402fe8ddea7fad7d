import Kafka
import ShardedPostgres
import Testing

@Suite struct ShardMapTests {
    @Test func defaultIsPartitionModuloShards() throws {
        let map = try ShardMap(partitionCount: 12, shardCount: 5)
        for partition in Int32(0)..<12 {
            #expect(map.shard(forPartition: partition) == Int(partition) % 5)
        }
        #expect(map.partitions(onShard: 0) == [0, 5, 10])
        #expect(map.partitions(onShard: 4) == [4, 9])
    }

    @Test func deviceRoutingUsesKafkasPartition() throws {
        let map = try ShardMap(partitionCount: 12, shardCount: 2)
        // "21" and "foobar" have published murmur2 values (-973932308, -790332482).
        #expect(map.partition(forDevice: "21") == Int32((UInt32(bitPattern: -973_932_308) & 0x7fff_ffff) % 12))
        #expect(map.partition(forDevice: "foobar") == Int32((UInt32(bitPattern: -790_332_482) & 0x7fff_ffff) % 12))
        #expect(map.shard(forDevice: "foobar") == Int(map.partition(forDevice: "foobar")) % 2)
    }

    @Test func movingAPartitionFlipsOneEntry() throws {
        var map = try ShardMap(partitionCount: 8, shardCount: 2)
        try map.setShard(0, forPartition: 3)
        #expect(map.shard(forPartition: 3) == 0)
        #expect(map.overrides == [3: 0])
        for partition in Int32(0)..<8 where partition != 3 {
            #expect(map.shard(forPartition: partition) == Int(partition) % 2)
        }
        // Moving it back to its default shard removes the override.
        try map.setShard(1, forPartition: 3)
        #expect(map.overrides.isEmpty)
    }

    @Test func impossibleMapsAreRefused() {
        #expect(throws: ShardMapError.self) { try ShardMap(partitionCount: 0, shardCount: 1) }
        #expect(throws: ShardMapError.self) { try ShardMap(partitionCount: 4, shardCount: 0) }
        #expect(throws: ShardMapError.self) { try ShardMap(partitionCount: 4, shardCount: 2, overrides: [1: 2]) }
        #expect(throws: ShardMapError.self) { try ShardMap(partitionCount: 4, shardCount: 2, overrides: [4: 0]) }
    }

    @Test func postgresURLsParseWithoutLeakingPasswords() throws {
        let configuration = try PostgresURL.parse("postgres://tf:s3cret@db.example:6543/twin_0?sslmode=disable")
        #expect(configuration.host == "db.example")
        #expect(configuration.port == 6543)
        #expect(configuration.username == "tf")
        #expect(configuration.password == "s3cret")
        #expect(configuration.database == "twin_0")
        do {
            _ = try PostgresURL.parse("postgres://tf:s3cret@db.example:6543/?sslmode=disable")
            Issue.record("a URL without a database must be refused")
        } catch {
            #expect(!error.description.contains("s3cret"))
        }
        #expect(throws: PostgresURL.ParseError.self) { try PostgresURL.parse("mysql://a@b/c") }
        #expect(throws: PostgresURL.ParseError.self) { try PostgresURL.parse("postgres://a@b/c?sslmode=bogus") }
    }
}
