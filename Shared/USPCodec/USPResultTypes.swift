/// A failure an agent reported for a requested path, an object or a command.
public struct USPFailure: Hashable, Sendable, CustomStringConvertible {
    /// The USP error code.
    public var code: USPErrorCode
    /// The agent's explanation (may be empty).
    public var message: String

    /// Creates a failure.
    public init(code: USPErrorCode, message: String) {
        self.code = code
        self.message = message
    }

    /// `7016 Object does not exist: <message>`.
    public var description: String { message.isEmpty ? code.description : "\(code): \(message)" }
}

/// A failure about one parameter, with its full path.
public struct USPParameterError: Hashable, Sendable {
    /// Full path of the parameter (or the path the agent named).
    public var path: String
    /// The USP error code.
    public var code: USPErrorCode
    /// The agent's explanation (may be empty).
    public var message: String

    /// Creates a parameter error.
    public init(path: String, code: USPErrorCode, message: String) {
        self.path = path
        self.code = code
        self.message = message
    }
}

/// A parameter value as an agent reported it: full path and text (USP values carry no type).
public struct USPReportedParameter: Hashable, Sendable {
    /// Full parameter path, e.g. `Device.WiFi.Radio.1.Channel`.
    public var path: String
    /// The value as text.
    public var text: String

    /// Creates a reported parameter.
    public init(path: String, text: String) {
        self.path = path
        self.text = text
    }
}

/// The full path of `name` inside the object path `object` (a missing trailing dot is supplied).
func join(_ object: String, _ name: String) -> String {
    object.isEmpty || object.hasSuffix(".") ? object + name : object + "." + name
}

/// Name-sorted entries of a result map, so outputs are deterministic.
func sortedEntries(_ map: [String: String]) -> [(key: String, value: String)] {
    map.sorted { $0.key < $1.key }
}

/// An Error message: the agent refused a whole request.
public struct USPErrorMessage: Hashable, Sendable, CustomStringConvertible {
    /// The USP error code.
    public var code: USPErrorCode
    /// The agent's explanation.
    public var message: String
    /// Per-parameter errors (Set and Add with `allow_partial` false, Operate arguments).
    public var parameterErrors: [USPParameterError]

    /// Creates an error message.
    public init(code: USPErrorCode, message: String, parameterErrors: [USPParameterError] = []) {
        self.code = code
        self.message = message
        self.parameterErrors = parameterErrors
    }

    init(_ proto: Usp_Error) {
        code = USPErrorCode(proto.errCode)
        message = proto.errMsg
        parameterErrors = proto.paramErrs.map { USPParameterError(path: $0.paramPath, code: USPErrorCode($0.errCode), message: $0.errMsg) }
    }

    /// `7004 Invalid arguments: <message>`.
    public var description: String { message.isEmpty ? code.description : "\(code): \(message)" }
}
