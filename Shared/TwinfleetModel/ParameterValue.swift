#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// A typed parameter value, one case per TR-106 base type.
///
/// ``wireString`` is the canonical text CWMP puts on the wire and
/// ``init(parsing:as:)`` (in `ParameterValue+Parsing.swift`) reads what devices actually send;
/// `ParameterValue(parsing: v.wireString, as: v.type) == v` for every value (date-times at
/// microsecond precision, which is all the wire and the bus carry).
public enum ParameterValue: Hashable, Sendable {
    /// `xsd:string`.
    case string(String)
    /// `xsd:int`.
    case int(Int32)
    /// `xsd:unsignedInt`.
    case unsignedInt(UInt32)
    /// `xsd:long`.
    case long(Int64)
    /// `xsd:unsignedLong`.
    case unsignedLong(UInt64)
    /// `xsd:boolean`.
    case boolean(Bool)
    /// `xsd:dateTime`; ``unknownTime`` when the device does not know the time.
    case dateTime(Date)
    /// `xsd:base64`: the decoded bytes.
    case base64(Data)
    /// `xsd:hexBinary`: the decoded bytes.
    case hexBinary(Data)
    /// `xsd:decimal`: the number as validated text (`-12.50`), so no digit is lost to binary
    /// floating point.
    case decimal(String)

    /// TR-106's "unknown time", `0001-01-01T00:00:00Z`, which devices report before NTP sync.
    public static let unknownTime = Date(timeIntervalSince1970: -62_135_596_800)

    /// The value's type.
    public var type: ParameterType {
        switch self {
        case .string: .string
        case .int: .int
        case .unsignedInt: .unsignedInt
        case .long: .long
        case .unsignedLong: .unsignedLong
        case .boolean: .boolean
        case .dateTime: .dateTime
        case .base64: .base64
        case .hexBinary: .hexBinary
        case .decimal: .decimal
        }
    }

    /// The canonical text CWMP sends: decimal integers, `true`/`false`, ISO 8601 UTC with `Z`
    /// (fraction digits only when needed), standard padded base64, lower-case hex.
    public var wireString: String {
        switch self {
        case .string(let text): text
        case .int(let number): String(number)
        case .unsignedInt(let number): String(number)
        case .long(let number): String(number)
        case .unsignedLong(let number): String(number)
        case .boolean(let flag): flag ? "true" : "false"
        case .dateTime(let date): DateTimeText.format(date)
        case .base64(let bytes): bytes.base64EncodedString()
        case .hexBinary(let bytes): Self.hex(bytes)
        case .decimal(let text): text
        }
    }

    private static func hex(_ bytes: Data) -> String {
        let digits = Array("0123456789abcdef".unicodeScalars)
        var text = String.UnicodeScalarView()
        for byte in bytes {
            text.append(digits[Int(byte >> 4)])
            text.append(digits[Int(byte & 0x0F)])
        }
        return String(text)
    }
}

extension ParameterValue: Codable {
    private enum CodingKeys: String, CodingKey {
        case type
        case value
    }

    /// Decodes `{"type": "unsignedInt", "value": "6"}`, parsing `value` as `type`.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        let typeName = try container.decode(String.self, forKey: .type)
        let text = try container.decode(String.self, forKey: .value)
        do {
            self = try ParameterValue(parsing: text, as: try ParameterType(parsing: typeName))
        } catch {
            throw DecodingError.dataCorruptedError(forKey: .value, in: container, debugDescription: error.message)
        }
    }

    /// Encodes `{"type": "unsignedInt", "value": "6"}` with the canonical ``wireString``.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(type.rawValue, forKey: .type)
        try container.encode(wireString, forKey: .value)
    }
}
