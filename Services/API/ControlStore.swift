import APIAccess
import Crypto
import Foundation
import Logging
import PostgresNIO
import ShardedPostgres

/// The API's control-plane tables: tenants, users, API keys, the audit log and idempotency
/// records. They live in the control database (they are not per device).
enum APIMigrations {
    static let control = MigrationSet(component: "api", target: .control, migrations: [
        Migration(version: 1, name: "tenants, users, keys, audit, idempotency", statements: [
            """
            CREATE TABLE tenants (
                id text PRIMARY KEY,
                parent_id text REFERENCES tenants (id),
                name text NOT NULL,
                created_at timestamptz NOT NULL DEFAULT now(),
                updated_at timestamptz NOT NULL DEFAULT now(),
                version integer NOT NULL DEFAULT 1)
            """,
            "CREATE INDEX tenants_parent ON tenants (parent_id)",
            """
            CREATE TABLE api_users (
                id text PRIMARY KEY,
                tenant_id text NOT NULL REFERENCES tenants (id),
                name text NOT NULL,
                email text,
                role text NOT NULL,
                disabled boolean NOT NULL DEFAULT false,
                created_at timestamptz NOT NULL DEFAULT now(),
                updated_at timestamptz NOT NULL DEFAULT now(),
                version integer NOT NULL DEFAULT 1)
            """,
            "CREATE INDEX api_users_tenant ON api_users (tenant_id)",
            """
            CREATE TABLE api_keys (
                id text PRIMARY KEY,
                user_id text NOT NULL REFERENCES api_users (id),
                tenant_id text NOT NULL REFERENCES tenants (id),
                role text NOT NULL,
                name text NOT NULL,
                secret_sha256 bytea NOT NULL,
                created_by text NOT NULL,
                created_at timestamptz NOT NULL DEFAULT now(),
                expires_at timestamptz,
                revoked_at timestamptz)
            """,
            "CREATE INDEX api_keys_tenant ON api_keys (tenant_id)",
            """
            CREATE TABLE audit_log (
                id bigserial PRIMARY KEY,
                at timestamptz NOT NULL DEFAULT now(),
                tenant_id text NOT NULL,
                actor text NOT NULL,
                key_id text,
                role text,
                action text NOT NULL,
                method text NOT NULL,
                path text NOT NULL,
                status integer NOT NULL,
                request_id text NOT NULL,
                remote_address text NOT NULL,
                detail text)
            """,
            "CREATE INDEX audit_log_tenant ON audit_log (tenant_id, id)",
            """
            CREATE TABLE api_idempotency (
                tenant_id text NOT NULL,
                key text NOT NULL,
                request_sha256 bytea NOT NULL,
                status integer,
                body bytea,
                location text,
                created_at timestamptz NOT NULL DEFAULT now(),
                PRIMARY KEY (tenant_id, key))
            """,
        ]),
    ])
}

/// A tenant row.
struct TenantRow: Sendable {
    var id: String
    var parentID: String?
    var name: String
    var createdAt: Date
    var updatedAt: Date
    var version: Int
}

/// A user row.
struct UserRow: Sendable {
    var id: String
    var tenantID: String
    var name: String
    var email: String?
    var role: Role
    var disabled: Bool
    var createdAt: Date
    var updatedAt: Date
    var version: Int
}

/// An API key row (never the secret).
struct KeyRow: Sendable {
    var id: String
    var userID: String
    var tenantID: String
    var role: Role
    var name: String
    var createdBy: String
    var createdAt: Date
    var expiresAt: Date?
    var revokedAt: Date?
}

/// An audit log entry.
struct AuditRow: Sendable {
    var id: Int64
    var at: Date
    var tenantID: String
    var actor: String
    var keyID: String?
    var role: String?
    var action: String
    var method: String
    var path: String
    var status: Int
    var requestID: String
    var remoteAddress: String
    var detail: String?
}

