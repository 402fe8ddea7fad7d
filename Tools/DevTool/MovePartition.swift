import ArgumentParser
import ShardedPostgres
import Twin

/// Resharding: moves one partition's rows to another shard and flips the map, while consumers
/// hold that partition only (see `PartitionMover`). Safe to run again after an interruption.
struct MovePartition: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "move-partition", abstract: "Move a partition's rows to another shard and flip the partition map.")

    @Option(help: "The partition to move.") var partition: Int32
    @Option(help: "The shard (index in POSTGRES_SHARDS) to move it to.") var toShard: Int
    @Option(help: "Seconds to wait for the partition's outbox to drain.") var drainTimeout = 60

    func run() async throws {
        let environment = ToolEnvironment()
        // A new shard gets every table first.
        let (postgres, task) = try await environment.postgres(extra: Migrate.serviceSets)
        defer { task.cancel() }
        let report = try await PartitionMover(postgres: postgres, logger: environment.logger)
            .move(partition: partition, to: toShard, drainTimeout: .seconds(drainTimeout))
        emit([
            "event": report.alreadyMoved ? "already-moved" : "moved", "partition": Int(report.partition),
            "from": report.fromShard, "to": report.toShard, "rows": report.rows,
        ])
    }
}
