import Foundation
import Logging
import PostgresNIO
import TwinfleetModel

/// One changed parameter value (`old` nil: new path; `new` nil: removed).
struct ParameterChangeRow {
    let path: String
    let oldValue: String?
    let oldType: String?
    let newValue: String?
    let newType: String?
}

/// Writes a device's parameters and their history: one statement per report, whatever its size,
/// and a history row only where the value (or its type) actually changed.
struct ParameterStore {
    let event: DecodedDeviceEvent
    /// The twin version the changes belong to.
    let version: Int64

    init(event: DecodedDeviceEvent, version: Int64) {
        self.event = event
        self.version = version
    }

    /// Upserts reported values; `syncID` marks the rows of a full synchronisation.
    func upsert(_ parameters: [Parameter], syncID: String?, connection: PostgresConnection, logger: Logger) async throws -> [ParameterChangeRow] {
        guard !parameters.isEmpty else { return [] }
        // A report naming a path twice keeps the last value (ON CONFLICT cannot touch a row twice).
        var latest: [String: Int] = [:]
        for (index, parameter) in parameters.enumerated() { latest[parameter.path.rawValue] = index }
        let unique = latest.values.sorted().map { parameters[$0] }
        let paths = unique.map(\.path.rawValue)
        let values = unique.map(\.value.wireString)
        let types = unique.map(\.value.type.rawValue)
        let writables = unique.map { $0.writable.map { $0 ? 1 : 0 } ?? -1 }
        let rows = try await connection.query("""
            WITH input AS (
                SELECT * FROM unnest(\(paths)::text[], \(values)::text[], \(types)::text[], \(writables)::int[])
                    AS x(path, value, value_type, writable)
            ), old AS (
                SELECT p.path, p.value, p.value_type FROM parameters p
                WHERE p.device_id = \(event.deviceID) AND p.path = ANY(\(paths)::text[])
            ), upserted AS (
                INSERT INTO parameters (device_id, path, partition, value, value_type, writable, reported_at, sync_id)
                SELECT \(event.deviceID), path, \(event.partition), value, value_type,
                       CASE writable WHEN 1 THEN true WHEN 0 THEN false END, \(event.occurredAt), \(syncID)
                FROM input
                ON CONFLICT (device_id, path) DO UPDATE SET
                    value = EXCLUDED.value, value_type = EXCLUDED.value_type,
                    writable = COALESCE(EXCLUDED.writable, parameters.writable),
                    reported_at = GREATEST(parameters.reported_at, EXCLUDED.reported_at),
                    sync_id = COALESCE(EXCLUDED.sync_id, parameters.sync_id)
            ), changed AS (
                SELECT i.path, o.value AS old_value, o.value_type AS old_type, i.value AS new_value, i.value_type AS new_type
                FROM input i LEFT JOIN old o ON o.path = i.path
                WHERE o.path IS NULL OR o.value IS DISTINCT FROM i.value OR o.value_type IS DISTINCT FROM i.value_type
            ), history AS (
                INSERT INTO parameter_history (device_id, path, partition, old_value, new_value, value_type, changed_at, twin_version)
                SELECT \(event.deviceID), path, \(event.partition), old_value, new_value, new_type, \(event.occurredAt), \(version)
                FROM changed
            )
            SELECT path, old_value, old_type, new_value, new_type FROM changed
            """, logger: logger)
        var changes: [ParameterChangeRow] = []
        for try await (path, oldValue, oldType, newValue, newType) in rows.decode((String, String?, String?, String?, String?).self) {
            changes.append(ParameterChangeRow(path: path, oldValue: oldValue, oldType: oldType, newValue: newValue, newType: newType))
        }
        return changes
    }

    /// After the final chunk of a full synchronisation: removes what the device no longer has.
    func removeStale(under root: String, syncID: String, connection: PostgresConnection, logger: Logger) async throws -> [ParameterChangeRow] {
        try await removeRows(keeping: syncID, under: root, connection: connection, logger: logger)
    }

    /// Removes an object's subtree (object deleted on the device).
    func remove(under objectPath: String, connection: PostgresConnection, logger: Logger) async throws -> [ParameterChangeRow] {
        try await removeRows(keeping: nil, under: objectPath, connection: connection, logger: logger)
    }

    /// Deletes the rows under `root`, except those marked with `syncID` when one is given.
    private func removeRows(
        keeping syncID: String?, under root: String, connection: PostgresConnection, logger: Logger
    ) async throws -> [ParameterChangeRow] {
        // `starts_with` rather than LIKE: paths contain '_' (X_VENDOR), a LIKE wildcard.
        let rows = try await connection.query("""
            WITH removed AS (
                DELETE FROM parameters
                WHERE device_id = \(event.deviceID) AND starts_with(path, \(root))
                  AND (\(syncID)::text IS NULL OR sync_id IS DISTINCT FROM \(syncID))
                RETURNING path, value, value_type
            ), history AS (
                INSERT INTO parameter_history (device_id, path, partition, old_value, new_value, value_type, changed_at, twin_version)
                SELECT \(event.deviceID), path, \(event.partition), value, NULL, value_type, \(event.occurredAt), \(version)
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
