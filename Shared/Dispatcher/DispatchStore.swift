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
        var devices: [(device: DispatchDevice, wakeAt: Date?)] = [], commands: [(command: QueuedCommand, device: DispatchDevice)] = []
        for queue in loaded.queues.values.sorted(by: { $0.device.deviceID < $1.device.deviceID }) {
            let device = queue.device
            if queue.deviceChanged || !queue.changed.isEmpty {
                devices.append((device, queue.wakeAt(after: now)))
            }
            var byID: [String: QueuedCommand] = [:]
            for command in queue.commands where queue.changed.contains(command.id) {
                commands.append((command, device))
                byID[command.id] = command
            }
            for transition in queue.transitions {
                if let command = byID[transition.commandID] { transitions.append((transition, command, device.deviceID, device.partition)) }
            }
        }
        // One statement per table and batch, one array per column (NullableArray where a value
        // may be absent).
        if !devices.isEmpty {
            let d = devices.map(\.device)
            try await connection.query("""
                INSERT INTO dispatcher_devices (device_id, partition, tenant_id, protocol, instance_id, session_id, connected, planned,
                    connection_request_url, connection_request_at, connection_requests, needs_refresh, last_full_sync_at, next_sequence,
                    wake_at, updated_at)
                SELECT *, \(now)::timestamptz FROM unnest(\(d.map(\.deviceID))::text[], \(d.map(\.partition))::int[], \(d.map(\.tenantID))::text[],
                    \(d.map { DeviceProtocolName.name($0.deviceProtocol) })::text[], \(NullableArray(d.map(\.instanceID)))::text[],
                    \(NullableArray(d.map(\.sessionID)))::text[], \(d.map(\.connected))::bool[], \(d.map(\.planned))::bool[],
                    \(NullableArray(d.map(\.connectionRequestURL)))::text[], \(NullableArray(d.map(\.connectionRequestAt)))::timestamptz[],
                    \(d.map { Int32($0.connectionRequests) })::int[], \(d.map(\.needsRefresh))::bool[],
                    \(NullableArray(d.map(\.lastFullSyncAt)))::timestamptz[], \(d.map(\.nextSequence))::bigint[],
                    \(NullableArray(devices.map(\.wakeAt)))::timestamptz[])
                ON CONFLICT (device_id) DO UPDATE SET tenant_id = EXCLUDED.tenant_id, protocol = EXCLUDED.protocol,
                    instance_id = EXCLUDED.instance_id, session_id = EXCLUDED.session_id, connected = EXCLUDED.connected,
                    planned = EXCLUDED.planned, connection_request_url = EXCLUDED.connection_request_url,
                    connection_request_at = EXCLUDED.connection_request_at, connection_requests = EXCLUDED.connection_requests,
                    needs_refresh = EXCLUDED.needs_refresh, last_full_sync_at = EXCLUDED.last_full_sync_at,
                    next_sequence = EXCLUDED.next_sequence, wake_at = EXCLUDED.wake_at, updated_at = EXCLUDED.updated_at
                """, logger: logger)
        }
        if !commands.isEmpty {
            let c = commands.map(\.command)
            let bytes = try c.map { ByteBuffer(bytes: try $0.command.serializedBytes() as [UInt8]) }
            try await connection.query("""
                INSERT INTO dispatcher_commands (command_id, device_id, partition, tenant_id, sequence, priority, independent, idempotency_key,
                    kind, command, state, dispatches, failures, retry_at, session_id, instance_id, dispatched_at, orphaned_at, cancel_requested,
                    last_error_code, last_error, created_at, finished_at, updated_at)
                SELECT *, \(now)::timestamptz FROM unnest(\(c.map(\.id))::text[], \(commands.map(\.device.deviceID))::text[],
                    \(commands.map(\.device.partition))::int[],
                    \(commands.map { $0.command.command.tenantID.isEmpty ? $0.device.tenantID : $0.command.command.tenantID })::text[],
                    \(c.map(\.sequence))::bigint[], \(c.map { Int32($0.priority) })::int[], \(c.map(\.independent))::bool[],
                    \(NullableArray(c.map { $0.command.idempotencyKey.isEmpty ? nil : $0.command.idempotencyKey }))::text[],
                    \(c.map(\.kind))::text[], \(bytes)::bytea[], \(c.map(\.state.rawValue))::text[], \(c.map { Int32($0.dispatches) })::int[],
                    \(c.map { Int32($0.failures) })::int[], \(NullableArray(c.map(\.retryAt)))::timestamptz[],
                    \(NullableArray(c.map(\.sessionID)))::text[], \(NullableArray(c.map(\.instanceID)))::text[],
                    \(NullableArray(c.map(\.dispatchedAt)))::timestamptz[], \(NullableArray(c.map(\.orphanedAt)))::timestamptz[],
                    \(c.map(\.cancelRequested))::bool[], \(NullableArray(c.map { $0.lastError?.code }))::int[],
                    \(NullableArray(c.map { $0.lastError?.message }))::text[], \(c.map(\.createdAt))::timestamptz[],
                    \(NullableArray(c.map { $0.state.isFinal ? ($0.finishedAt ?? now) : nil }))::timestamptz[])
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
