/// Twinfleet's own error codes (1xxx) in `CommandError.code`, for failures that are neither a
/// CWMP fault nor a USP error: the platform refused or lost the command.
public enum TwinfleetErrorCode: Int32, Sendable, Hashable, CaseIterable {
    /// 1001: the command has no CWMP equivalent (Operate), so nothing was sent.
    case notSupportedOverCWMP = 1001
    /// 1002: the session ended before the command completed (timeout, RPC limit, protocol
    /// error, superseded session). Retriable.
    case sessionEnded = 1002
    /// 1003: the CPE answered with a message that does not answer the RPC sent (another
    /// method, another cwmp:ID, an empty POST, an undecodable body).
    case protocolError = 1003
    /// 1004: the command is malformed (no paths, a path that is not one, a value without a
    /// type), so nothing was sent.
    case invalidCommand = 1004
    /// 1005: held back because an earlier command of this session failed and this one is not
    /// `independent`. Retriable: the dispatcher decides when it may run.
    case heldAfterFailure = 1005
    /// 1006: the session already holds ``CWMPSessionConfiguration/maxQueuedCommands`` commands.
    /// Retriable.
    case sessionFull = 1006

    /// What the code means, for people.
    public var meaning: String {
        switch self {
        case .notSupportedOverCWMP: "not supported over CWMP"
        case .sessionEnded: "session ended before the command completed"
        case .protocolError: "CWMP protocol error"
        case .invalidCommand: "invalid command"
        case .heldAfterFailure: "held: an earlier command of the session failed"
        case .sessionFull: "too many commands for one session"
        }
    }
}
