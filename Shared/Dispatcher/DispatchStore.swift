import BusContracts
import Foundation
import Kafka
import Logging
import PostgresNIO
import ShardedPostgres
import SwiftProtobuf

/// Reads device queues from a shard and writes back what a transition changed, inside the
/// caller's transaction. Device rows are locked (`FOR UPDATE`), so the record consumer and the
/// clock never interleave on one device.
public enum DispatchStore {
    /// The queues of the devices loaded.
    public struct Loaded: Sendable {
        public var queues: [String: DeviceQueue]
    }

    /// Loads the queues of `devices` (ID → partition). Devices without a row start empty.
    /// `commandIDs` and `keys` are the IDs and idempotency keys about to be requested, checked
    /// against final commands too.
    public static func load(
        devices: [String: Int32], commandIDs: [String] = [], keys: [String] = [], policy: DispatchPolicy,
        connection: PostgresConnection, logger: Logger
    ) async throws -> Loaded {
        let ids = devices.keys.sorted()
        var found: [String: DispatchDevice] = [:]
        let rows = try await connection.query("""
            SELECT device_id, partition, tenant_id, protocol, instance_id, session_id, connected, planned,
                   connection_request_url, connection_request_at, connection_requests, needs_refresh, last_full_sync_at, next_sequence
            FROM dispatcher_devices WHERE device_id = ANY(\(ids)::text[]) ORDER BY device_id FOR UPDATE
            """, logger: logger)
        for try await row in rows {
            let c = row.makeRandomAccess()
            var device = DispatchDevice(deviceID: try c[0].decode(String.self), partition: try c[1].decode(Int32.self), tenantID: try c[2].decode(String.self))
            device.deviceProtocol = DeviceProtocolName.parse(try c[3].decode(String.self))
            device.instanceID = try c[4].decode(String?.self)
            device.sessionID = try c[5].decode(String?.self)
            device.connected = try c[6].decode(Bool.self)
            device.planned = try c[7].decode(Bool.self)
            device.connectionRequestURL = try c[8].decode(String?.self)
            device.connectionRequestAt = try c[9].decode(Date?.self)
            device.connectionRequests = Int(try c[10].decode(Int32.self))
            device.needsRefresh = try c[11].decode(Bool.self)
            device.lastFullSyncAt = try c[12].decode(Date?.self)
            device.nextSequence = try c[13].decode(Int64.self)
            found[device.deviceID] = device
        }
        var open: [String: [QueuedCommand]] = [:]
        let commandRows = try await connection.query("""
            SELECT device_id, command, sequence, state, dispatches, failures, retry_at, session_id, instance_id, dispatched_at,
                   cancel_requested, last_error_code, last_error, created_at, orphaned_at
            FROM dispatcher_commands WHERE device_id = ANY(\(ids)::text[]) AND finished_at IS NULL
            """, logger: logger)
        for try await row in commandRows {
            let c = row.makeRandomAccess()
            let bytes = try c[1].decode(ByteBuffer.self)
            let command = try Twinfleet_Bus_V1_Command(serializedBytes: Array(buffer: bytes))
            var queued = QueuedCommand(command: command, sequence: try c[2].decode(Int64.self), createdAt: try c[13].decode(Date.self))
            queued.state = CommandState(rawValue: try c[3].decode(String.self)) ?? .queued
            queued.dispatches = Int(try c[4].decode(Int32.self))
            queued.failures = Int(try c[5].decode(Int32.self))
            queued.retryAt = try c[6].decode(Date?.self)
            queued.sessionID = try c[7].decode(String?.self)
            queued.instanceID = try c[8].decode(String?.self)
            queued.dispatchedAt = try c[9].decode(Date?.self)
            queued.cancelRequested = try c[10].decode(Bool.self)
            queued.orphanedAt = try c[14].decode(Date?.self)
            if let code = try c[11].decode(Int32?.self) {
                var error = Twinfleet_Bus_V1_CommandError()
                error.code = code
                error.message = try c[12].decode(String?.self) ?? ""
                queued.lastError = error
            }
            open[try c[0].decode(String.self), default: []].append(queued)
        }
        var knownIDs: [String: Set<String>] = [:], knownKeys: [String: Set<String>] = [:]
        if !commandIDs.isEmpty || !keys.isEmpty {
            let used = try await connection.query("""
                SELECT device_id, command_id, idempotency_key FROM dispatcher_commands
                WHERE device_id = ANY(\(ids)::text[]) AND (command_id = ANY(\(commandIDs)::text[]) OR idempotency_key = ANY(\(keys)::text[]))
                """, logger: logger)
            for try await (device, command, key) in used.decode((String, String, String?).self) {
                knownIDs[device, default: []].insert(command)
                if let key { knownKeys[device, default: []].insert(key) }
            }
        }
        var queues: [String: DeviceQueue] = [:]
        for (id, partition) in devices {
            let device = found[id]
            queues[id] = DeviceQueue(
                device: device ?? DispatchDevice(deviceID: id, partition: partition), commands: open[id] ?? [],
                knownIDs: knownIDs[id] ?? [], knownKeys: knownKeys[id] ?? [], policy: policy, isNew: device == nil)
        }
        return Loaded(queues: queues)
    }

