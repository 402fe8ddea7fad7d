import BusContracts

/// Twinfleet's own error codes (the 1xxx range of `CommandError.code`) that this codec puts in
/// command results when the failure is not the agent's.
/// A Twinfleet command could not be turned into a USP request. ``commandError`` is the
/// `CommandError` of the FAILED result to publish instead (never retriable: the same command
/// fails the same way).
public struct USPCommandError: Error, Hashable, Sendable, CustomStringConvertible {
    /// What kind of command was refused.
    public enum Code: String, Hashable, Sendable, CaseIterable, CustomStringConvertible {
        /// A field is missing or malformed (no kind, an invalid path, an unknown file type).
        case invalidCommand
        /// The kind has no USP form (ScheduleInform, or a file type USP has no command for).
        case notSupported

        /// The code's name, e.g. `notSupported`.
        public var description: String { rawValue }
    }

    /// What kind of command was refused.
    public var code: Code
    /// What was wrong, for people (never contains a parameter value or a credential).
    public var message: String
    /// The command's ID.
    public var commandID: String
    /// The source file that raised the error (`#fileID`).
    public var file: String
    /// The source line that raised the error.
    public var line: Int

    /// Creates an error; `file` and `line` default to the caller's location.
    public init(_ code: Code, _ message: String, commandID: String, file: String = #fileID, line: Int = #line) {
        self.code = code
        self.message = message
        self.commandID = commandID
        self.file = file
        self.line = line
    }

    /// The error for the command's FAILED result: 1001 for ``Code/notSupported``, 1004 for
    /// ``Code/invalidCommand``.
    public var commandError: Twinfleet_Bus_V1_CommandError {
        var error = Twinfleet_Bus_V1_CommandError()
        error.code = (code == .notSupported ? TwinfleetErrorCode.notSupportedByProtocol : .invalidCommand).rawValue
        error.message = message
        error.retriable = false
        return error
    }

    /// `code: message (command ID) (file:line)`.
    public var description: String { "\(code): \(message) (command \(commandID)) (\(file):\(line))" }

    /// Errors compare by what went wrong, not where in our source it was noticed.
    public static func == (lhs: USPCommandError, rhs: USPCommandError) -> Bool {
        lhs.code == rhs.code && lhs.message == rhs.message && lhs.commandID == rhs.commandID
    }

    /// Hashes what ``==(_:_:)`` compares.
    public func hash(into hasher: inout Hasher) {
        hasher.combine(code)
        hasher.combine(message)
        hasher.combine(commandID)
    }
}
