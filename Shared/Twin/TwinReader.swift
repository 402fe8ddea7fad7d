import Foundation
import Logging
import PostgresNIO
import ShardedPostgres
import TwinfleetModel

/// A device's fields as the twin holds them.
public struct TwinDevice: Sendable, Equatable {
    public var deviceID: String
    public var partition: Int32
    public var tenantID: String
    public var protocolName: String
    public var oui: String?
    public var productClass: String?
    public var serialNumber: String?
    public var manufacturer: String?
    public var modelName: String?
    public var hardwareVersion: String?
    public var softwareVersion: String?
    public var tags: [String]
    public var firstSeen: Date
    public var lastContact: Date
    public var lastBoot: Date?
    public var online: Bool
    public var instanceID: String?
    public var connectionRequestURL: String?
    public var twinVersion: Int64
}

/// One parameter of a twin: reported value, desired value (while a queued Set will change it).
public struct TwinParameter: Sendable, Equatable {
    public var path: String
    /// The reported value, typed.
    public var value: ParameterValue
    public var writable: Bool?
    /// Since when the device has reported this value (a value reported again unchanged keeps
    /// its first time).
    public var valueSince: Date
    /// The value a queued command will set, if any.
    public var desired: ParameterValue?
    /// The command that will set it.
    public var desiredCommandID: String?
}

/// A value as it changed: from `changedAt` the parameter held `value` (nil: it was removed).
public struct ParameterHistoryEntry: Sendable, Equatable {
    public var changedAt: Date
    public var value: ParameterValue?
}

/// Reads twins from their shards (read-only: every write goes through a topic).
public struct TwinReader: Sendable {
    let postgres: ShardedPostgres

    /// Creates a reader over the shards.
    public init(postgres: ShardedPostgres) {
        self.postgres = postgres
    }

    func client(_ deviceID: String) -> PostgresClient {
        postgres.client(forPartition: postgres.shardMap.partition(forDevice: deviceID))
    }

    /// The device fields, or nil for a device never seen.
    public func device(_ deviceID: String, logger: Logger) async throws -> TwinDevice? {
        let rows = try await client(deviceID).query(
            PostgresQuery(unsafeSQL: "SELECT \(Self.deviceColumns) FROM devices d WHERE d.device_id = $1", binds: try Self.binds(deviceID)),
            logger: logger)
        for try await row in rows { return try Self.device(from: row) }
        return nil
    }

    /// The parameters under `prefix` (a path prefix such as `Device.WiFi.`; empty for all), in path order.
    public func parameters(_ deviceID: String, under prefix: String = "", logger: Logger) async throws -> [TwinParameter] {
        let rows = try await client(deviceID).query("""
            SELECT path, value, value_type, writable, value_since, desired_value, desired_type, desired_command_id
            FROM parameters WHERE device_id = \(deviceID) AND starts_with(path, \(prefix)) ORDER BY path
            """, logger: logger)
        var result: [TwinParameter] = []
        for try await (path, value, type, writable, valueSince, desiredValue, desiredType, commandID)
            in rows.decode((String, String?, String, Bool?, Date, String?, String?, String?).self) {
            guard let current = Self.typed(value, type) else { continue }
            result.append(TwinParameter(
                path: path, value: current, writable: writable, valueSince: valueSince,
                desired: Self.typed(desiredValue, desiredType), desiredCommandID: commandID))
        }
        return result
    }

    /// Every change of one parameter between two times (inclusive), oldest first.
    public func history(_ deviceID: String, path: String, from: Date, to: Date, logger: Logger) async throws -> [ParameterHistoryEntry] {
        // The intervals each value held (history rows, then the current row), oldest first.
        let rows = try await client(deviceID).query("""
            SELECT value, value_type, valid_from, changed_at FROM (
                SELECT value, value_type, valid_from, changed_at FROM parameter_history
                WHERE device_id = \(deviceID) AND path = \(path) AND changed_at >= \(from) AND valid_from <= \(to)
                UNION ALL
                SELECT value, value_type, value_since, NULL FROM parameters
                WHERE device_id = \(deviceID) AND path = \(path) AND value_since <= \(to)
            ) intervals ORDER BY valid_from, changed_at NULLS LAST
            """, logger: logger)
        var intervals: [(value: ParameterValue?, from: Date, until: Date?)] = []
        for try await (value, type, validFrom, until) in rows.decode((String?, String, Date, Date?).self) {
            intervals.append((Self.typed(value, type), validFrom, until))
        }
        var entries: [ParameterHistoryEntry] = []
        for (index, interval) in intervals.enumerated() {
            entries.append(ParameterHistoryEntry(changedAt: interval.from, value: interval.value))
            // A gap after an interval: the parameter was removed when it ended.
            if let until = interval.until, index + 1 == intervals.count || intervals[index + 1].from != until {
                entries.append(ParameterHistoryEntry(changedAt: until, value: nil))
            }
        }
        return entries.filter { $0.changedAt >= from && $0.changedAt <= to }
    }