    /// Writes changed devices, commands and their transitions, and appends the effects to the
    /// outbox (deliveries to the instances' inboxes, results, created commands).
    public static func save(
        _ loaded: Loaded, effects: [(partition: Int32, effect: DispatchEffect)], topics: DispatchTopics, now: Date,
        connection: PostgresConnection, logger: Logger
    ) async throws {
        var transitions: [(transition: Transition, command: QueuedCommand, device: String, partition: Int32)] = []
        var deviceRows: [[String: Any]] = [], commandRows: [[String: Any]] = []
        for queue in loaded.queues.values.sorted(by: { $0.device.deviceID < $1.device.deviceID }) {
            let device = queue.device
            if queue.deviceChanged || !queue.changed.isEmpty {
                deviceRows.append(deviceRow(device, wakeAt: queue.wakeAt(after: now), now: now))
            }
            var byID: [String: QueuedCommand] = [:]
            for command in queue.commands where queue.changed.contains(command.id) {
                commandRows.append(try commandRow(command, device: device, now: now))
                byID[command.id] = command
            }
            for transition in queue.transitions {
                if let command = byID[transition.commandID] { transitions.append((transition, command, device.deviceID, device.partition)) }
            }
        }
        // One statement per table and batch, rows as JSON (it carries NULLs, which bind arrays
        // of optionals would not); times as microseconds since 1970.
        if !deviceRows.isEmpty {
            try await connection.query("""
                INSERT INTO dispatcher_devices (device_id, partition, tenant_id, protocol, instance_id, session_id, connected, planned,
                    connection_request_url, connection_request_at, connection_requests, needs_refresh, last_full_sync_at, next_sequence,
                    wake_at, updated_at)
                SELECT x.device_id, x.partition, x.tenant_id, x.protocol, x.instance_id, x.session_id, x.connected, x.planned,
                    x.connection_request_url, to_timestamp(x.connection_request_at / 1e6), x.connection_requests, x.needs_refresh,
                    to_timestamp(x.last_full_sync_at / 1e6), x.next_sequence, to_timestamp(x.wake_at / 1e6), to_timestamp(x.updated_at / 1e6)
                FROM jsonb_to_recordset(\(try json(deviceRows))::jsonb) AS x(device_id text, partition int, tenant_id text, protocol text,
                    instance_id text, session_id text, connected bool, planned bool, connection_request_url text, connection_request_at bigint,
                    connection_requests int, needs_refresh bool, last_full_sync_at bigint, next_sequence bigint, wake_at bigint, updated_at bigint)
                ON CONFLICT (device_id) DO UPDATE SET tenant_id = EXCLUDED.tenant_id, protocol = EXCLUDED.protocol,
                    instance_id = EXCLUDED.instance_id, session_id = EXCLUDED.session_id, connected = EXCLUDED.connected,
                    planned = EXCLUDED.planned, connection_request_url = EXCLUDED.connection_request_url,
                    connection_request_at = EXCLUDED.connection_request_at, connection_requests = EXCLUDED.connection_requests,
                    needs_refresh = EXCLUDED.needs_refresh, last_full_sync_at = EXCLUDED.last_full_sync_at,
                    next_sequence = EXCLUDED.next_sequence, wake_at = EXCLUDED.wake_at, updated_at = EXCLUDED.updated_at
                """, logger: logger)
        }
        if !commandRows.isEmpty {
            try await connection.query("""
                INSERT INTO dispatcher_commands (command_id, device_id, partition, tenant_id, sequence, priority, independent, idempotency_key,
                    kind, command, state, dispatches, failures, retry_at, session_id, instance_id, dispatched_at, orphaned_at, cancel_requested,
                    last_error_code, last_error, created_at, updated_at, finished_at)
                SELECT x.command_id, x.device_id, x.partition, x.tenant_id, x.sequence, x.priority, x.independent, x.idempotency_key,
                    x.kind, decode(x.command, 'base64'), x.state, x.dispatches, x.failures, to_timestamp(x.retry_at / 1e6), x.session_id,
                    x.instance_id, to_timestamp(x.dispatched_at / 1e6), to_timestamp(x.orphaned_at / 1e6), x.cancel_requested,
                    x.last_error_code, x.last_error, to_timestamp(x.created_at / 1e6), to_timestamp(x.updated_at / 1e6),
                    to_timestamp(x.finished_at / 1e6)
                FROM jsonb_to_recordset(\(try json(commandRows))::jsonb) AS x(command_id text, device_id text, partition int, tenant_id text,
                    sequence bigint, priority int, independent bool, idempotency_key text, kind text, command text, state text,
                    dispatches int, failures int, retry_at bigint, session_id text, instance_id text, dispatched_at bigint,
                    orphaned_at bigint, cancel_requested bool, last_error_code int, last_error text, created_at bigint,
                    updated_at bigint, finished_at bigint)
                ON CONFLICT (command_id) DO UPDATE SET state = EXCLUDED.state, dispatches = EXCLUDED.dispatches, failures = EXCLUDED.failures,
                    retry_at = EXCLUDED.retry_at, session_id = EXCLUDED.session_id, instance_id = EXCLUDED.instance_id,
                    dispatched_at = EXCLUDED.dispatched_at, orphaned_at = EXCLUDED.orphaned_at, cancel_requested = EXCLUDED.cancel_requested,
                    last_error_code = EXCLUDED.last_error_code, last_error = EXCLUDED.last_error, updated_at = EXCLUDED.updated_at,
                    finished_at = EXCLUDED.finished_at
                """, logger: logger)
        }
        if !transitions.isEmpty {
            let detail: [String] = transitions.map { t in
                switch t.transition.to {
                case .dispatched: "delivery \(t.command.dispatches) to \(t.command.instanceID ?? "?") session \(t.command.sessionID ?? "")"
                case .failed, .cancelled, .expired: t.command.lastError.map { "\($0.code) \($0.message)" } ?? ""
                case .queued: t.transition.from == nil ? "" : (t.command.retryAt.map { "retry at \($0)" } ?? "back in the queue")
                default: ""
                }
            }
            try await connection.query("""
                INSERT INTO dispatcher_transitions (command_id, device_id, partition, at, ordinal, from_state, to_state, dispatches, detail)
                SELECT * FROM unnest(\(transitions.map(\.transition.commandID))::text[], \(transitions.map(\.device))::text[],
                    \(transitions.map(\.partition))::int[], \(transitions.map { _ in now })::timestamptz[],
                    \(Array(Int32(0)..<Int32(transitions.count)))::int[], \(transitions.map { $0.transition.from?.rawValue ?? "" })::text[],
                    \(transitions.map(\.transition.to.rawValue))::text[], \(transitions.map { Int32($0.command.dispatches) })::int[], \(detail)::text[])
                """, logger: logger)
        }
        var records: [(partition: Int32, record: OutgoingRecord)] = []
        for (partition, effect) in effects {
            records.append((partition, try record(effect, topics: topics)))
        }
        try await Outbox.append(records, connection: connection, logger: logger)
    }

