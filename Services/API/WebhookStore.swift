import Foundation
import Logging
import PostgresNIO
import ShardedPostgres

/// Webhook subscriptions and their delivery queue, in the control database.
enum WebhookMigrations {
    static let control = MigrationSet(component: "api-webhooks", target: .control, migrations: [
        Migration(version: 1, name: "webhook subscriptions and deliveries", statements: [
            """
            CREATE TABLE webhook_subscriptions (
                id text PRIMARY KEY,
                tenant_id text NOT NULL REFERENCES tenants (id),
                url text NOT NULL,
                secret text NOT NULL,
                events text[] NOT NULL,
                paths text[] NOT NULL DEFAULT '{}',
                active boolean NOT NULL DEFAULT true,
                created_by text NOT NULL,
                created_at timestamptz NOT NULL DEFAULT now(),
                updated_at timestamptz NOT NULL DEFAULT now(),
                version integer NOT NULL DEFAULT 1)
            """,
            "CREATE INDEX webhook_subscriptions_tenant ON webhook_subscriptions (tenant_id)",
            """
            CREATE TABLE webhook_deliveries (
                id bigserial PRIMARY KEY,
                subscription_id text NOT NULL REFERENCES webhook_subscriptions (id) ON DELETE CASCADE,
                event_id text NOT NULL,
                event_type text NOT NULL,
                payload bytea NOT NULL,
                state text NOT NULL DEFAULT 'pending',
                attempts integer NOT NULL DEFAULT 0,
                next_attempt_at timestamptz NOT NULL DEFAULT now(),
                last_status integer,
                last_error text,
                created_at timestamptz NOT NULL DEFAULT now(),
                delivered_at timestamptz,
                UNIQUE (subscription_id, event_id))
            """,
            "CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at) WHERE state = 'pending'",
            "CREATE INDEX webhook_deliveries_subscription ON webhook_deliveries (subscription_id, id)",
            // Where the bulk-operation watcher got to (a single row).
            "CREATE TABLE webhook_bulk_cursor (id integer PRIMARY KEY CHECK (id = 1), finished_after timestamptz NOT NULL)",
        ]),
    ])
}

/// The event types a subscription can ask for.
enum WebhookEventType: String, CaseIterable, Sendable {
    case deviceOnline = "device.online"
    case deviceOffline = "device.offline"
    case parameterChanged = "parameter.changed"
    case commandCompleted = "command.completed"
    case bulkOperationFinished = "bulk-operation.finished"
}

struct WebhookRow: Sendable {
    var id: String
    var tenantID: String
    var url: String
    var secret: String
    var events: [String]
    var paths: [String]
    var active: Bool
    var createdBy: String
    var createdAt: Date
    var updatedAt: Date
    var version: Int
}

struct DeliveryRow: Sendable {
    var id: Int64
    var subscriptionID: String
    var eventID: String
    var eventType: String
    var payload: [UInt8]
    var state: String
    var attempts: Int
    var nextAttemptAt: Date
    var lastStatus: Int?
    var lastError: String?
    var createdAt: Date
    var deliveredAt: Date?
}

struct WebhookStore: Sendable {
    let client: PostgresClient

    static let columns = "id, tenant_id, url, secret, events, paths, active, created_by, created_at, updated_at, version"

    func create(_ row: WebhookRow, logger: Logger) async throws {
        try await client.query("""
            INSERT INTO webhook_subscriptions (id, tenant_id, url, secret, events, paths, active, created_by)
            VALUES (\(row.id), \(row.tenantID), \(row.url), \(row.secret), \(row.events), \(row.paths), \(row.active), \(row.createdBy))
            """, logger: logger)
    }

    func subscription(_ id: String, logger: Logger) async throws -> WebhookRow? {
        var bindings = PostgresBindings()
        bindings.append(id)
        return try await rows(PostgresQuery(unsafeSQL: "SELECT \(Self.columns) FROM webhook_subscriptions WHERE id = $1", binds: bindings), logger: logger).first
    }