    /// The device's parameters as they were at `time`: the current value where it already held
    /// then, else the superseded value whose interval covers `time`.
    public func parameters(_ deviceID: String, asOf time: Date, under prefix: String = "", logger: Logger) async throws -> [String: ParameterValue] {
        let rows = try await client(deviceID).query("""
            SELECT path, value, value_type FROM parameters
            WHERE device_id = \(deviceID) AND starts_with(path, \(prefix)) AND value_since <= \(time)
            UNION ALL
            SELECT path, value, value_type FROM parameter_history
            WHERE device_id = \(deviceID) AND starts_with(path, \(prefix)) AND valid_from <= \(time) AND changed_at > \(time)
            """, logger: logger)
        var result: [String: ParameterValue] = [:]
        for try await (path, value, type) in rows.decode((String, String?, String).self) {
            if let value = Self.typed(value, type) { result[path] = value }
        }
        return result
    }

    /// Connectivity and lifecycle history between two times, oldest first.
    public func events(_ deviceID: String, from: Date, to: Date, logger: Logger) async throws -> [(at: Date, kind: String, detail: String)] {
        let rows = try await client(deviceID).query("""
            SELECT occurred_at, kind, detail FROM device_events
            WHERE device_id = \(deviceID) AND occurred_at BETWEEN \(from) AND \(to) ORDER BY occurred_at
            """, logger: logger)
        var result: [(at: Date, kind: String, detail: String)] = []
        for try await (at, kind, detail) in rows.decode((Date, String, String).self) { result.append((at, kind, detail)) }
        return result
    }

    static func typed(_ text: String?, _ typeName: String?) -> ParameterValue? { storedValue(text, typeName) }

    /// The `devices` columns a `TwinDevice` is read from (alias `d`), in `device(from:)`'s order.
    static let deviceColumns = """
        d.device_id, d.partition, d.tenant_id, d.protocol, d.oui, d.product_class, d.serial_number, d.manufacturer,
        d.model_name, d.hardware_version, d.software_version, d.tags, d.first_seen, d.last_contact, d.last_boot,
        d.online, d.instance_id, d.connection_request_url, d.twin_version
        """

    static func device(from row: PostgresRow) throws -> TwinDevice {
        let c = row.makeRandomAccess()
        return TwinDevice(
            deviceID: try c[0].decode(String.self), partition: try c[1].decode(Int32.self),
            tenantID: try c[2].decode(String.self), protocolName: try c[3].decode(String.self),
            oui: try c[4].decode(String?.self), productClass: try c[5].decode(String?.self),
            serialNumber: try c[6].decode(String?.self), manufacturer: try c[7].decode(String?.self),
            modelName: try c[8].decode(String?.self), hardwareVersion: try c[9].decode(String?.self),
            softwareVersion: try c[10].decode(String?.self), tags: try c[11].decode([String].self),
            firstSeen: try c[12].decode(Date.self), lastContact: try c[13].decode(Date.self),
            lastBoot: try c[14].decode(Date?.self), online: try c[15].decode(Bool.self),
            instanceID: try c[16].decode(String?.self), connectionRequestURL: try c[17].decode(String?.self),
            twinVersion: try c[18].decode(Int64.self))
    }

    static func binds(_ values: String...) throws -> PostgresBindings {
        var bindings = PostgresBindings()
        for value in values { bindings.append(value) }
        return bindings
    }
}

/// A stored text value back in its type (text that no longer parses as its type stays a string).
func storedValue(_ text: String?, _ typeName: String?) -> ParameterValue? {
    guard let text, let typeName else { return nil }
    let type = (try? ParameterType(parsing: typeName)) ?? .string
    return (try? ParameterValue(parsing: text, as: type)) ?? .string(text)
}