    private static func micros(_ date: Date?) -> Any { date.map { $0.unixMicroseconds } ?? NSNull() }

    private static func deviceRow(_ device: DispatchDevice, wakeAt: Date?, now: Date) -> [String: Any] {
        [
            "device_id": device.deviceID, "partition": device.partition, "tenant_id": device.tenantID,
            "protocol": DeviceProtocolName.name(device.deviceProtocol), "instance_id": device.instanceID ?? NSNull(),
            "session_id": device.sessionID ?? NSNull(), "connected": device.connected, "planned": device.planned,
            "connection_request_url": device.connectionRequestURL ?? NSNull(), "connection_request_at": micros(device.connectionRequestAt),
            "connection_requests": device.connectionRequests, "needs_refresh": device.needsRefresh,
            "last_full_sync_at": micros(device.lastFullSyncAt), "next_sequence": device.nextSequence, "wake_at": micros(wakeAt),
            "updated_at": now.unixMicroseconds,
        ]
    }

    private static func commandRow(_ command: QueuedCommand, device: DispatchDevice, now: Date) throws -> [String: Any] {
        let bytes = try command.command.serializedBytes() as [UInt8]
        return [
            "command_id": command.id, "device_id": device.deviceID, "partition": device.partition,
            "tenant_id": command.command.tenantID.isEmpty ? device.tenantID : command.command.tenantID,
            "sequence": command.sequence, "priority": command.priority, "independent": command.independent,
            "idempotency_key": command.command.idempotencyKey.isEmpty ? NSNull() : command.command.idempotencyKey,
            "kind": command.kind, "command": Data(bytes).base64EncodedString(), "state": command.state.rawValue,
            "dispatches": command.dispatches, "failures": command.failures, "retry_at": micros(command.retryAt),
            "session_id": command.sessionID ?? NSNull(), "instance_id": command.instanceID ?? NSNull(),
            "dispatched_at": micros(command.dispatchedAt), "orphaned_at": micros(command.orphanedAt),
            "cancel_requested": command.cancelRequested, "last_error_code": command.lastError.map { Int($0.code) } ?? NSNull(),
            "last_error": command.lastError?.message ?? NSNull(), "created_at": command.createdAt.unixMicroseconds,
            "updated_at": now.unixMicroseconds, "finished_at": micros(command.state.isFinal ? (command.finishedAt ?? now) : nil),
        ]
    }

