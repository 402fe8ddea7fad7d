/// The identity of one CPE, and the key of every Kafka record about it.
///
/// For CWMP devices it is conventionally `OUI-ProductClass-SerialNumber` (or `OUI-SerialNumber`
/// when the device reports no product class); see ``cwmp(oui:productClass:serialNumber:)``. For USP
/// devices it is the agent's endpoint ID, e.g. `os::012345-ABCDEF`.
///
/// Equality and hashing are byte-wise over the UTF-8 form, not Swift's canonical string
/// equivalence: the Kafka partition (and so the shard) is chosen from those bytes, and two IDs
/// that land on different partitions must not compare equal.
public struct DeviceID: Hashable, Sendable, Comparable, CustomStringConvertible {
    /// Longest accepted ID, in UTF-8 bytes.
    public static let maxUTF8Length = 256

    /// The ID as text.
    public let rawValue: String

    /// Validates `text`: non-empty, at most ``maxUTF8Length`` UTF-8 bytes, no control characters.
    public init(validating text: String) throws(ModelError) {
        if text.isEmpty {
            throw ModelError(.invalidDeviceID, "device ID is empty")
        }
        let length = text.utf8.count
        if length > Self.maxUTF8Length {
            throw ModelError(.invalidDeviceID, "device ID is \(length) UTF-8 bytes long, more than \(Self.maxUTF8Length): \(ModelError.quote(text))")
        }
        if let offset = text.unicodeScalars.firstIndex(where: { $0.properties.generalCategory == .control }) {
            let position = text.unicodeScalars.distance(from: text.unicodeScalars.startIndex, to: offset)
            throw ModelError(.invalidDeviceID, "device ID has a control character at position \(position): \(ModelError.quote(text))")
        }
        rawValue = text
    }

    /// Builds the conventional CWMP device ID from the `DeviceIdStruct` of an Inform:
    /// `OUI-ProductClass-SerialNumber`, or `OUI-SerialNumber` when `productClass` is nil or empty.
    ///
    /// Every character of each part other than ASCII letters, digits and `_` is percent-encoded
    /// (UTF-8, upper-case hex), as GenieACS does, so a `-` inside a serial number cannot make two
    /// devices share an ID: `("00D09E", "IGD", "AB-1")` gives `00D09E-IGD-AB%2D1`.
    public static func cwmp(oui: String, productClass: String?, serialNumber: String) throws(ModelError) -> DeviceID {
        if oui.isEmpty {
            throw ModelError(.invalidDeviceID, "CWMP device ID needs an OUI, got an empty one")
        }
        if serialNumber.isEmpty {
            throw ModelError(.invalidDeviceID, "CWMP device ID needs a serial number, got an empty one")
        }
        var parts = [oui]
        if let productClass, !productClass.isEmpty { parts.append(productClass) }
        parts.append(serialNumber)
        return try DeviceID(validating: parts.map(percentEncoded).joined(separator: "-"))
    }

    /// The UTF-8 bytes of the ID: the Kafka record key, and the input of the partition hash.
    public var utf8Bytes: [UInt8] { Array(rawValue.utf8) }

    /// The ID as text.
    public var description: String { rawValue }

    /// Byte-wise equality (see the type's documentation).
    public static func == (lhs: DeviceID, rhs: DeviceID) -> Bool {
        lhs.rawValue.utf8.elementsEqual(rhs.rawValue.utf8)
    }

    /// Hashes the UTF-8 bytes, consistently with ``==(_:_:)``.
    public func hash(into hasher: inout Hasher) {
        hasher.combine(rawValue.utf8.count)
        for byte in rawValue.utf8 { hasher.combine(byte) }
    }

    /// Byte-wise order of the UTF-8 forms (the order PostgreSQL's `C` collation gives).
    public static func < (lhs: DeviceID, rhs: DeviceID) -> Bool {
        lhs.rawValue.utf8.lexicographicallyPrecedes(rhs.rawValue.utf8)
    }

    private static func percentEncoded(_ part: String) -> String {
        var result = ""
        for byte in part.utf8 {
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
                 UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "_"):
                result.unicodeScalars.append(Unicode.Scalar(byte))
            default:
                let hex = Array("0123456789ABCDEF".unicodeScalars)
                result.unicodeScalars.append("%")
                result.unicodeScalars.append(hex[Int(byte >> 4)])
                result.unicodeScalars.append(hex[Int(byte & 0x0F)])
            }
        }
        return result
    }
}

extension DeviceID: Codable {
    /// Decodes a plain string and validates it.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        let text = try container.decode(String.self)
        do {
            try self.init(validating: text)
        } catch {
            throw DecodingError.dataCorruptedError(in: container, debugDescription: error.message)
        }
    }

    /// Encodes the ID as a plain string.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(rawValue)
    }
}
