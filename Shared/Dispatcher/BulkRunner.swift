import BusContracts
import FleetQuery
import Foundation
import Kafka
import Logging
import PostgresNIO
import ServiceLifecycle
import ShardedPostgres
import SwiftProtobuf
import Twin

/// Bulk operations live in the control database (they are not per device).
public enum BulkMigrations {
    public static let control = MigrationSet(component: "bulk-operations", target: .control, migrations: [
        Migration(version: 1, name: "bulk operations", statements: [
            """
            CREATE TABLE bulk_operations (
                id text PRIMARY KEY,
                tenant_id text NOT NULL,
                query text NOT NULL,
                template bytea NOT NULL,
                rate_per_second integer NOT NULL,
                window_start_minute integer,
                window_end_minute integer,
                state text NOT NULL,
                matched integer NOT NULL DEFAULT 0,
                queued integer NOT NULL DEFAULT 0,
                cursor text,
                requested_by text NOT NULL DEFAULT '',
                created_at timestamptz NOT NULL,
                updated_at timestamptz NOT NULL DEFAULT now(),
                finished_at timestamptz)
            """,
            "CREATE INDEX bulk_operations_running ON bulk_operations (created_at) WHERE state = 'running'",
        ]),
    ])
}

/// Reads and writes bulk operations in the control database.
public struct BulkStore: Sendable {
    let postgres: ShardedPostgres

    public init(postgres: ShardedPostgres) {
        self.postgres = postgres
    }

    /// Records a new operation (state running; the runner picks it up). The query is checked
    /// first and the matching devices counted.
    public func create(_ operation: BulkOperation, logger: Logger) async throws -> BulkOperation {
        var operation = operation
        let filter = try FleetFilter(parsing: operation.query)
        operation.matched = try await TwinReader(postgres: postgres).fleetCount(filter, logger: logger)
        let template = ByteBuffer(bytes: try operation.template.serializedBytes() as [UInt8])
        try await postgres.control.query("""
            INSERT INTO bulk_operations (id, tenant_id, query, template, rate_per_second, window_start_minute, window_end_minute,
                state, matched, requested_by, created_at)
            VALUES (\(operation.id), \(operation.tenantID), \(operation.query), \(template), \(operation.ratePerSecond),
                \(operation.window?.startMinute), \(operation.window?.endMinute), \(operation.state.rawValue), \(operation.matched),
                \(operation.requestedBy), \(operation.createdAt))
            """, logger: logger)
        return operation
    }

    public func load(_ id: String, logger: Logger) async throws -> BulkOperation? {
        try await load(where: "id = $1", id, logger: logger).first
    }

    /// Operations still fanning out, oldest first.
    public func running(logger: Logger) async throws -> [BulkOperation] {
        try await load(where: "state = $1", BulkState.running.rawValue, logger: logger)
    }

    public func cancel(_ id: String, logger: Logger) async throws {
        try await postgres.control.query("""
            UPDATE bulk_operations SET state = 'cancelled', finished_at = now(), updated_at = now()
            WHERE id = \(id) AND state IN ('running', 'paused')
            """, logger: logger)
    }

    /// Stops a running operation until ``resume(_:logger:)``; the runner skips it meanwhile.
    public func pause(_ id: String, logger: Logger) async throws {
        try await postgres.control.query("""
            UPDATE bulk_operations SET state = 'paused', updated_at = now() WHERE id = \(id) AND state = 'running'
            """, logger: logger)
    }

    /// Lets a paused operation go on from where it stopped.
    public func resume(_ id: String, logger: Logger) async throws {
        try await postgres.control.query("""
            UPDATE bulk_operations SET state = 'running', updated_at = now() WHERE id = \(id) AND state = 'paused'
            """, logger: logger)
    }

