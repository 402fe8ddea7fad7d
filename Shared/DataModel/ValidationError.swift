/// A Set, Add or Delete was refused by the data model, before anything was queued for the
/// device.
///
/// The message starts with the concrete path and names the expected type or constraint and the
/// offending value (`Device.WiFi.Radio.1.Channel: 300 is outside 1...255`), so it can go into a
/// problem+json body as it is. Values of secured parameters (passwords, keys) are never quoted.
public struct ValidationError: Error, Sendable, CustomStringConvertible {
    /// Why the request was refused; stable names, safe to match on and to expose in the API.
    public enum Code: String, Sendable, Hashable, CaseIterable, CustomStringConvertible {
        /// No such path in the device's data model (and it is not a vendor extension).
        case unknownPath
        /// The path names an object where a parameter was expected.
        case objectNotParameter
        /// The path names a parameter where an object was expected.
        case parameterNotObject
        /// Add or Delete on an object that is not a table.
        case notATable
        /// Add was given an instance (`Device.IP.Interface.3.`) or Delete was not
        /// (`Device.IP.Interface.`).
        case instanceMismatch
        /// The parameter is read-only (or write-once and the object already exists), or the
        /// table's instances cannot be added or deleted by a controller.
        case notWritable
        /// The value cannot be read as the parameter's type.
        case typeMismatch
        /// A number is outside the allowed ranges.
        case outOfRange
        /// A string or binary value is shorter than allowed.
        case tooShort
        /// A string or binary value is longer than allowed.
        case tooLong
        /// A value is not one of the enumerated values.
        case notInEnumeration
        /// A string does not match the parameter's patterns.
        case patternMismatch
        /// A list has fewer items than allowed.
        case tooFewItems
        /// A list has more items than allowed.
        case tooManyItems

        /// The code's name, e.g. `outOfRange`.
        public var description: String { rawValue }
    }

    /// Why the request was refused.
    public var code: Code
    /// The path as given.
    public var path: String
    /// `path: what is wrong`, for people.
    public var message: String
    /// The source file that raised the error (`#fileID`).
    public var file: String
    /// The source line that raised the error.
    public var line: Int

    /// Creates an error whose message is `path: detail`.
    public init(_ code: Code, path: String, _ detail: String, file: String = #fileID, line: Int = #line) {
        self.code = code
        self.path = path
        self.message = "\(path): \(detail)"
        self.file = file
        self.line = line
    }

    /// `code: message (file:line)`.
    public var description: String { "\(code): \(message) (\(file):\(line))" }
}

extension ValidationError {
    /// A quoted copy of `text` for messages, control characters escaped, cut at `limit`
    /// characters so a megabyte of junk does not end up in a log line.
    static func quote(_ text: some StringProtocol, limit: Int = 64) -> String {
        var shown = ""
        var count = 0
        for scalar in text.unicodeScalars {
            if count == limit { return "\"" + shown + "…\"" }
            shown += scalar.properties.generalCategory == .control ? scalar.escaped(asASCII: true) : String(scalar)
            count += 1
        }
        return "\"" + shown + "\""
    }
}
