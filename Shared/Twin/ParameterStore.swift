import Foundation
import Logging
import PostgresNIO
import ShardedPostgres
import TwinfleetModel

/// One changed parameter value (`old` nil: new path; `new` nil: removed).
struct ParameterChangeRow {
    let path: String
    let oldValue: String?
    let oldType: String?
    let newValue: String?
    let newType: String?
}

/// One reported value to write into a twin.
struct ParameterWrite {
    let deviceID: String
    let partition: Int32
    let parameter: Parameter
    /// Marks the rows of a full synchronisation (unchanged rows are re-marked too).
    let syncID: String?
    let at: Date
    /// The twin version the change belongs to.
    let version: Int64
    /// False for values learnt second-hand (a command result): they never overwrite a value
    /// the device reported later than `at`. Device events are authoritative: their order is
    /// the partition's order.
    let authoritative: Bool
}

/// Writes parameters and their history for many devices at once: a read and at most three
/// writes per batch, whatever its size.
///
/// Storage rules (see docs/ARCHITECTURE.md, "The twin"): a `parameters` row holds the current
/// value and `value_since`, when the device first reported it. A value that is reported again
/// unchanged is not written at all. `parameter_history` holds superseded values only, each with
/// the interval it held (`valid_from` … `changed_at`); a new path adds no history row. "The twin
/// as of T" is the current row where `value_since <= T`, else the history row covering T.
enum ParameterStore {
    /// Upserts values; returns the changes per device. Within `writes`, a (device, path) pair
    /// may appear once only (callers keep the last value of a report).
    ///
    /// The stored rows of the written paths are read first and compared here, so PostgreSQL does
    /// only the writes that are needed, each in its cheapest form: new paths and history rows go
    /// in with `COPY` (no `INSERT … ON CONFLICT`), changed values and re-marked rows with one
    /// `UPDATE`. Only this shard's consumer writes reported values, and the devices' rows are
    /// locked, so the rows read cannot change before the writes.
    static func upsert(_ writes: [ParameterWrite], connection: PostgresConnection, logger: Logger) async throws -> [String: [ParameterChangeRow]] {
        guard !writes.isEmpty else { return [:] }
        let stored = try await storedRows(of: writes, connection: connection, logger: logger)
        var inserts = CopyRows(), history = CopyRows(), updates = RowUpdates()
        var changes: [String: [ParameterChangeRow]] = [:]
        for write in writes {
            let path = write.parameter.path.rawValue
            let value = write.parameter.value.wireString, type = write.parameter.value.type.rawValue
            guard let old = stored[StoredKey(deviceID: write.deviceID, path: path)] else {
                inserts.text(write.deviceID); inserts.text(path); inserts.integer(write.partition)
                inserts.text(value); inserts.text(type); inserts.boolean(write.parameter.writable)
                inserts.timestamp(write.at); inserts.text(write.syncID)
                inserts.endRow()
                changes[write.deviceID, default: []].append(ParameterChangeRow(path: path, oldValue: nil, oldType: nil, newValue: value, newType: type))
                continue
            }
            // A second-hand value never overwrites one the device reported after it.
            if !write.authoritative && old.sinceMicroseconds > write.at.postgresUnixMicroseconds { continue }
            if old.value != value || old.type != type {
                updates.append(write, value: value, type: type, changed: true)
                history.text(write.deviceID); history.text(path); history.integer(write.partition)
                history.text(old.value); history.text(old.type); history.timestamp(unixMicroseconds: old.sinceMicroseconds)
                history.timestamp(write.at); history.integer(write.version)
                history.endRow()
                changes[write.deviceID, default: []].append(ParameterChangeRow(path: path, oldValue: old.value, oldType: old.type, newValue: value, newType: type))
            } else if let sync = write.syncID, sync != old.syncID {
                // Unchanged in a full synchronisation: only the sync marker moves (a HOT update).
                updates.append(write, value: value, type: type, changed: false)
            }
        }
        try await inserts.copy(
            into: "parameters", columns: ["device_id", "path", "partition", "value", "value_type", "writable", "value_since", "sync_id"],
            connection: connection, logger: logger)
        try await updates.run(connection: connection, logger: logger)
        try await history.copy(
            into: "parameter_history", columns: ["device_id", "path", "partition", "value", "value_type", "valid_from", "changed_at", "twin_version"],
            connection: connection, logger: logger)
        return changes
    }

    private struct StoredKey: Hashable {
        let deviceID: String
        let path: String
    }

    private struct StoredRow {
        let value: String?
        let type: String
        let sinceMicroseconds: Int64
        let syncID: String?
    }

