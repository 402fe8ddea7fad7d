/// A column of the `devices` table that filters and group keys may name.
///
/// The raw value is the name used in queries (matched case-insensitively); ``column`` is the SQL
/// column. This closed enum is the only source of identifiers in compiled SQL.
public enum DeviceField: String, Sendable, Hashable, CaseIterable, CustomStringConvertible {
    /// `device_id`, text, never null.
    case deviceId
    /// `tenant_id`, text, never null.
    case tenant
    /// `protocol`, text `cwmp` or `usp`, never null.
    case `protocol`
    /// `oui`, text, nullable.
    case oui
    /// `product_class`, text, nullable.
    case productClass
    /// `serial_number`, text, nullable.
    case serialNumber
    /// `manufacturer`, text, nullable.
    case manufacturer
    /// `model_name`, text, nullable.
    case modelName
    /// `hardware_version`, a version (ordered by ``VersionKey``), nullable.
    case hardwareVersion
    /// `software_version`, a version (ordered by ``VersionKey``), nullable.
    case softwareVersion
    /// `online`, boolean, never null.
    case online
    /// `first_seen`, timestamp, never null.
    case firstSeen
    /// `last_contact`, timestamp, never null.
    case lastContact
    /// `last_boot`, timestamp, nullable.
    case lastBoot
    /// `instance_id`, text (the ingress instance holding the device), nullable.
    case instance
    /// `partition`, integer, never null.
    case partition
    /// `twin_version`, integer, never null.
    case twinVersion

    /// What kind of values a field holds, which decides the operators and literals it accepts.
    public enum Kind: String, Sendable, Hashable, CustomStringConvertible {
        /// Text compared byte by byte (PostgreSQL `COLLATE "C"`).
        case text
        /// Text whose ordering follows ``VersionKey``; `=`/`!=` stay plain text equality.
        case version
        /// `true` or `false`.
        case boolean
        /// A 64-bit signed integer.
        case integer
        /// An instant (PostgreSQL `timestamptz`).
        case timestamp

        /// The kind's name, e.g. `timestamp`.
        public var description: String { rawValue }
    }

    /// The SQL column, qualified by nothing; compiled SQL prefixes it with the devices alias `d.`.
    public var column: String {
        switch self {
        case .deviceId: "device_id"
        case .tenant: "tenant_id"
        case .protocol: "protocol"
        case .oui: "oui"
        case .productClass: "product_class"
        case .serialNumber: "serial_number"
        case .manufacturer: "manufacturer"
        case .modelName: "model_name"
        case .hardwareVersion: "hardware_version"
        case .softwareVersion: "software_version"
        case .online: "online"
        case .firstSeen: "first_seen"
        case .lastContact: "last_contact"
        case .lastBoot: "last_boot"
        case .instance: "instance_id"
        case .partition: "partition"
        case .twinVersion: "twin_version"
        }
    }

    /// What kind of values the field holds.
    public var kind: Kind {
        switch self {
        case .deviceId, .tenant, .protocol, .oui, .productClass, .serialNumber, .manufacturer, .modelName, .instance: .text
        case .hardwareVersion, .softwareVersion: .version
        case .online: .boolean
        case .firstSeen, .lastContact, .lastBoot: .timestamp
        case .partition, .twinVersion: .integer
        }
    }

    /// Whether the column may be NULL (only these accept `IS NULL` / `IS NOT NULL`).
    public var isNullable: Bool {
        switch self {
        case .oui, .productClass, .serialNumber, .manufacturer, .modelName, .hardwareVersion, .softwareVersion, .lastBoot, .instance: true
        case .deviceId, .tenant, .protocol, .online, .firstSeen, .lastContact, .partition, .twinVersion: false
        }
    }

    /// The query name, e.g. `softwareVersion`.
    public var description: String { rawValue }

    /// The field with this query name, compared case-insensitively (ASCII), or nil.
    public init?(queryName: some StringProtocol) {
        let wanted = asciiLowercased(queryName)
        guard let field = Self.allCases.first(where: { asciiLowercased($0.rawValue) == wanted }) else { return nil }
        self = field
    }
}

/// `text` with only the ASCII letters A–Z lowered, so that no Unicode case mapping (the Kelvin
/// sign lowers to `k`) can make a name match.
func asciiLowercased(_ text: some StringProtocol) -> String {
    var scalars = String.UnicodeScalarView()
    for scalar in text.unicodeScalars {
        if scalar.value >= 0x41 && scalar.value <= 0x5A {
            scalars.append(Unicode.Scalar(scalar.value + 0x20)!)
        } else {
            scalars.append(scalar)
        }
    }
    return String(scalars)
}