/// Reads and writes the control-plane tables.
struct ControlStore: Sendable {
    let client: PostgresClient
    /// The tenant at the top; its callers see every device whatever its tenant.
    let rootTenant: String

    // MARK: Tenants

    /// Creates the root tenant and, given a bootstrap key, its first administrator.
    func bootstrap(key: APIKey?, logger: Logger) async throws {
        try await client.query("""
            INSERT INTO tenants (id, parent_id, name) VALUES (\(rootTenant), NULL, \(rootTenant)) ON CONFLICT (id) DO NOTHING
            """, logger: logger)
        guard let key else { return }
        try await client.query("""
            INSERT INTO api_users (id, tenant_id, name, role) VALUES ('bootstrap-admin', \(rootTenant), 'Bootstrap administrator', 'tenant-admin')
            ON CONFLICT (id) DO NOTHING
            """, logger: logger)
        try await client.query("""
            INSERT INTO api_keys (id, user_id, tenant_id, role, name, secret_sha256, created_by)
            VALUES (\(key.id), 'bootstrap-admin', \(rootTenant), 'tenant-admin', 'bootstrap', \(ByteBuffer(bytes: key.secretHash)), 'bootstrap')
            ON CONFLICT (id) DO UPDATE SET secret_sha256 = EXCLUDED.secret_sha256, revoked_at = NULL
            """, logger: logger)
    }

    /// The IDs of `tenant` and all its descendants.
    func subtree(of tenant: String, logger: Logger) async throws -> [String] {
        let rows = try await client.query("""
            WITH RECURSIVE t(id) AS (
                SELECT id FROM tenants WHERE id = \(tenant)
                UNION SELECT c.id FROM tenants c JOIN t ON c.parent_id = t.id)
            SELECT id FROM t
            """, logger: logger)
        var ids: [String] = []
        for try await id in rows.decode(String.self) { ids.append(id) }
        return ids
    }

    static let tenantColumns = "id, parent_id, name, created_at, updated_at, version"

    func tenant(_ id: String, logger: Logger) async throws -> TenantRow? {
        try await tenants(PostgresQuery(unsafeSQL: "SELECT \(Self.tenantColumns) FROM tenants WHERE id = $1", binds: binds(id)), logger: logger).first
    }

    /// Tenants among `ids` (nil: every tenant), by ID, after `cursor`.
    func tenants(in ids: [String]?, after cursor: String?, limit: Int, logger: Logger) async throws -> [TenantRow] {
        try await tenants(Self.page(Self.tenantColumns, from: "tenants", tenantColumn: "id", tenants: ids, after: cursor, limit: limit), logger: logger)
    }

    /// One page of a table's rows in ID order (bytes, so the cursor means the same everywhere),
    /// limited to the tenants (nil: all). Table and column names come from this file only.
    private static func page(_ columns: String, from table: String, tenantColumn: String, tenants: [String]?, after cursor: String?, limit: Int) -> PostgresQuery {
        var bindings = PostgresBindings()
        bindings.append(cursor ?? "")
        bindings.append(limit)
        bindings.append(tenants)
        return PostgresQuery(unsafeSQL: """
            SELECT \(columns) FROM \(table) WHERE id COLLATE "C" > $1 AND ($3::text[] IS NULL OR \(tenantColumn) = ANY($3))
            ORDER BY id COLLATE "C" LIMIT $2
            """, binds: bindings)
    }

    private func tenants(_ query: PostgresQuery, logger: Logger) async throws -> [TenantRow] {
        var result: [TenantRow] = []
        for try await (id, parent, name, created, updated, version) in try await client.query(query, logger: logger)
            .decode((String, String?, String, Date, Date, Int).self) {
            result.append(TenantRow(id: id, parentID: parent, name: name, createdAt: created, updatedAt: updated, version: version))
        }
        return result
    }

