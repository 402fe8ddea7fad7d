import BusContracts
import Foundation
import Logging
import PostgresNIO
import TwinfleetModel

/// The `devices` row of one twin, locked for the duration of the transaction.
struct DeviceRow: Equatable {
    let deviceID: String
    var tenantID: String
    var protocolName: String
    var oui: String?
    var productClass: String?
    var serialNumber: String?
    var manufacturer: String?
    var modelName: String?
    var hardwareVersion: String?
    var softwareVersion: String?
    var online: Bool
    var instanceID: String?
    var connectionRequestURL: String?
    var lastBoot: Date?
    var twinVersion: Int64

    /// A device first seen in an event, to create.
    struct NewDevice {
        let deviceID: String
        let partition: Int32
        let tenantID: String
        let protocolName: String
        let at: Date
    }

    /// Locks the rows of `deviceIDs` for the transaction (in ID order, so concurrent writers
    /// never deadlock), creating `new` ones first; devices that exist nowhere are absent from
    /// the result.
    static func lock(_ deviceIDs: [String], creating new: [NewDevice], connection: PostgresConnection, logger: Logger) async throws -> [String: DeviceRow] {
        if !new.isEmpty {
            let times = new.map(\.at)
            try await connection.query("""
                INSERT INTO devices (device_id, partition, tenant_id, protocol, first_seen, last_contact)
                SELECT d, p, t, pr, at, at
                FROM unnest(\(new.map(\.deviceID))::text[], \(new.map(\.partition))::int[], \(new.map(\.tenantID))::text[],
                            \(new.map(\.protocolName))::text[], \(times)::timestamptz[]) AS x(d, p, t, pr, at)
                ORDER BY d
                ON CONFLICT (device_id) DO NOTHING
                """, logger: logger)
        }
        let rows = try await connection.query("""
            SELECT device_id, tenant_id, protocol, oui, product_class, serial_number, manufacturer, model_name,
                   hardware_version, software_version, online, instance_id, connection_request_url, last_boot, twin_version
            FROM devices WHERE device_id = ANY(\(deviceIDs)::text[]) ORDER BY device_id FOR UPDATE
            """, logger: logger)
        var result: [String: DeviceRow] = [:]
        for try await row in rows {
            let c = row.makeRandomAccess()
            let deviceID = try c[0].decode(String.self)
            result[deviceID] = DeviceRow(
                deviceID: deviceID, tenantID: try c[1].decode(String.self), protocolName: try c[2].decode(String.self),
                oui: try c[3].decode(String?.self), productClass: try c[4].decode(String?.self),
                serialNumber: try c[5].decode(String?.self), manufacturer: try c[6].decode(String?.self),
                modelName: try c[7].decode(String?.self), hardwareVersion: try c[8].decode(String?.self),
                softwareVersion: try c[9].decode(String?.self), online: try c[10].decode(Bool.self),
                instanceID: try c[11].decode(String?.self), connectionRequestURL: try c[12].decode(String?.self),
                lastBoot: try c[13].decode(Date?.self), twinVersion: try c[14].decode(Int64.self))
        }
        return result
    }

