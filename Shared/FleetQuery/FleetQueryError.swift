/// A fleet filter, group key or cursor was refused.
///
/// The message says what was wrong and where, in words a person can act on ("expected a value
/// after '<' at offset 17"), and can be returned in a problem+json body as it is. Offsets count
/// Unicode scalars from 0 in the text that was parsed.
public struct FleetQueryError: Error, Sendable, Equatable, CustomStringConvertible {
    /// What kind of problem was found.
    public enum Code: String, Sendable, Hashable, CaseIterable, CustomStringConvertible {
        /// The text does not follow the grammar: a missing value, an unbalanced parenthesis, a
        /// bad escape, an unterminated string.
        case syntax
        /// A name is neither a device field, `tag`, nor a parameter path.
        case unknownField
        /// The operator or value does not fit the subject: `online < 3`, `tag > x`,
        /// `lastContact = beta`, `Device.X < true`.
        case typeMismatch
        /// A value has the right kind but cannot be used: a malformed timestamp, an integer out
        /// of range, a malformed parameter path, a protocol other than `cwmp`/`usp`.
        case invalidValue
        /// The query is longer, deeper or has more predicates or list items than allowed.
        case tooComplex
        /// A pagination cursor could not be decoded.
        case invalidCursor
        /// A pagination cursor was issued for a different filter.
        case cursorMismatch

        /// The code's name, e.g. `typeMismatch`.
        public var description: String { rawValue }
    }

    /// What kind of problem was found.
    public var code: Code
    /// Where the problem is, in Unicode scalars from the start of the text (0 for cursors and
    /// whole-query limits).
    public var offset: Int
    /// What was wrong and where, for people.
    public var message: String
    /// The source file that raised the error (`#fileID`).
    public var file: String
    /// The source line that raised the error.
    public var line: Int

    /// Creates an error; `file` and `line` default to the caller's location.
    public init(_ code: Code, at offset: Int, _ message: String, file: String = #fileID, line: Int = #line) {
        self.code = code
        self.offset = offset
        self.message = message
        self.file = file
        self.line = line
    }

    /// `code: message`. The source location is left out so the text can be shown to API users.
    public var description: String { "\(code): \(message)" }

    /// Errors are equal when code, offset and message are; where they were raised does not count.
    public static func == (lhs: FleetQueryError, rhs: FleetQueryError) -> Bool {
        lhs.code == rhs.code && lhs.offset == rhs.offset && lhs.message == rhs.message
    }
}

extension FleetQueryError {
    /// A quoted copy of `text` for messages, cut at `limit` scalars, control characters escaped,
    /// so a kilobyte of junk does not end up in a log line.
    static func quote(_ text: some StringProtocol, limit: Int = 40) -> String {
        var scalars = Array(text.unicodeScalars.prefix(limit + 1))
        let cut = scalars.count > limit
        if cut { scalars.removeLast() }
        let body = scalars.map { scalar -> String in
            if scalar == "'" { return "\\'" }
            if scalar == "\\" { return "\\\\" }
            return scalar.properties.generalCategory == .control ? scalar.escaped(asASCII: true) : String(scalar)
        }.joined()
        return "'" + body + (cut ? "…'" : "'")
    }
}
