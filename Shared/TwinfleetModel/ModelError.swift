/// A domain value was refused: a device ID, a parameter path, a typed value or a type name.
///
/// Messages say what was wrong and quote (a truncated copy of) the offending text, so they can be
/// returned in a SOAP fault, a USP Error or a problem+json body as they are. String parameter
/// values are never validated, so a secret held in one can never end up in a message.
public struct ModelError: Error, Sendable, CustomStringConvertible {
    /// What kind of value was refused.
    public enum Code: String, Sendable, Hashable, CaseIterable, CustomStringConvertible {
        /// A device ID was empty, too long or held control characters.
        case invalidDeviceID
        /// A parameter or object path was malformed.
        case invalidPath
        /// A parameter value could not be read as its declared type.
        case invalidValue
        /// A parameter type name (such as `xsd:unsignedInt`) is not a TR-106 base type.
        case invalidType

        /// The code's name, e.g. `invalidPath`.
        public var description: String { rawValue }
    }

    /// What kind of value was refused.
    public var code: Code
    /// What was wrong, for people.
    public var message: String
    /// The source file that raised the error (`#fileID`).
    public var file: String
    /// The source line that raised the error.
    public var line: Int

    /// Creates an error; `file` and `line` default to the caller's location.
    public init(_ code: Code, _ message: String, file: String = #fileID, line: Int = #line) {
        self.code = code
        self.message = message
        self.file = file
        self.line = line
    }

    /// `code: message (file:line)`.
    public var description: String { "\(code): \(message) (\(file):\(line))" }
}

extension ModelError {
    /// A quoted copy of `text` for messages, cut at `limit` characters so a megabyte of junk
    /// does not end up in a log line or a fault string.
    static func quote(_ text: some StringProtocol, limit: Int = 64) -> String {
        let escaped = text.unicodeScalars.prefix(limit + 1).map { scalar -> String in
            scalar.properties.generalCategory == .control ? scalar.escaped(asASCII: true) : String(scalar)
        }
        if escaped.count > limit {
            return "\"" + escaped.prefix(limit).joined() + "…\""
        }
        return "\"" + escaped.joined() + "\""
    }
}
