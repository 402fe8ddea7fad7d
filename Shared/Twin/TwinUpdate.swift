import Foundation
import Logging
import PostgresNIO
import ShardedPostgres
import TwinfleetModel

/// What one record does to one twin, before it is written: the values to upsert, the subtrees to
/// remove, the device fields to change and the event-log line. Device events and command
/// results both become updates, so one code path writes every twin change.
struct TwinUpdate {
    /// Where the update came from (the twin change's cause).
    struct Cause {
        let topic: String
        let partition: Int32
        let offset: Int64
        let sourceID: String
    }

    /// A line of the device's connectivity and lifecycle log.
    struct LogEntry {
        let kind: String
        let eventID: String
        let instanceID: String
        let detail: String
    }

    let deviceID: String
    let partition: Int32
    let occurredAt: Date
    let cause: Cause
    /// Set for device events: the twin is created on first sight. Nil for command results,
    /// which need an existing twin.
    let newDevice: DeviceRow.NewDevice?
    /// Values to upsert (each path once).
    var writes: [Parameter] = []
    /// False when the values are second-hand (a command's result) rather than reported.
    var authoritative = true
    /// Full-synchronisation marker of `writes`.
    var syncID: String?
    /// Subtrees to delete after the writes (`keepingSync`: only rows of other syncs).
    var removals: [(root: String, keepingSync: String?)] = []
    /// Device field changes.
    var mutate: (inout DeviceRow) -> Void = { _ in }
    var log: LogEntry?
    /// Device events count as contact; results learnt from elsewhere do not.
    var isContact = true

    init(deviceID: String, partition: Int32, occurredAt: Date, cause: Cause, newDevice: DeviceRow.NewDevice?) {
        self.deviceID = deviceID
        self.partition = partition
        self.occurredAt = occurredAt
        self.cause = cause
        self.newDevice = newDevice
    }
}

/// Writes a run of updates, each for a different device, with a handful of statements whatever
/// the number of devices and values: lock/create the devices, one upsert of every value, the
/// rare subtree removals, one device update, one event-log insert. Returns the twin changes
/// to publish.
enum TwinUpdateWriter {
    static func write(_ updates: [TwinUpdate], connection: PostgresConnection, logger: Logger) async throws -> [(partition: Int32, change: TwinChangeRecord.Change)] {
        guard !updates.isEmpty else { return [] }
        let rows = try await DeviceRow.lock(
            updates.map(\.deviceID), creating: updates.compactMap(\.newDevice), connection: connection, logger: logger)

        var before: [DeviceRow] = [], after: [DeviceRow] = []
        var writes: [ParameterWrite] = []
        for update in updates {
            guard let row = rows[update.deviceID] else {
                throw PoisonRecordFor.unknownDevice(update.deviceID)
            }
            var changed = row
            update.mutate(&changed)
            changed.adopt(parameters: update.writes)
            before.append(row)
            after.append(changed)
            let version = row.twinVersion + 1
            for parameter in update.writes {
                writes.append(ParameterWrite(
                    deviceID: update.deviceID, partition: update.partition, parameter: parameter, syncID: update.syncID,
                    at: update.occurredAt, version: version, authoritative: update.authoritative))
            }
        }
        var (parameterChanges, wereEmpty) = try await ParameterStore.upsert(writes, connection: connection, logger: logger)
        for (index, update) in updates.enumerated() {
            for removal in update.removals {
                // A twin that had no rows before this full sync holds only rows of the sync now
                // (a new twin's first report): nothing of another sync to look for.
                if removal.keepingSync != nil, removal.keepingSync == update.syncID, wereEmpty.contains(update.deviceID) { continue }
                let removed = try await ParameterStore.remove(
                    deviceID: update.deviceID, partition: update.partition, under: removal.root, keepingSync: removal.keepingSync,
                    at: update.occurredAt, version: before[index].twinVersion + 1, connection: connection, logger: logger)
                if !removed.isEmpty { parameterChanges[update.deviceID, default: []] += removed }
            }
        }

        var saves: [(row: DeviceRow, lastContact: Date?)] = []
        var changes: [(partition: Int32, change: TwinChangeRecord.Change)] = []
        for (index, update) in updates.enumerated() {
            var row = after[index]
            let fields = row.fieldChanges(since: before[index])
            let values = parameterChanges[update.deviceID] ?? []
            if !fields.isEmpty || !values.isEmpty {
                row.twinVersion = before[index].twinVersion + 1
                changes.append((update.partition, TwinChangeRecord.Change(
                    device: row, cause: update.cause, parameterChanges: values, fieldChanges: fields,
                    presenceChanged: before[index].online != row.online || before[index].instanceID != row.instanceID)))
            }
            if update.isContact || row != before[index] {
                saves.append((row, update.isContact ? update.occurredAt : nil))
            }
        }
        try await DeviceRow.save(saves, connection: connection, logger: logger)
        try await insertLog(updates, connection: connection, logger: logger)
        return changes
    }

    private static func insertLog(_ updates: [TwinUpdate], connection: PostgresConnection, logger: Logger) async throws {
        let logged = updates.filter { $0.log != nil }
        guard !logged.isEmpty else { return }
        let entries = logged.map { $0.log! }
        try await connection.query("""
            INSERT INTO device_events (device_id, partition, occurred_at, kind, event_id, instance_id, detail)
            SELECT d, p, at, k, e, NULLIF(i, ''), detail
            FROM unnest(\(logged.map(\.deviceID))::text[], \(logged.map(\.partition))::int[], \(logged.map(\.occurredAt))::timestamptz[],
                        \(entries.map(\.kind))::text[], \(entries.map(\.eventID))::text[], \(entries.map(\.instanceID))::text[],
                        \(entries.map(\.detail))::text[]) AS x(d, p, at, k, e, i, detail)
            """, logger: logger)
    }
}

/// Poison records the twin writers find (the consumer isolates and dead-letters them).
enum PoisonRecordFor {
    static func unknownDevice(_ deviceID: String) -> PoisonRecordError {
        PoisonRecordError(code: "unknown-device", reason: "no twin for device \(deviceID)")
    }
}