    /// Inserts a tenant; false when the ID is taken.
    func createTenant(id: String, parent: String, name: String, logger: Logger) async throws -> Bool {
        let rows = try await client.query("""
            INSERT INTO tenants (id, parent_id, name) VALUES (\(id), \(parent), \(name)) ON CONFLICT (id) DO NOTHING RETURNING id
            """, logger: logger)
        for try await _ in rows { return true }
        return false
    }

    /// Renames a tenant if its version is `expected` (nil: any); nil when the version differs.
    func renameTenant(_ id: String, name: String, expected: Int?, logger: Logger) async throws -> TenantRow? {
        try await tenants(PostgresQuery(unsafeSQL: """
            UPDATE tenants SET name = $2, version = version + 1, updated_at = now()
            WHERE id = $1 AND ($3::integer IS NULL OR version = $3) RETURNING \(Self.tenantColumns)
            """, binds: binds(id, name, expected)), logger: logger).first
    }

    // MARK: Users

    static let userColumns = "id, tenant_id, name, email, role, disabled, created_at, updated_at, version"

    func user(_ id: String, logger: Logger) async throws -> UserRow? {
        try await users(PostgresQuery(unsafeSQL: "SELECT \(Self.userColumns) FROM api_users WHERE id = $1", binds: binds(id)), logger: logger).first
    }

    func users(in tenants: [String]?, after cursor: String?, limit: Int, logger: Logger) async throws -> [UserRow] {
        try await users(Self.page(Self.userColumns, from: "api_users", tenantColumn: "tenant_id", tenants: tenants, after: cursor, limit: limit), logger: logger)
    }

    private func users(_ query: PostgresQuery, logger: Logger) async throws -> [UserRow] {
        var result: [UserRow] = []
        for try await (id, tenant, name, email, role, disabled, created, updated, version) in try await client.query(query, logger: logger)
            .decode((String, String, String, String?, String, Bool, Date, Date, Int).self) {
            result.append(UserRow(id: id, tenantID: tenant, name: name, email: email, role: Role(rawValue: role) ?? .auditor,
                                  disabled: disabled, createdAt: created, updatedAt: updated, version: version))
        }
        return result
    }

    func createUser(id: String, tenant: String, name: String, email: String?, role: Role, logger: Logger) async throws -> Bool {
        let rows = try await client.query("""
            INSERT INTO api_users (id, tenant_id, name, email, role) VALUES (\(id), \(tenant), \(name), \(email), \(role.rawValue))
            ON CONFLICT (id) DO NOTHING RETURNING id
            """, logger: logger)
        for try await _ in rows { return true }
        return false
    }

    /// Changes a user if its version is `expected` (nil: any); disabling revokes nothing but
    /// makes every key of the user fail.
    func updateUser(_ id: String, name: String?, email: String?, role: Role?, disabled: Bool?, expected: Int?, logger: Logger) async throws -> UserRow? {
        var bindings = PostgresBindings()
        bindings.append(id)
        bindings.append(name)
        bindings.append(email)
        bindings.append(role?.rawValue)
        bindings.append(disabled)
        bindings.append(expected)
        return try await users(PostgresQuery(unsafeSQL: """
            UPDATE api_users SET name = coalesce($2, name), email = coalesce($3, email), role = coalesce($4, role),
                disabled = coalesce($5, disabled), version = version + 1, updated_at = now()
            WHERE id = $1 AND ($6::integer IS NULL OR version = $6) RETURNING \(Self.userColumns)
            """, binds: bindings), logger: logger).first
    }

    // MARK: Keys

    static let keyColumns = "id, user_id, tenant_id, role, name, created_by, created_at, expires_at, revoked_at"

