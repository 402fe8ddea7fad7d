/// Twinfleet's own error codes (1xxx) in `CommandError.code`, for failures that are neither a
/// CWMP fault (9xxx) nor a USP error (7xxx): the platform refused, lost or could not read a
/// command. One table for every producer, so a code means the same whichever ingress sent it.
public enum TwinfleetErrorCode: Int32, Sendable, Hashable, CaseIterable {
    /// 1001: the command has no form in the device's protocol (Operate over CWMP,
    /// ScheduleInform over USP), so nothing was sent.
    case notSupportedByProtocol = 1001
    /// 1002: the session or connection ended before the command completed (timeout, RPC limit,
    /// protocol error, superseded session). Retriable.
    case sessionEnded = 1002
    /// 1003: the device answered with a message that does not answer the request sent
    /// (another method or message type, another ID, an empty POST).
    case protocolError = 1003
    /// 1004: the command is malformed (no paths, a path that is not one, a value without a
    /// type, an unknown file type), so nothing was sent.
    case invalidCommand = 1004
    /// 1005: held back because an earlier command of the session failed and this one is not
    /// `independent`. Retriable: the dispatcher decides when it may run.
    case heldAfterFailure = 1005
    /// 1006: the session already holds as many commands as it may queue. Retriable.
    case sessionFull = 1006
    /// 1007: the device's answer could not be read (undecodable, or missing what it must carry).
    case malformedResponse = 1007
    /// 1008: not run because a command queued before it (and not `independent`) failed or
    /// expired; the device's queue moves on instead of waiting for ever.
    case predecessorFailed = 1008
    /// 1009: dropped because another command of the device already used its idempotency key
    /// (reported CANCELLED).
    case duplicate = 1009
    /// 1010: the device did not answer the request within the ingress's timeout (it may still
    /// act on it). Retriable.
    case responseTimeout = 1010

    /// What the code means, for people.
    public var meaning: String {
        switch self {
        case .notSupportedByProtocol: "not supported by the device's protocol"
        case .sessionEnded: "session ended before the command completed"
        case .protocolError: "protocol error: the answer does not match the request"
        case .invalidCommand: "invalid command"
        case .heldAfterFailure: "held: an earlier command of the session failed"
        case .sessionFull: "too many commands for one session"
        case .malformedResponse: "the device's answer could not be read"
        case .predecessorFailed: "an earlier command of the device failed"
        case .duplicate: "duplicate idempotency key"
        case .responseTimeout: "the device did not answer in time"
        }
    }
}
