import ArgumentParser
import BusContracts
import Dispatcher
import Kafka
import ShardedPostgres
import Twin
import TwinfleetConfig

/// Applies every migration set (platform, outbox, twin-store, command-dispatcher) to the control
/// database and every shard, and optionally creates the platform topics on a real Kafka cluster.
struct Migrate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Apply schema migrations (idempotent) and check the shard map.")

    @Flag(help: "Also create the platform topics with KAFKA_PARTITIONS partitions (real Kafka; the dev broker creates its own).")
    var createTopics = false

    @Option(help: "Ingress instance IDs whose delivery inbox topics to create.")
    var instances = "cwmp-0,usp-0"

    /// The shard tables of every service, so that a partition move finds them on every shard.
    static let serviceSets: [MigrationSet] = [Outbox.migrations, TwinMigrations.shard, DispatcherMigrations.shard, BulkMigrations.control]

    func run() async throws {
        let environment = ToolEnvironment()
        if createTopics {
            let names = try Topic.all(instances: instances.split(separator: ",").map(String.init))
            try KafkaAdmin(configuration: try environment.kafka()).createTopics(names, partitions: try environment.partitionCount)
            emit(["event": "topics", "created": names])
        }
        let (postgres, task) = try await environment.postgres(extra: Self.serviceSets)
        emit(["event": "migrated", "shards": postgres.shards.count, "partitions": Int(postgres.shardMap.partitionCount)])
        task.cancel()
    }
}
