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

/// Writes parameters and their history for many devices at once: a handful of statements per
/// batch, whatever its size.
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
    /// A device with few stored rows compared with what it reports now (a new twin's first
    /// synchronisation, often after an Inform that stored a dozen values) mostly brings new
    /// paths: those go in with `COPY`, much cheaper than `INSERT … ON CONFLICT`, and only the
    /// paths it already has go through the compare-and-upsert statement. The devices' rows are
    /// locked and only this shard's consumer writes reported values, so no row can appear between
    /// reading the stored paths and the copy.
    ///
    /// Also returns the devices that had no stored row at all before these writes (among those
    /// with eight writes or more): after the writes, every row of such a device is one of them.
    static func upsert(_ writes: [ParameterWrite], connection: PostgresConnection, logger: Logger) async throws -> (changes: [String: [ParameterChangeRow]], wereEmpty: Set<String>) {
        guard !writes.isEmpty else { return ([:], []) }
        let stored = try await storedPathsOfSparseDevices(writes, connection: connection, logger: logger)
        var fresh: [ParameterWrite] = [], existing: [ParameterWrite] = []
        for write in writes {
            if let paths = stored[write.deviceID], !paths.contains(write.parameter.path.rawValue) {
                fresh.append(write)
            } else {
                existing.append(write)
            }
        }
        var changes = try await upsertIntoExisting(existing, connection: connection, logger: logger)
        var rows = CopyRows()
        for write in fresh {
            let path = write.parameter.path.rawValue
            let value = write.parameter.value.wireString, type = write.parameter.value.type.rawValue
            rows.text(write.deviceID); rows.text(path); rows.integer(write.partition)
            rows.text(value); rows.text(type); rows.boolean(write.parameter.writable)
            rows.timestamp(write.at); rows.text(write.syncID)
            rows.endRow()
            changes[write.deviceID, default: []].append(ParameterChangeRow(path: path, oldValue: nil, oldType: nil, newValue: value, newType: type))
        }
        try await rows.copy(
            into: "parameters", columns: ["device_id", "path", "partition", "value", "value_type", "writable", "value_since", "sync_id"],
            connection: connection, logger: logger)
        return (changes, Set(stored.filter { $0.value.isEmpty }.keys))
    }

    /// The stored paths of the devices that have fewer stored rows than a quarter of what they
    /// write now ("sparse"); devices not in the answer are written by the statement alone.
    /// Counting stops at that quarter, so a resync of a full twin or a single value change
    /// costs a bounded look, not a scan of the twin.
    private static func storedPathsOfSparseDevices(_ writes: [ParameterWrite], connection: PostgresConnection, logger: Logger) async throws -> [String: Set<String>] {
        var perDevice: [String: Int] = [:]
        for write in writes { perDevice[write.deviceID, default: 0] += 1 }
        let candidates = perDevice.filter { $0.value >= 8 }
        guard !candidates.isEmpty else { return [:] }
        let devices = Array(candidates.keys), limits = devices.map { candidates[$0]! / 4 }
        // One statement: the sparse devices, each with its stored paths (a NULL path for none).
        var stored: [String: Set<String>] = [:]
        for try await (device, path) in try await connection.query("""
            WITH sparse AS (
                SELECT x.device_id FROM unnest(\(devices)::text[], \(limits)::int[]) AS x(device_id, cap)
                WHERE (SELECT count(*) FROM (SELECT 1 FROM parameters p WHERE p.device_id = x.device_id LIMIT x.cap) s) < x.cap
            )
            SELECT s.device_id, p.path FROM sparse s LEFT JOIN parameters p ON p.device_id = s.device_id
            """, logger: logger).decode((String, String?).self) {
            stored[device, default: []].formUnion([path].compactMap { $0 })
        }
        return stored
    }

    /// Writes values whose paths may already be stored: one statement compares every value with
    /// the stored one and writes only what differs.
    private static func upsertIntoExisting(_ writes: [ParameterWrite], connection: PostgresConnection, logger: Logger) async throws -> [String: [ParameterChangeRow]] {
        guard !writes.isEmpty else { return [:] }
        let devices = writes.map(\.deviceID), paths = writes.map(\.parameter.path.rawValue)
        let partitions = writes.map(\.partition), values = writes.map { $0.parameter.value.wireString }
        let types = writes.map { $0.parameter.value.type.rawValue }
        let writables = writes.map { $0.parameter.writable.map { $0 ? 1 : 0 } ?? -1 }
        let syncIDs = writes.map { $0.syncID ?? "" }, times = writes.map(\.at), versions = writes.map(\.version)
        let authoritative = writes.map(\.authoritative)
        let rows = try await connection.query("""
            WITH input AS (
                SELECT device_id, path, partition, value, value_type, writable, NULLIF(sync_id, '') AS sync_id,
                       at, version, authoritative
                FROM unnest(\(devices)::text[], \(paths)::text[], \(partitions)::int[], \(values)::text[],
                            \(types)::text[], \(writables)::int[], \(syncIDs)::text[], \(times)::timestamptz[],
                            \(versions)::bigint[], \(authoritative)::bool[])
                    AS x(device_id, path, partition, value, value_type, writable, sync_id, at, version, authoritative)
            ), old AS (
                SELECT p.device_id, p.path, p.value, p.value_type, p.value_since, p.sync_id
                FROM parameters p JOIN input i ON p.device_id = i.device_id AND p.path = i.path
            ), compared AS (
                SELECT i.*, o.path IS NULL AS is_new, o.value AS old_value, o.value_type AS old_type,
                       o.value_since AS old_since, o.sync_id AS old_sync,
                       (o.path IS NULL OR o.value IS DISTINCT FROM i.value OR o.value_type IS DISTINCT FROM i.value_type) AS differs
                FROM input i LEFT JOIN old o ON o.device_id = i.device_id AND o.path = i.path
                WHERE i.authoritative OR o.path IS NULL OR o.value_since <= i.at
            ), changed AS (
                SELECT * FROM compared WHERE differs
            ), upserted AS (
                INSERT INTO parameters (device_id, path, partition, value, value_type, writable, value_since, sync_id)
                SELECT device_id, path, partition, value, value_type,
                       CASE writable WHEN 1 THEN true WHEN 0 THEN false END, at, sync_id
                FROM changed
                ON CONFLICT (device_id, path) DO UPDATE SET
                    value = EXCLUDED.value, value_type = EXCLUDED.value_type,
                    writable = COALESCE(EXCLUDED.writable, parameters.writable),
                    value_since = EXCLUDED.value_since,
                    sync_id = COALESCE(EXCLUDED.sync_id, parameters.sync_id)
            ), marked AS (
                -- Unchanged rows of a full synchronisation: only the sync marker moves (a HOT update).
                UPDATE parameters p SET sync_id = c.sync_id, writable = COALESCE(c.writable_flag, p.writable)
                FROM (SELECT device_id, path, sync_id, CASE writable WHEN 1 THEN true WHEN 0 THEN false END AS writable_flag
                      FROM compared WHERE NOT differs AND sync_id IS NOT NULL AND sync_id IS DISTINCT FROM old_sync) c
                WHERE p.device_id = c.device_id AND p.path = c.path
            ), history AS (
                INSERT INTO parameter_history (device_id, path, partition, value, value_type, valid_from, changed_at, twin_version)
                SELECT device_id, path, partition, old_value, old_type, old_since, at, version
                FROM changed WHERE NOT is_new
            )
            SELECT device_id, path, old_value, old_type, value, value_type FROM changed
            """, logger: logger)
        var changes: [String: [ParameterChangeRow]] = [:]
        for try await (device, path, oldValue, oldType, newValue, newType) in rows.decode((String, String, String?, String?, String?, String).self) {
            changes[device, default: []].append(ParameterChangeRow(path: path, oldValue: oldValue, oldType: oldType, newValue: newValue, newType: newType))
        }
        return changes
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
