/// Tables the platform itself needs, before any service adds its own.
public enum PlatformMigrations {
    /// Per shard: consumed offsets stored next to the rows they produced (exactly-once apply).
    public static let shard = MigrationSet(component: "platform", target: .shard, migrations: [
        Migration(version: 1, name: "consumer offsets", statements: [
            """
            CREATE TABLE consumer_offsets (
                consumer_group text NOT NULL,
                topic text NOT NULL,
                partition integer NOT NULL CHECK (partition >= 0),
                next_offset bigint NOT NULL CHECK (next_offset >= 0),
                updated_at timestamptz NOT NULL DEFAULT now(),
                PRIMARY KEY (consumer_group, topic, partition))
            """,
        ]),
        Migration(version: 2, name: "partition fences", statements: [
            // A partition fenced on a shard takes no more consumer writes there: a partition
            // move fences its source shard before copying (see `PartitionMover`).
            """
            CREATE TABLE partition_fences (
                partition integer PRIMARY KEY CHECK (partition >= 0),
                reason text NOT NULL,
                fenced_at timestamptz NOT NULL DEFAULT now())
            """,
        ]),
    ])

    /// Control database: the partition→shard map and cluster-wide settings.
    public static let control = MigrationSet(component: "platform", target: .control, migrations: [
        Migration(version: 1, name: "partition map and cluster settings", statements: [
            """
            CREATE TABLE cluster_settings (
                key text PRIMARY KEY,
                value text NOT NULL,
                updated_at timestamptz NOT NULL DEFAULT now())
            """,
            """
            CREATE TABLE partition_shards (
                partition integer PRIMARY KEY CHECK (partition >= 0),
                shard integer NOT NULL CHECK (shard >= 0),
                updated_at timestamptz NOT NULL DEFAULT now())
            """,
        ]),
    ])
}