    /// Subscriptions of the tenants (nil: all), by ID.
    func subscriptions(in tenants: [String]?, activeOnly: Bool = false, logger: Logger) async throws -> [WebhookRow] {
        var bindings = PostgresBindings()
        bindings.append(tenants)
        bindings.append(activeOnly)
        return try await rows(PostgresQuery(unsafeSQL: """
            SELECT \(Self.columns) FROM webhook_subscriptions
            WHERE ($1::text[] IS NULL OR tenant_id = ANY($1)) AND (NOT $2 OR active) ORDER BY id
            """, binds: bindings), logger: logger)
    }

    func update(_ id: String, url: String?, events: [String]?, paths: [String]?, active: Bool?, expected: Int?, logger: Logger) async throws -> WebhookRow? {
        var bindings = PostgresBindings()
        bindings.append(id)
        bindings.append(url)
        bindings.append(events)
        bindings.append(paths)
        bindings.append(active)
        bindings.append(expected)
        return try await rows(PostgresQuery(unsafeSQL: """
            UPDATE webhook_subscriptions SET url = coalesce($2, url), events = coalesce($3, events), paths = coalesce($4, paths),
                active = coalesce($5, active), version = version + 1, updated_at = now()
            WHERE id = $1 AND ($6::integer IS NULL OR version = $6) RETURNING \(Self.columns)
            """, binds: bindings), logger: logger).first
    }

    func delete(_ id: String, logger: Logger) async throws {
        try await client.query("DELETE FROM webhook_subscriptions WHERE id = \(id)", logger: logger)
    }

    private func rows(_ query: PostgresQuery, logger: Logger) async throws -> [WebhookRow] {
        var result: [WebhookRow] = []
        for try await row in try await client.query(query, logger: logger) {
            let c = row.makeRandomAccess()
            result.append(WebhookRow(
                id: try c[0].decode(String.self), tenantID: try c[1].decode(String.self), url: try c[2].decode(String.self),
                secret: try c[3].decode(String.self), events: try c[4].decode([String].self), paths: try c[5].decode([String].self),
                active: try c[6].decode(Bool.self), createdBy: try c[7].decode(String.self), createdAt: try c[8].decode(Date.self),
                updatedAt: try c[9].decode(Date.self), version: try c[10].decode(Int.self)))
        }
        return result
    }

    // MARK: Deliveries

    /// Queues events; an event already queued for a subscription is not queued again (redelivered
    /// Kafka records change nothing).
    func enqueue(_ deliveries: [(subscription: String, eventID: String, type: String, payload: [UInt8])], logger: Logger) async throws {
        guard !deliveries.isEmpty else { return }
        let payloads = deliveries.map { $0.payload.map { String(format: "%02x", $0) }.joined() }
        try await client.query("""
            INSERT INTO webhook_deliveries (subscription_id, event_id, event_type, payload)
            SELECT s, e, t, decode(p, 'hex')
            FROM unnest(\(deliveries.map(\.subscription))::text[], \(deliveries.map(\.eventID))::text[], \(deliveries.map(\.type))::text[],
                        \(payloads)::text[]) AS x(s, e, t, p)
            ON CONFLICT (subscription_id, event_id) DO NOTHING
            """, logger: logger)
    }

    /// Claims up to `limit` due deliveries for `lease` (another pod skips them meanwhile).
    func claim(limit: Int, lease: TimeInterval, logger: Logger) async throws -> [(DeliveryRow, url: String, secret: String)] {
        let rows = try await client.query("""
            UPDATE webhook_deliveries d SET next_attempt_at = now() + make_interval(secs => \(lease)), attempts = d.attempts + 1
            FROM webhook_subscriptions s
            WHERE s.id = d.subscription_id AND d.id IN (
                SELECT id FROM webhook_deliveries WHERE state = 'pending' AND next_attempt_at <= now()
                ORDER BY next_attempt_at LIMIT \(limit) FOR UPDATE SKIP LOCKED)
            RETURNING d.id, d.subscription_id, d.event_id, d.event_type, d.payload, d.attempts, d.created_at, s.url, s.secret, s.active
            """, logger: logger)
        var result: [(DeliveryRow, url: String, secret: String)] = []
        for try await row in rows {
            let c = row.makeRandomAccess()
            guard try c[9].decode(Bool.self) else { continue }
            let delivery = DeliveryRow(
                id: try c[0].decode(Int64.self), subscriptionID: try c[1].decode(String.self), eventID: try c[2].decode(String.self),
                eventType: try c[3].decode(String.self), payload: Array(buffer: try c[4].decode(ByteBuffer.self)), state: "pending",
                attempts: try c[5].decode(Int.self), nextAttemptAt: Date(), lastStatus: nil, lastError: nil, createdAt: try c[6].decode(Date.self),
                deliveredAt: nil)
            result.append((delivery, try c[7].decode(String.self), try c[8].decode(String.self)))
        }
        return result
    }

