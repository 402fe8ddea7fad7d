/// The TR-106 base types a parameter can have, as CWMP names them in `xsi:type` attributes.
public enum ParameterType: String, Sendable, Hashable, CaseIterable, Codable, CustomStringConvertible {
    /// `xsd:string`.
    case string
    /// `xsd:int`: a signed 32-bit integer.
    case int
    /// `xsd:unsignedInt`: an unsigned 32-bit integer.
    case unsignedInt
    /// `xsd:long`: a signed 64-bit integer.
    case long
    /// `xsd:unsignedLong`: an unsigned 64-bit integer.
    case unsignedLong
    /// `xsd:boolean`.
    case boolean
    /// `xsd:dateTime`: an ISO 8601 instant (UTC unless an offset is given).
    case dateTime
    /// `xsd:base64`: bytes in standard base64.
    case base64
    /// `xsd:hexBinary`: bytes as hexadecimal digit pairs.
    case hexBinary
    /// `xsd:decimal`: an exact decimal number, kept as text.
    case decimal

    /// The name with its namespace prefix, as CWMP writes it: `xsd:unsignedInt`.
    public var xsdName: String { "xsd:" + rawValue }

    /// The name without prefix, e.g. `unsignedInt`.
    public var description: String { rawValue }

    /// Reads a type name as devices and data-model files write it: case-insensitive, with or
    /// without the `xsd:` prefix, surrounding whitespace ignored; `base64Binary` is taken as
    /// ``base64``.
    public init(parsing text: String) throws(ModelError) {
        var name = Substring(text).trimmingASCIIWhitespace().lowercased()
        if name.hasPrefix("xsd:") { name.removeFirst(4) }
        if name == "base64binary" { name = "base64" }
        guard let type = Self.allCases.first(where: { $0.rawValue.lowercased() == name }) else {
            throw ModelError(.invalidType, "\(ModelError.quote(text)) is not a TR-106 base type (expected one of \(Self.allCases.map(\.xsdName).joined(separator: ", ")))")
        }
        self = type
    }
}

extension Substring {
    /// The text without leading and trailing spaces, tabs, carriage returns and line feeds.
    func trimmingASCIIWhitespace() -> Substring {
        func isSpace(_ c: Character) -> Bool { c == " " || c == "\t" || c == "\n" || c == "\r" || c == "\r\n" }
        guard let first = firstIndex(where: { !isSpace($0) }), let last = lastIndex(where: { !isSpace($0) }) else {
            return self[endIndex...]
        }
        return self[first...last]
    }
}