    private static func json(_ rows: [[String: Any]]) throws -> String {
        String(decoding: try JSONSerialization.data(withJSONObject: rows), as: UTF8.self)
    }

    /// The Kafka record of an effect, keyed by the device.
    static func record(_ effect: DispatchEffect, topics: DispatchTopics) throws -> OutgoingRecord {
        switch effect {
        case .deliver(let instance, let delivery):
            return try make(delivery, topic: try Topic.deliveries(instance: instance), key: delivery.deviceID)
        case .result(let result):
            return try make(result, topic: topics.commandResults, key: result.deviceID)
        case .command(let envelope):
            return try make(envelope, topic: topics.commands, key: envelope.requested.command.deviceID)
        }
    }

    static func make<M: SwiftProtobuf.Message>(_ message: M, topic: String, key: String) throws -> OutgoingRecord {
        try OutgoingRecord(message: message, topic: topic, key: key)
    }
}

/// Protocol names as stored.
enum DeviceProtocolName {
    static func name(_ value: Twinfleet_Bus_V1_DeviceProtocol) -> String {
        switch value {
        case .cwmp: "cwmp"
        case .usp: "usp"
        default: ""
        }
    }

    static func parse(_ text: String) -> Twinfleet_Bus_V1_DeviceProtocol {
        switch text {
        case "cwmp": .cwmp
        case "usp": .usp
        default: .unspecified
        }
    }
}