    func delivered(_ id: Int64, status: Int, logger: Logger) async throws {
        try await client.query("""
            UPDATE webhook_deliveries SET state = 'delivered', delivered_at = now(), last_status = \(status), last_error = NULL WHERE id = \(id)
            """, logger: logger)
    }

    /// A failed attempt: retried after `retryAfter`, or given up (`failed`) when nil.
    func attemptFailed(_ id: Int64, status: Int?, error: String, retryAfter: TimeInterval?, logger: Logger) async throws {
        try await client.query("""
            UPDATE webhook_deliveries SET last_status = \(status), last_error = \(error),
                state = CASE WHEN \(retryAfter == nil) THEN 'failed' ELSE 'pending' END,
                next_attempt_at = now() + make_interval(secs => \(retryAfter ?? 0))
            WHERE id = \(id)
            """, logger: logger)
    }

    func deliveries(subscription: String, limit: Int, logger: Logger) async throws -> [DeliveryRow] {
        let rows = try await client.query("""
            SELECT id, subscription_id, event_id, event_type, payload, state, attempts, next_attempt_at, last_status, last_error, created_at, delivered_at
            FROM webhook_deliveries WHERE subscription_id = \(subscription) ORDER BY id DESC LIMIT \(limit)
            """, logger: logger)
        var result: [DeliveryRow] = []
        for try await row in rows {
            let c = row.makeRandomAccess()
            result.append(DeliveryRow(
                id: try c[0].decode(Int64.self), subscriptionID: try c[1].decode(String.self), eventID: try c[2].decode(String.self),
                eventType: try c[3].decode(String.self), payload: Array(buffer: try c[4].decode(ByteBuffer.self)), state: try c[5].decode(String.self),
                attempts: try c[6].decode(Int.self), nextAttemptAt: try c[7].decode(Date.self), lastStatus: try c[8].decode(Int?.self),
                lastError: try c[9].decode(String?.self), createdAt: try c[10].decode(Date.self), deliveredAt: try c[11].decode(Date?.self)))
        }
        return result
    }

    // MARK: Bulk operations finished

    /// Bulk operations that finished after the stored cursor (first call: from now on), and
    /// moves the cursor past them.
    func finishedBulkOperations(logger: Logger) async throws -> [(id: String, tenant: String, state: String, matched: Int, queued: Int, finishedAt: Date)] {
        try await client.query("INSERT INTO webhook_bulk_cursor (id, finished_after) VALUES (1, now()) ON CONFLICT (id) DO NOTHING", logger: logger)
        let rows = try await client.query("""
            SELECT b.id, b.tenant_id, b.state, b.matched, b.queued, b.finished_at FROM bulk_operations b, webhook_bulk_cursor c
            WHERE c.id = 1 AND b.finished_at > c.finished_after ORDER BY b.finished_at LIMIT 500
            """, logger: logger)
        var result: [(id: String, tenant: String, state: String, matched: Int, queued: Int, finishedAt: Date)] = []
        for try await (id, tenant, state, matched, queued, at) in rows.decode((String, String, String, Int, Int, Date).self) {
            result.append((id, tenant, state, matched, queued, at))
        }
        return result
    }

    func advanceBulkCursor(to time: Date, logger: Logger) async throws {
        try await client.query("UPDATE webhook_bulk_cursor SET finished_after = greatest(finished_after, \(time)) WHERE id = 1", logger: logger)
    }
}
