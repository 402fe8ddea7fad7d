import Foundation
import Kafka
import Logging
import ShardedPostgres
import PostgresNIO
import TwinfleetConfig

/// What every subcommand reads from the environment.
struct ToolEnvironment {
    let config = ServiceConfig()
    let logger: Logger

    init() {
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = ProcessInfo.processInfo.environment["LOG_LEVEL"].flatMap(Logger.Level.init(rawValue:)) ?? .warning
            return handler
        }
        logger = Logger(label: "twinfleet-devtool")
    }

    func kafka(clientID: String = "twinfleet-devtool") throws -> KafkaConfiguration {
        try KafkaConfiguration(config: config, clientID: clientID)
    }

    var partitionCount: Int32 {
        get throws { Int32(try config.int(.kafkaPartitions, in: 1...10_000)) }
    }

    /// Connects to the control database and shards, runs the pools in the background and applies
    /// the platform migrations plus `extra`.
    func postgres(extra: [MigrationSet] = []) async throws -> (ShardedPostgres, Task<Void, Error>) {
        let postgres = try ShardedPostgres(
            configuration: try ShardedPostgresConfiguration(config: config), partitionCount: try partitionCount,
            backgroundLogger: logger)
        let task = Task { try await postgres.run() }
        try await postgres.migrate([PlatformMigrations.control, PlatformMigrations.shard] + extra, logger: logger)
        try await postgres.loadShardMap(logger: logger)
        return (postgres, task)
    }
}

/// Prints one JSON object per line and flushes, so a parent process can follow along.
func emit(_ object: [String: Any]) {
    let data = try! JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
    FileHandle.standardOutput.write(data + Data("\n".utf8))
}

/// Loads tab-separated lines into `table` with one `COPY FROM STDIN` per shard, concurrently
/// (the reference every benchmark compares against).
func copyPerShard(
    _ postgres: ShardedPostgres, table: String, columns: [String], linesByShard: [Int: [String]], logger: Logger
) async throws {
    try await withThrowingTaskGroup(of: Void.self) { group in
        for (shard, lines) in linesByShard {
            group.addTask {
                try await postgres.client(forShard: shard).withConnection { connection in
                    try await connection.copyFrom(table: table, columns: columns, logger: logger) { writer in
                        var buffer = ByteBuffer()
                        for (index, line) in lines.enumerated() {
                            buffer.writeString(line + "\n")
                            if index % 5000 == 4999 {
                                try await writer.write(buffer)
                                buffer.clear()
                            }
                        }
                        if buffer.readableBytes > 0 { try await writer.write(buffer) }
                    }
                }
            }
        }
        try await group.waitForAll()
    }
}