    /// The caller a presented key stands for, or nil (unknown, wrong secret, revoked, expired,
    /// user disabled).
    func authenticate(_ key: APIKey, now: Date, logger: Logger) async throws -> Caller? {
        let rows = try await client.query("""
            SELECT k.user_id, k.tenant_id, k.role, k.secret_sha256, k.expires_at, k.revoked_at, u.disabled
            FROM api_keys k JOIN api_users u ON u.id = k.user_id WHERE k.id = \(key.id)
            """, logger: logger)
        for try await (user, tenant, role, hash, expires, revoked, disabled) in rows.decode((String, String, String, ByteBuffer, Date?, Date?, Bool).self) {
            guard key.matches(storedHash: Array(buffer: hash)), revoked == nil, !disabled, expires.map({ $0 > now }) ?? true,
                  let role = Role(rawValue: role) else { return nil }
            return Caller(userID: user, tenantID: tenant, role: role, keyID: key.id)
        }
        return nil
    }

    func key(_ id: String, logger: Logger) async throws -> KeyRow? {
        try await keys(PostgresQuery(unsafeSQL: "SELECT \(Self.keyColumns) FROM api_keys WHERE id = $1", binds: binds(id)), logger: logger).first
    }

    func keys(in tenants: [String]?, after cursor: String?, limit: Int, logger: Logger) async throws -> [KeyRow] {
        try await keys(Self.page(Self.keyColumns, from: "api_keys", tenantColumn: "tenant_id", tenants: tenants, after: cursor, limit: limit), logger: logger)
    }

    private func keys(_ query: PostgresQuery, logger: Logger) async throws -> [KeyRow] {
        var result: [KeyRow] = []
        for try await (id, user, tenant, role, name, by, created, expires, revoked) in try await client.query(query, logger: logger)
            .decode((String, String, String, String, String, String, Date, Date?, Date?).self) {
            result.append(KeyRow(id: id, userID: user, tenantID: tenant, role: Role(rawValue: role) ?? .auditor, name: name,
                                 createdBy: by, createdAt: created, expiresAt: expires, revokedAt: revoked))
        }
        return result
    }

    func createKey(_ key: APIKey, user: UserRow, role: Role, name: String, expiresAt: Date?, createdBy: String, logger: Logger) async throws -> KeyRow {
        try await keys(PostgresQuery(unsafeSQL: """
            INSERT INTO api_keys (id, user_id, tenant_id, role, name, secret_sha256, created_by, expires_at)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING \(Self.keyColumns)
            """, binds: {
                var b = PostgresBindings()
                b.append(key.id); b.append(user.id); b.append(user.tenantID); b.append(role.rawValue); b.append(name)
                b.append(ByteBuffer(bytes: key.secretHash)); b.append(createdBy); b.append(expiresAt)
                return b
            }()), logger: logger)[0]
    }

    func revokeKey(_ id: String, logger: Logger) async throws -> KeyRow? {
        try await keys(PostgresQuery(unsafeSQL: """
            UPDATE api_keys SET revoked_at = coalesce(revoked_at, now()) WHERE id = $1 RETURNING \(Self.keyColumns)
            """, binds: binds(id)), logger: logger).first
    }

    // MARK: Audit

    func audit(_ entry: AuditRow, logger: Logger) async throws {
        try await client.query("""
            INSERT INTO audit_log (tenant_id, actor, key_id, role, action, method, path, status, request_id, remote_address, detail)
            VALUES (\(entry.tenantID), \(entry.actor), \(entry.keyID), \(entry.role), \(entry.action), \(entry.method), \(entry.path),
                    \(entry.status), \(entry.requestID), \(entry.remoteAddress), \(entry.detail))
            """, logger: logger)
    }

