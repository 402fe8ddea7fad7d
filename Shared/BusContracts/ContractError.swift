import TwinfleetModel

/// A bus message or name was refused: an empty or unknown oneof, an unspecified enum, a field
/// that is not a valid domain value, a malformed instance ID.
///
/// Consumers typically dead-letter the record with ``code`` as the error code and
/// ``description`` as the reason; messages never contain string parameter values.
public struct ContractError: Error, Sendable, CustomStringConvertible {
    /// What kind of problem it is.
    public enum Code: String, Sendable, Hashable, CaseIterable, CustomStringConvertible {
        /// An ingress instance ID is not `[a-z0-9-]+` (it names a topic).
        case invalidInstanceID
        /// A required oneof or enum is not set, or holds a choice this version does not know
        /// (a newer producer's field arrives as an unknown field and leaves the oneof empty).
        case missingValue
        /// An enum holds a number this version does not know.
        case unknownEnumValue
        /// A field is set but is not a valid domain value (path, device ID, decimal, …);
        /// ``ContractError/underlying`` says why.
        case invalidField

        /// The code's name, e.g. `missingValue`.
        public var description: String { rawValue }
    }

    /// What kind of problem it is.
    public var code: Code
    /// What was wrong and where, for people.
    public var message: String
    /// The domain-model error behind an ``Code/invalidField``.
    public var underlying: ModelError?
    /// The source file that raised the error (`#fileID`).
    public var file: String
    /// The source line that raised the error.
    public var line: Int

    /// Creates an error; `file` and `line` default to the caller's location.
    public init(_ code: Code, _ message: String, underlying: ModelError? = nil, file: String = #fileID, line: Int = #line) {
        self.code = code
        self.message = message
        self.underlying = underlying
        self.file = file
        self.line = line
    }

    /// `code: message (file:line)`.
    public var description: String { "\(code): \(message) (\(file):\(line))" }

    /// The same error with `context` (e.g. `parameter Device.WiFi.Radio.1.Channel`) in front of
    /// its message.
    func within(_ context: String) -> ContractError {
        var copy = self
        copy.message = "\(context): \(message)"
        return copy
    }
}
