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

    /// Locks the device's row, creating it on first sight.
    static func lockOrCreate(_ event: DecodedDeviceEvent, connection: PostgresConnection, logger: Logger) async throws -> DeviceRow {
        try await connection.query("""
            INSERT INTO devices (device_id, partition, tenant_id, protocol, first_seen, last_contact)
            VALUES (\(event.deviceID), \(event.partition), \(event.tenantID), \(event.protocolName), \(event.occurredAt), \(event.occurredAt))
            ON CONFLICT (device_id) DO NOTHING
            """, logger: logger)
        let rows = try await connection.query("""
            SELECT tenant_id, protocol, oui, product_class, serial_number, manufacturer, model_name,
                   hardware_version, software_version, online, instance_id, connection_request_url, last_boot, twin_version
            FROM devices WHERE device_id = \(event.deviceID) FOR UPDATE
            """, logger: logger)
        for try await row in rows {
            let (tenant, proto, oui, productClass, serial, manufacturer, model) =
                try row.decode((String, String, String?, String?, String?, String?, String?).self)
            let columns = row.makeRandomAccess()
            return DeviceRow(
                deviceID: event.deviceID, tenantID: tenant, protocolName: proto, oui: oui, productClass: productClass,
                serialNumber: serial, manufacturer: manufacturer, modelName: model,
                hardwareVersion: try columns[7].decode(String?.self), softwareVersion: try columns[8].decode(String?.self),
                online: try columns[9].decode(Bool.self), instanceID: try columns[10].decode(String?.self),
                connectionRequestURL: try columns[11].decode(String?.self), lastBoot: try columns[12].decode(Date?.self),
                twinVersion: try columns[13].decode(Int64.self))
        }
        throw PostgresTwinError("device row \(event.deviceID) vanished inside its transaction")
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

    /// Writes the row back; last contact only moves forward.
    func save(lastContact: Date, connection: PostgresConnection, logger: Logger) async throws {
        try await connection.query("""
            UPDATE devices SET oui = \(oui), product_class = \(productClass), serial_number = \(serialNumber),
                manufacturer = \(manufacturer), model_name = \(modelName), hardware_version = \(hardwareVersion),
                software_version = \(softwareVersion), online = \(online), instance_id = \(instanceID),
                connection_request_url = \(connectionRequestURL), last_boot = \(lastBoot),
                last_contact = GREATEST(last_contact, \(lastContact)), twin_version = \(twinVersion), updated_at = now()
            WHERE device_id = \(deviceID)
            """, logger: logger)
    }
}

/// An inconsistency in the twin tables (a bug, not bad input).
struct PostgresTwinError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
