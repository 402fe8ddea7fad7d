import Logging
import PostgresNIO

/// One schema change: constant DDL statements applied together, at most once per database.
public struct Migration: Sendable {
    /// Position in its set; applied in increasing order.
    public let version: Int
    /// Short description, recorded in `schema_migrations`.
    public let name: String
    /// Statements, run one by one inside the migration's transaction.
    public let statements: [String]

    /// Creates a migration.
    public init(version: Int, name: String, statements: [String]) {
        self.version = version
        self.name = name
        self.statements = statements
    }

    /// FNV-1a over the statements: an applied migration whose text changed is refused.
    var checksum: String {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in statements.joined(separator: "\n;\n").utf8 {
            hash ^= UInt64(byte)
            hash = hash &* 0x100_0000_01b3
        }
        return String(hash, radix: 16)
    }
}

/// The migrations of one component (e.g. "platform", "twin-store") for one kind of database.
public struct MigrationSet: Sendable {
    /// Which databases a set belongs to.
    public enum Target: String, Sendable {
        /// The control database.
        case control
        /// Every shard database.
        case shard
    }
    /// Component that owns these tables.
    public let component: String
    /// Control or shard.
    public let target: Target
    /// The migrations, in any order (sorted by version when applied).
    public let migrations: [Migration]

    /// Creates a set.
    public init(component: String, target: Target, migrations: [Migration]) {
        self.component = component
        self.target = target
        self.migrations = migrations
    }
}

/// A migration that cannot be applied.
public struct MigrationError: Error, Sendable, CustomStringConvertible {
    /// Why.
    public let message: String
    public var description: String { "MigrationError: \(message)" }
}

/// Applies migration sets, serialised across processes by a PostgreSQL advisory lock.
public enum Migrator {
    /// Key of the advisory lock every Twinfleet process takes while migrating a database.
    static let lockKey: Int64 = 0x7477_696e_666c_7401

    /// Applies what is not yet applied, each set in one transaction; returns the versions applied now.
    @discardableResult
    public static func apply(_ set: MigrationSet, on client: PostgresClient, logger: Logger) async throws -> [Int] {
        let sorted = set.migrations.sorted { $0.version < $1.version }
        guard Set(sorted.map(\.version)).count == sorted.count else {
            throw MigrationError(message: "\(set.component): duplicate migration versions")
        }
        return try await client.transaction(logger: logger) { connection in
            try await connection.query("SELECT pg_advisory_xact_lock(\(lockKey))", logger: logger)
            try await connection.query("""
                CREATE TABLE IF NOT EXISTS schema_migrations (
                    component text NOT NULL,
                    version integer NOT NULL,
                    name text NOT NULL,
                    checksum text NOT NULL,
                    applied_at timestamptz NOT NULL DEFAULT now(),
                    PRIMARY KEY (component, version))
                """, logger: logger)
            var applied: [Int: String] = [:]
            let rows = try await connection.query(
                "SELECT version, checksum FROM schema_migrations WHERE component = \(set.component)", logger: logger)
            for try await (version, checksum) in rows.decode((Int, String).self) { applied[version] = checksum }
            var newlyApplied: [Int] = []
            for migration in sorted {
                if let checksum = applied[migration.version] {
                    guard checksum == migration.checksum else {
                        throw MigrationError(message: "\(set.component) v\(migration.version) (\(migration.name)) was changed after it was applied")
                    }
                    continue
                }
                for statement in migration.statements {
                    try await connection.query(PostgresQuery(unsafeSQL: statement), logger: logger)
                }
                try await connection.query("""
                    INSERT INTO schema_migrations (component, version, name, checksum)
                    VALUES (\(set.component), \(migration.version), \(migration.name), \(migration.checksum))
                    """, logger: logger)
                newlyApplied.append(migration.version)
                logger.info("migration applied", metadata: ["component": "\(set.component)", "version": "\(migration.version)", "name": "\(migration.name)"])
            }
            return newlyApplied
        }
    }
}