    /// Entries of the tenants (nil: all), newest first, before `cursor` (an entry ID).
    func auditLog(in tenants: [String]?, before cursor: Int64?, actor: String?, action: String?, from: Date?, to: Date?, limit: Int,
                  logger: Logger) async throws -> [AuditRow] {
        var bindings = PostgresBindings()
        bindings.append(cursor ?? Int64.max)
        bindings.append(limit)
        bindings.append(tenants)
        bindings.append(actor)
        bindings.append(action)
        bindings.append(from)
        bindings.append(to)
        let rows = try await client.query(PostgresQuery(unsafeSQL: """
            SELECT id, at, tenant_id, actor, key_id, role, action, method, path, status, request_id, remote_address, detail
            FROM audit_log WHERE id < $1 AND ($3::text[] IS NULL OR tenant_id = ANY($3)) AND ($4::text IS NULL OR actor = $4)
                AND ($5::text IS NULL OR action = $5) AND ($6::timestamptz IS NULL OR at >= $6) AND ($7::timestamptz IS NULL OR at <= $7)
            ORDER BY id DESC LIMIT $2
            """, binds: bindings), logger: logger)
        var result: [AuditRow] = []
        for try await row in rows {
            let c = row.makeRandomAccess()
            result.append(AuditRow(
                id: try c[0].decode(Int64.self), at: try c[1].decode(Date.self), tenantID: try c[2].decode(String.self),
                actor: try c[3].decode(String.self), keyID: try c[4].decode(String?.self), role: try c[5].decode(String?.self),
                action: try c[6].decode(String.self), method: try c[7].decode(String.self), path: try c[8].decode(String.self),
                status: try c[9].decode(Int.self), requestID: try c[10].decode(String.self), remoteAddress: try c[11].decode(String.self),
                detail: try c[12].decode(String?.self)))
        }
        return result
    }

    // MARK: Idempotency

    /// What an idempotency key already holds.
    enum Reservation {
        /// The key is new and now reserved for this request.
        case reserved
        /// The same request already completed: its response.
        case replay(status: Int, body: [UInt8], location: String?)
        /// The same request is still being handled.
        case inFlight
        /// The key was used for a different request.
        case mismatch
    }

    func reserve(tenant: String, key: String, request: [UInt8], logger: Logger) async throws -> Reservation {
        let hash = ByteBuffer(bytes: Array(SHA256.hash(data: request)))
        let inserted = try await client.query("""
            INSERT INTO api_idempotency (tenant_id, key, request_sha256) VALUES (\(tenant), \(key), \(hash))
            ON CONFLICT (tenant_id, key) DO NOTHING RETURNING 1
            """, logger: logger)
        for try await _ in inserted { return .reserved }
        let rows = try await client.query("""
            SELECT request_sha256, status, body, location FROM api_idempotency WHERE tenant_id = \(tenant) AND key = \(key)
            """, logger: logger)
        for try await (stored, status, body, location) in rows.decode((ByteBuffer, Int?, ByteBuffer?, String?).self) {
            guard stored == hash else { return .mismatch }
            guard let status, let body else { return .inFlight }
            return .replay(status: status, body: Array(buffer: body), location: location)
        }
        return .inFlight
    }

    func complete(tenant: String, key: String, status: Int, body: [UInt8], location: String?, logger: Logger) async throws {
        try await client.query("""
            UPDATE api_idempotency SET status = \(status), body = \(ByteBuffer(bytes: body)), location = \(location)
            WHERE tenant_id = \(tenant) AND key = \(key)
            """, logger: logger)
    }

    /// Frees a reservation whose request failed, so the client may retry with the same key.
    func release(tenant: String, key: String, logger: Logger) async throws {
        try await client.query("DELETE FROM api_idempotency WHERE tenant_id = \(tenant) AND key = \(key) AND status IS NULL", logger: logger)
    }

    /// Forgets idempotency records older than `age`.
    func pruneIdempotency(olderThan age: TimeInterval, logger: Logger) async throws {
        try await client.query("DELETE FROM api_idempotency WHERE created_at < now() - make_interval(secs => \(age))", logger: logger)
    }

    private func binds(_ values: (any PostgresDynamicTypeEncodable & Sendable)?...) -> PostgresBindings {
        var bindings = PostgresBindings()
        for value in values {
            if let value { bindings.append(value) } else { bindings.appendNull() }
        }
        return bindings
    }
}
