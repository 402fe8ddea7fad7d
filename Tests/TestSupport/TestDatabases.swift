import Foundation
import Logging
import PostgresNIO
import ShardedPostgres

/// Fresh databases (a control database and N shards) on the test PostgreSQL server.
public struct TestDatabases: Sendable {
    /// Control database URL.
    public let controlURL: String
    /// Shard URLs, shard 0 first.
    public let shardURLs: [String]

    /// Creates `shards` empty shard databases and a control database with unique names.
    public static func create(shards: Int, in environment: TestEnvironment) async throws -> TestDatabases {
        let base = TestEnvironment.unique("tf").replacingOccurrences(of: "-", with: "_")
        let names = ["\(base)_control"] + (0..<shards).map { "\(base)_shard_\($0)" }
        try await withClient(environment.postgresURL) { client in
            for name in names {
                // Database names cannot be binds; these come from a UUID, never from input.
                try await client.query(PostgresQuery(unsafeSQL: "CREATE DATABASE \(name)"), logger: TestEnvironment.logger)
            }
        }
        let url = environment.postgresURL
        let root = url[..<url.lastIndex(of: "/")!]
        return TestDatabases(controlURL: "\(root)/\(names[0])", shardURLs: names.dropFirst().map { "\(root)/\($0)" })
    }

    /// Configuration for `ShardedPostgres`.
    public var configuration: ShardedPostgresConfiguration {
        get throws {
            ShardedPostgresConfiguration(
                control: try PostgresURL.parse(controlURL), shards: try shardURLs.map { try PostgresURL.parse($0) })
        }
    }
}

/// Runs `body` with a running client for `url`.
public func withClient<T: Sendable>(_ url: String, _ body: (PostgresClient) async throws -> T) async throws -> T {
    let client = PostgresClient(configuration: try PostgresURL.parse(url), backgroundLogger: TestEnvironment.logger)
    return try await withThrowingTaskGroup(of: Void.self) { group in
        group.addTask { await client.run() }
        defer { group.cancelAll() }
        return try await body(client)
    }
}

/// Runs `body` with a running `ShardedPostgres` (platform migrations applied).
public func withShardedPostgres<T: Sendable>(
    _ databases: TestDatabases, partitionCount: Int32, _ body: (ShardedPostgres) async throws -> T
) async throws -> T {
    let postgres = try ShardedPostgres(
        configuration: try databases.configuration, partitionCount: partitionCount, backgroundLogger: TestEnvironment.logger)
    return try await withThrowingTaskGroup(of: Void.self) { group in
        group.addTask { try await postgres.run() }
        defer { group.cancelAll() }
        return try await body(postgres)
    }
}

/// The single integer a query returns.
public func scalar(_ client: PostgresClient, _ query: PostgresQuery) async throws -> Int {
    var result = 0
    for try await value in try await client.query(query, logger: TestEnvironment.logger).decode(Int.self) { result = value }
    return result
}

/// The sum of an integer query over every shard.
public func sumOverShards(_ postgres: ShardedPostgres, _ query: PostgresQuery) async throws -> Int {
    var sum = 0
    for shard in postgres.shards { sum += try await scalar(shard, query) }
    return sum
}