    /// Writes rows back in one statement; `lastContact` (nil: unchanged) only moves forward.
    static func save(_ rows: [(row: DeviceRow, lastContact: Date?)], connection: PostgresConnection, logger: Logger) async throws {
        guard !rows.isEmpty else { return }
        // Arrays cannot carry NULLs through postgres-nio: '' and the epoch stand for "none".
        func text(_ keyPath: KeyPath<DeviceRow, String?>) -> [String] { rows.map { $0.row[keyPath: keyPath] ?? "" } }
        let epoch = Date(timeIntervalSince1970: 0)
        let ids = rows.map(\.row.deviceID), online = rows.map(\.row.online), versions = rows.map(\.row.twinVersion)
        let boots = rows.map { $0.row.lastBoot ?? epoch }, contacts = rows.map { $0.lastContact ?? epoch }
        try await connection.query("""
            UPDATE devices d SET oui = NULLIF(x.oui, ''), product_class = NULLIF(x.pc, ''), serial_number = NULLIF(x.sn, ''),
                manufacturer = NULLIF(x.mf, ''), model_name = NULLIF(x.mn, ''), hardware_version = NULLIF(x.hv, ''),
                software_version = NULLIF(x.sv, ''), online = x.online, instance_id = NULLIF(x.inst, ''),
                connection_request_url = NULLIF(x.cr, ''), last_boot = NULLIF(x.boot, 'epoch'::timestamptz),
                last_contact = GREATEST(d.last_contact, NULLIF(x.contact, 'epoch'::timestamptz)),
                twin_version = x.version, updated_at = now()
            FROM unnest(\(ids)::text[], \(text(\.oui))::text[], \(text(\.productClass))::text[], \(text(\.serialNumber))::text[],
                        \(text(\.manufacturer))::text[], \(text(\.modelName))::text[], \(text(\.hardwareVersion))::text[],
                        \(text(\.softwareVersion))::text[], \(online)::bool[], \(text(\.instanceID))::text[],
                        \(text(\.connectionRequestURL))::text[], \(boots)::timestamptz[], \(contacts)::timestamptz[], \(versions)::bigint[])
                AS x(id, oui, pc, sn, mf, mn, hv, sv, online, inst, cr, boot, contact, version)
            WHERE d.device_id = x.id
            """, logger: logger)
    }

    /// Takes identity fields an Inform reports (empty strings leave the stored value).
    mutating func adopt(identity: Twinfleet_Bus_V1_DeviceIdentity) {
        func take(_ value: String, _ field: inout String?) { if !value.isEmpty { field = value } }
        take(identity.oui, &oui)
        take(identity.productClass, &productClass)
        take(identity.serialNumber, &serialNumber)
        take(identity.manufacturer, &manufacturer)
        take(identity.modelName, &modelName)
        take(identity.hardwareVersion, &hardwareVersion)
        take(identity.softwareVersion, &softwareVersion)
    }

    /// Takes device fields that parameters report (firmware after a transfer, the
    /// connection-request URL, identity from Boot! or a full sync).
    mutating func adopt(parameters: [Parameter]) {
        for parameter in parameters {
            let components = parameter.path.components
            guard components.count >= 3 else { continue }
            let object = components[components.count - 2], name = components[components.count - 1]
            let text = parameter.value.wireString
            switch (object, name) {
            case ("DeviceInfo", "SoftwareVersion"): softwareVersion = text
            case ("DeviceInfo", "HardwareVersion"): hardwareVersion = text
            case ("DeviceInfo", "Manufacturer"): manufacturer = text
            case ("DeviceInfo", "ModelName"): modelName = text
            case ("DeviceInfo", "ProductClass"): productClass = text
            case ("DeviceInfo", "SerialNumber"): serialNumber = text
            case ("DeviceInfo", "ManufacturerOUI"): oui = text
            case ("ManagementServer", "ConnectionRequestURL"): connectionRequestURL = text
            default: break
            }
        }
    }

    /// The identity and firmware fields that differ from `old`, for the twin change.
    func fieldChanges(since old: DeviceRow) -> [(field: String, old: String?, new: String?)] {
        let pairs: [(String, String?, String?)] = [
            ("oui", old.oui, oui), ("productClass", old.productClass, productClass),
            ("serialNumber", old.serialNumber, serialNumber), ("manufacturer", old.manufacturer, manufacturer),
            ("modelName", old.modelName, modelName), ("hardwareVersion", old.hardwareVersion, hardwareVersion),
            ("softwareVersion", old.softwareVersion, softwareVersion),
            ("connectionRequestURL", old.connectionRequestURL, connectionRequestURL),
            ("online", String(old.online), String(online)), ("instanceID", old.instanceID, instanceID),
        ]
        return pairs.filter { $0.1 != $0.2 }.map { (field: $0.0, old: $0.1, new: $0.2) }
    }
}

/// An inconsistency in the twin tables (a bug, not bad input).
struct PostgresTwinError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
