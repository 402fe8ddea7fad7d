import Foundation
import NIOSSL
import PostgresNIO
import TwinfleetConfig

extension ConfigKey {
    /// The control database.
    public static let postgresControlURL = ConfigKey("postgres.control-url", default: "postgres://twinfleet@127.0.0.1:5432/twinfleet_control", "Control database (non-device data, shard map), `postgres://user:password@host:port/db?sslmode=disable|require`")
    /// The shard databases.
    public static let postgresShards = ConfigKey("postgres.shards", default: "postgres://twinfleet@127.0.0.1:5432/twinfleet_shard_0", "Shard databases in shard order, comma-separated URLs (shard 0 first)")
    /// Connections per database.
    public static let postgresPoolSize = ConfigKey("postgres.pool-size", default: "8", "Maximum connections per database")
    /// The keys of this module.
    public static let postgresKeys: [ConfigKey] = [.postgresControlURL, .postgresShards, .postgresPoolSize]
}

/// Connection settings of the control database and every shard.
public struct ShardedPostgresConfiguration: Sendable {
    /// The control database.
    public var control: PostgresClient.Configuration
    /// The shards, shard 0 first.
    public var shards: [PostgresClient.Configuration]

    /// Creates a configuration.
    public init(control: PostgresClient.Configuration, shards: [PostgresClient.Configuration]) {
        self.control = control
        self.shards = shards
    }

    /// Reads `postgres.*` keys.
    public init(config: ServiceConfig) throws(ConfigError) {
        let poolSize = try config.int(.postgresPoolSize, in: 1...1000)
        func parse(_ url: String, _ key: ConfigKey) throws(ConfigError) -> PostgresClient.Configuration {
            do {
                var configuration = try PostgresURL.parse(url)
                configuration.options.maximumConnections = poolSize
                return configuration
            } catch {
                throw ConfigError(key: key, reason: error.description)
            }
        }
        control = try parse(try config.string(.postgresControlURL), .postgresControlURL)
        shards = []
        for url in try config.list(.postgresShards) { shards.append(try parse(url, .postgresShards)) }
        guard !shards.isEmpty else { throw ConfigError(key: .postgresShards, reason: "at least one shard is required") }
    }
}

/// Parses `postgres://user:password@host:port/database?sslmode=…` URLs.
public enum PostgresURL {
    /// A URL that cannot be used; the message never repeats the password.
    public struct ParseError: Error, Sendable, CustomStringConvertible {
        public let description: String
    }

    /// Parses a URL into a client configuration.
    public static func parse(_ text: String) throws(ParseError) -> PostgresClient.Configuration {
        guard let components = URLComponents(string: text),
              components.scheme == "postgres" || components.scheme == "postgresql" else {
            throw ParseError(description: "not a postgres:// URL")
        }
        guard let host = components.host, !host.isEmpty else { throw ParseError(description: "missing host") }
        guard let user = components.user, !user.isEmpty else { throw ParseError(description: "missing user") }
        let database = String(components.path.drop { $0 == "/" })
        guard !database.isEmpty else { throw ParseError(description: "missing database name") }
        let sslMode = components.queryItems?.first { $0.name == "sslmode" }?.value ?? "disable"
        let tls: PostgresClient.Configuration.TLS
        switch sslMode {
        case "disable": tls = .disable
        case "prefer": tls = .prefer(.makeClientConfiguration())
        case "require", "verify-full": tls = .require(.makeClientConfiguration())
        default: throw ParseError(description: "unsupported sslmode \(sslMode)")
        }
        return PostgresClient.Configuration(
            host: host, port: components.port ?? 5432, username: user,
            password: components.password?.removingPercentEncoding, database: database, tls: tls)
    }
}