    /// Operations of the tenants (nil: all), newest first, at most `limit`, created before the
    /// operation `cursor` (an ID), if given.
    public func list(tenants: [String]?, after cursor: String?, limit: Int, logger: Logger) async throws -> [BulkOperation] {
        var ids: [String] = []
        let rows = try await postgres.control.query("""
            SELECT id FROM bulk_operations
            WHERE (\(tenants)::text[] IS NULL OR tenant_id = ANY(\(tenants)::text[]))
              AND (\(cursor)::text IS NULL OR (created_at, id) < (SELECT created_at, id FROM bulk_operations WHERE id = \(cursor)))
            ORDER BY created_at DESC, id DESC LIMIT \(limit)
            """, logger: logger)
        for try await id in rows.decode(String.self) { ids.append(id) }
        var operations: [BulkOperation] = []
        for id in ids { if let operation = try await load(id, logger: logger) { operations.append(operation) } }
        return operations
    }

    /// Stores progress after a page was queued; `completed` when the last page was.
    func advance(_ id: String, queued: Int, cursor: String?, completed: Bool, logger: Logger) async throws {
        try await postgres.control.query("""
            UPDATE bulk_operations SET queued = queued + \(queued), cursor = \(cursor), updated_at = now(),
                state = CASE WHEN \(completed) THEN 'completed' ELSE state END,
                finished_at = CASE WHEN \(completed) THEN now() ELSE finished_at END
            WHERE id = \(id) AND state = 'running'
            """, logger: logger)
    }

    private func load(where condition: String, _ value: String, logger: Logger) async throws -> [BulkOperation] {
        var bindings = PostgresBindings()
        bindings.append(value)
        let rows = try await postgres.control.query(PostgresQuery(unsafeSQL: """
            SELECT id, tenant_id, query, template, rate_per_second, window_start_minute, window_end_minute, state, matched, queued,
                   cursor, requested_by, created_at, finished_at
            FROM bulk_operations WHERE \(condition) ORDER BY created_at, id
            """, binds: bindings), logger: logger)
        var operations: [BulkOperation] = []
        for try await row in rows {
            let c = row.makeRandomAccess()
            let template = try Twinfleet_Bus_V1_Command(serializedBytes: Array(buffer: try c[3].decode(ByteBuffer.self)))
            var window: MaintenanceWindow?
            if let start = try c[5].decode(Int32?.self), let end = try c[6].decode(Int32?.self) {
                window = MaintenanceWindow(startMinute: Int(start), endMinute: Int(end))
            }
            var operation = BulkOperation(
                id: try c[0].decode(String.self), tenantID: try c[1].decode(String.self), query: try c[2].decode(String.self),
                template: template, ratePerSecond: Int(try c[4].decode(Int32.self)), window: window,
                requestedBy: try c[11].decode(String.self), createdAt: try c[12].decode(Date.self))
            operation.state = BulkState(rawValue: try c[7].decode(String.self)) ?? .cancelled
            operation.matched = Int(try c[8].decode(Int32.self))
            operation.queued = Int(try c[9].decode(Int32.self))
            operation.cursor = try c[10].decode(String?.self)
            operation.finishedAt = try c[13].decode(Date?.self)
            operations.append(operation)
        }
        return operations
    }

    /// Commands of an operation by twin status (`queued`, `delivered`, `succeeded`, …), summed
    /// over every shard.
    public func progress(_ id: String, logger: Logger) async throws -> [String: Int] {
        var counts: [String: Int] = [:]
        for shard in postgres.shards {
            let rows = try await shard.query("""
                SELECT status, count(*)::int FROM device_commands WHERE bulk_operation_id = \(id) GROUP BY status
                """, logger: logger)
            for try await (status, count) in rows.decode((String, Int).self) { counts[status, default: 0] += count }
        }
        return counts
    }
}