    /// The stored rows of the written (device, path) pairs.
    private static func storedRows(of writes: [ParameterWrite], connection: PostgresConnection, logger: Logger) async throws -> [StoredKey: StoredRow] {
        let rows = try await connection.query("""
            SELECT p.device_id, p.path, p.value, p.value_type,
                   (extract(epoch FROM p.value_since) * 1000000)::int8, p.sync_id
            FROM parameters p
            JOIN unnest(\(writes.map(\.deviceID))::text[], \(writes.map(\.parameter.path.rawValue))::text[]) AS x(device_id, path)
              ON p.device_id = x.device_id AND p.path = x.path
            """, logger: logger)
        var stored: [StoredKey: StoredRow] = [:]
        stored.reserveCapacity(writes.count)
        for try await (device, path, value, type, since, sync) in rows.decode((String, String, String?, String, Int64, String?).self) {
            stored[StoredKey(deviceID: device, path: path)] = StoredRow(value: value, type: type, sinceMicroseconds: since, syncID: sync)
        }
        return stored
    }

    /// Stored rows to rewrite in one statement: changed values, and unchanged ones re-marked by a
    /// full synchronisation (their `value_since` stays).
    private struct RowUpdates {
        var devices: [String] = [], paths: [String] = [], values: [String] = [], types: [String] = []
        var writables: [Int] = [], times: [Date] = [], syncIDs: [String] = [], changed: [Bool] = []

        mutating func append(_ write: ParameterWrite, value: String, type: String, changed isChanged: Bool) {
            devices.append(write.deviceID)
            paths.append(write.parameter.path.rawValue)
            values.append(value)
            types.append(type)
            writables.append(write.parameter.writable.map { $0 ? 1 : 0 } ?? -1)
            times.append(write.at)
            syncIDs.append(write.syncID ?? "")
            changed.append(isChanged)
        }

        func run(connection: PostgresConnection, logger: Logger) async throws {
            guard !devices.isEmpty else { return }
            try await connection.query("""
                UPDATE parameters p SET
                    value = x.value, value_type = x.value_type,
                    writable = COALESCE(CASE x.writable WHEN 1 THEN true WHEN 0 THEN false END, p.writable),
                    value_since = CASE WHEN x.changed THEN x.at ELSE p.value_since END,
                    sync_id = COALESCE(NULLIF(x.sync_id, ''), p.sync_id)
                FROM unnest(\(devices)::text[], \(paths)::text[], \(values)::text[], \(types)::text[], \(writables)::int[],
                            \(times)::timestamptz[], \(syncIDs)::text[], \(changed)::bool[])
                    AS x(device_id, path, value, value_type, writable, at, sync_id, changed)
                WHERE p.device_id = x.device_id AND p.path = x.path
                """, logger: logger)
        }
    }

    /// Deletes a device's rows under `root` — all of them, or (after the final chunk of a full
    /// synchronisation) those not marked with `syncID` — moving each value to the history.
    static func remove(
        deviceID: String, partition: Int32, under root: String, keepingSync syncID: String?, at: Date, version: Int64,
        connection: PostgresConnection, logger: Logger
    ) async throws -> [ParameterChangeRow] {
        // `starts_with` rather than LIKE: paths contain '_' (X_VENDOR), a LIKE wildcard.
        let rows = try await connection.query("""
            WITH removed AS (
                DELETE FROM parameters
                WHERE device_id = \(deviceID) AND starts_with(path, \(root))
                  AND (\(syncID)::text IS NULL OR sync_id IS DISTINCT FROM \(syncID))
                RETURNING path, value, value_type, value_since
            ), history AS (
                INSERT INTO parameter_history (device_id, path, partition, value, value_type, valid_from, changed_at, twin_version)
                SELECT \(deviceID), path, \(partition), value, value_type, value_since, \(at), \(version)
                FROM removed
            )
            SELECT path, value, value_type FROM removed
            """, logger: logger)
        var changes: [ParameterChangeRow] = []
        for try await (path, value, type) in rows.decode((String, String?, String).self) {
            changes.append(ParameterChangeRow(path: path, oldValue: value, oldType: type, newValue: nil, newType: nil))
        }
        return changes
    }
}

extension Array where Element == Parameter {
    /// The parameters with each path once, keeping the last value reported for it (an upsert
    /// cannot touch a row twice).
    var lastPerPath: [Parameter] {
        var latest: [String: Int] = [:]
        for (index, parameter) in enumerated() { latest[parameter.path.rawValue] = index }
        guard latest.count < count else { return self }
        return latest.values.sorted().map { self[$0] }
    }
}
