import Foundation

/// One parameter row as the evaluator sees it: `value` (NULL for objects) and `value_type`.
public struct ParameterSnapshot: Sendable, Hashable {
    /// The stored value; nil for objects.
    public var value: String?
    /// The stored `value_type`: `string`, `int`, `unsignedInt`, `long`, `unsignedLong`,
    /// `boolean`, `dateTime`, `base64`, `hexBinary`, `decimal` or `object`.
    public var type: String

    /// A row with this value and type.
    public init(value: String?, type: String) {
        self.value = value
        self.type = type
    }

    /// A string parameter.
    public static func string(_ value: String) -> ParameterSnapshot { ParameterSnapshot(value: value, type: "string") }
    /// An object row (no value).
    public static let object = ParameterSnapshot(value: nil, type: "object")
}

/// A device row and its parameter rows, in memory: what ``FleetFilter/matches(_:now:)``
/// evaluates, mirroring the `devices` and `parameters` tables column for column.
public struct DeviceSnapshot: Sendable, Hashable {
    /// `device_id`.
    public var deviceID: String
    /// `partition`.
    public var partition: Int64
    /// `tenant_id`.
    public var tenant: String
    /// `protocol`: `cwmp` or `usp`.
    public var `protocol`: String
    /// `oui`.
    public var oui: String?
    /// `product_class`.
    public var productClass: String?
    /// `serial_number`.
    public var serialNumber: String?
    /// `manufacturer`.
    public var manufacturer: String?
    /// `model_name`.
    public var modelName: String?
    /// `hardware_version`.
    public var hardwareVersion: String?
    /// `software_version`.
    public var softwareVersion: String?
    /// `tags`.
    public var tags: [String]
    /// `first_seen`.
    public var firstSeen: Date
    /// `last_contact`.
    public var lastContact: Date
    /// `last_boot`.
    public var lastBoot: Date?
    /// `online`.
    public var online: Bool
    /// `instance_id`.
    public var instance: String?
    /// `twin_version`.
    public var twinVersion: Int64
    /// The parameter rows by path.
    public var parameters: [String: ParameterSnapshot]

    /// A snapshot; everything but the device ID has a default so tests state only what matters.
    public init(
        deviceID: String, partition: Int64 = 0, tenant: String = "", protocol: String = "cwmp",
        oui: String? = nil, productClass: String? = nil, serialNumber: String? = nil,
        manufacturer: String? = nil, modelName: String? = nil, hardwareVersion: String? = nil,
        softwareVersion: String? = nil, tags: [String] = [],
        firstSeen: Date = Date(timeIntervalSince1970: 0), lastContact: Date = Date(timeIntervalSince1970: 0),
        lastBoot: Date? = nil, online: Bool = false, instance: String? = nil, twinVersion: Int64 = 0,
        parameters: [String: ParameterSnapshot] = [:]
    ) {
        self.deviceID = deviceID
        self.partition = partition
        self.tenant = tenant
        self.protocol = `protocol`
        self.oui = oui
        self.productClass = productClass
        self.serialNumber = serialNumber
        self.manufacturer = manufacturer
        self.modelName = modelName
        self.hardwareVersion = hardwareVersion
        self.softwareVersion = softwareVersion
        self.tags = tags
        self.firstSeen = firstSeen
        self.lastContact = lastContact
        self.lastBoot = lastBoot
        self.online = online
        self.instance = instance
        self.twinVersion = twinVersion
        self.parameters = parameters
    }

    /// The value of a field, typed as the filter types it; nil for NULL.
    public func value(of field: DeviceField) -> FieldValue? {
        switch field {
        case .deviceId: .text(deviceID)
        case .tenant: .text(tenant)
        case .protocol: .text(self.protocol)
        case .oui: oui.map(FieldValue.text)
        case .productClass: productClass.map(FieldValue.text)
        case .serialNumber: serialNumber.map(FieldValue.text)
        case .manufacturer: manufacturer.map(FieldValue.text)
        case .modelName: modelName.map(FieldValue.text)
        case .hardwareVersion: hardwareVersion.map(FieldValue.text)
        case .softwareVersion: softwareVersion.map(FieldValue.text)
        case .online: .boolean(online)
        case .firstSeen: .time(.instant(firstSeen))
        case .lastContact: .time(.instant(lastContact))
        case .lastBoot: lastBoot.map { .time(.instant($0)) }
        case .instance: instance.map(FieldValue.text)
        case .partition: .integer(partition)
        case .twinVersion: .integer(twinVersion)
        }
    }
}