/// Fans running bulk operations out into per-device commands on `cpe.commands.v1`, each at
/// its rate and only inside its window. One runner works at a time (an advisory lock in the
/// control database); progress (the fleet cursor) is stored after each page is acknowledged by
/// Kafka, so a restart re-queues at most one page, whose commands keep their IDs and are dropped
/// as duplicates by the dispatcher.
public final class BulkRunner: Service, Sendable {
    let postgres: ShardedPostgres
    let producer: KafkaProducer
    let commandsTopic: String
    let interval: Duration
    let logger: Logger
    private let clock: @Sendable () -> Date

    static let lockKey: Int64 = 0x7477_6275_6c6b_0001

    public init(postgres: ShardedPostgres, producer: KafkaProducer, commandsTopic: String = Topic.commands,
                interval: Duration = .milliseconds(200), logger: Logger, clock: @escaping @Sendable () -> Date = { Date() }) {
        self.postgres = postgres
        self.producer = producer
        self.commandsTopic = commandsTopic
        self.interval = interval
        self.logger = logger
        self.clock = clock
    }

    public func run() async throws {
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            do {
                let led = try await withAdvisoryLeadership(postgres.control, key: Self.lockKey, logger: logger) { _ in try await lead() }
                if !led { try await Task.sleep(for: .seconds(2)) }
            } catch is CancellationError {
                return
            } catch {
                logger.warning("bulk runner failed; retrying", metadata: ["error": "\(error)"])
                try? await Task.sleep(for: .seconds(1))
            }
        }
    }

    /// Fans out while holding the lock: every tick each running operation gets the tokens its
    /// rate earned since the last tick (at most one second's worth) and queues that many devices.
    private func lead() async throws {
        let store = BulkStore(postgres: postgres)
        var tokens: [String: Double] = [:]
        var last = clock()
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            try await Task.sleep(for: interval)
            let now = clock()
            let elapsed = now.timeIntervalSince(last)
            last = now
            let operations = try await store.running(logger: logger)
            tokens = tokens.filter { id, _ in operations.contains { $0.id == id } }
            for operation in operations {
                if let window = operation.window, !window.contains(now) {
                    tokens[operation.id] = 0
                    continue
                }
                let budget = min(Double(operation.ratePerSecond), (tokens[operation.id] ?? 0) + Double(operation.ratePerSecond) * elapsed)
                let count = min(Int(budget), TwinReader.maxPageSize)
                guard count >= 1 else {
                    tokens[operation.id] = budget
                    continue
                }
                let queued = try await queuePage(of: operation, limit: count, now: now, store: store)
                tokens[operation.id] = budget - Double(queued)
            }
        }
    }

    /// Queues the next `limit` devices of an operation; returns how many.
    private func queuePage(of operation: BulkOperation, limit: Int, now: Date, store: BulkStore) async throws -> Int {
        let filter: FleetFilter
        do { filter = try FleetFilter(parsing: operation.query) } catch {
            logger.error("bulk operation with an unreadable query cancelled", metadata: ["bulk.id": "\(operation.id)", "error": "\(error)"])
            try await store.cancel(operation.id, logger: logger)
            return 0
        }
        let page = try await TwinReader(postgres: postgres).fleet(filter, after: operation.cursor, limit: limit, now: now, logger: logger)
        let records = try page.devices.map { device -> OutgoingRecord in
            var envelope = Twinfleet_Bus_V1_CommandEnvelope()
            envelope.requested.command = operation.command(for: device.deviceID, now: now)
            return try OutgoingRecord(message: envelope, topic: commandsTopic, key: device.deviceID)
        }
        if !records.isEmpty { _ = try await producer.sendAll(records) }
        let completed = page.nextCursor == nil
        try await store.advance(operation.id, queued: records.count, cursor: page.nextCursor ?? operation.cursor, completed: completed, logger: logger)
        if completed {
            logger.info("bulk operation fully queued", metadata: ["bulk.id": "\(operation.id)", "bulk.queued": "\(operation.queued + records.count)"])
        }
        return records.count
    }
}
