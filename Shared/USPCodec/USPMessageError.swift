/// A USP Msg from an agent was refused. Every error says what the controller does about it
/// (``action``): a request (a Notify, or one the controller does not serve) is answered with a
/// USP Error message carrying the request's `msg_id`; anything else is dropped, as TR-369 R-MTP.5
/// asks (a response or an Error is never answered, and a Msg that cannot be read cannot be
/// answered). A refused response still carries its ``msgID`` so the caller can fail the command
/// that waits for it.
public struct USPMessageError: Error, Hashable, Sendable, CustomStringConvertible {
    /// What kind of message was refused.
    public enum Code: String, Hashable, Sendable, CaseIterable, CustomStringConvertible {
        /// Larger than ``USPLimits/maxRecordBytes``.
        case tooLarge
        /// The bytes are not a protobuf `Msg` (or nest deeper than the limit).
        case notProtobuf
        /// The Msg has no header.
        case missingHeader
        /// The header's `msg_id` is empty.
        case missingMsgID
        /// The Msg has no body, or a body of a kind this version does not know.
        case missingBody
        /// The header's `msg_type` does not match the body.
        case typeMismatch
        /// A request a controller does not serve (Get, Set, …, Register) or one this version does
        /// not know.
        case unsupportedRequest
        /// A response a controller never expects (NotifyResp, RegisterResp, DeregisterResp) or one
        /// this version does not know.
        case unexpectedResponse
        /// A Notify with a missing or malformed part.
        case invalidRequest
        /// A response with a missing or malformed part.
        case invalidResponse

        /// The code's name, e.g. `typeMismatch`.
        public var description: String { rawValue }
    }

    /// What the controller does about a refused message.
    public enum Action: Hashable, Sendable {
        /// Drop it and send nothing (counted and logged by the caller).
        case ignore
        /// Answer with a USP Error message with this code, ``message`` and ``msgID``
        /// (``errorResponse()`` builds it).
        case sendError(USPErrorCode)
    }

    /// What kind of message was refused.
    public var code: Code
    /// What was wrong, for people; safe to put in an Error message's `err_msg`.
    public var message: String
    /// The refused message's `msg_id`, when it got far enough to have one.
    public var msgID: String?
    /// True when the refused message is a request (its body is a `Request`).
    public var isRequest: Bool
    /// The source file that raised the error (`#fileID`).
    public var file: String
    /// The source line that raised the error.
    public var line: Int

    /// Creates an error; `file` and `line` default to the caller's location.
    public init(_ code: Code, _ message: String, msgID: String? = nil, isRequest: Bool = false, file: String = #fileID, line: Int = #line) {
        self.code = code
        self.message = message
        self.msgID = msgID.flatMap { $0.isEmpty ? nil : $0 }
        self.isRequest = isRequest
        self.file = file
        self.line = line
    }

    /// What the controller does: requests with a `msg_id` get an Error message (7001 for ones a
    /// controller does not serve, 7004 for malformed ones); everything else is ignored.
    public var action: Action {
        guard isRequest, msgID != nil else { return .ignore }
        switch code {
        case .unsupportedRequest: return .sendError(.messageNotSupported)
        case .invalidRequest, .typeMismatch: return .sendError(.invalidArguments)
        case .tooLarge, .notProtobuf, .missingHeader, .missingMsgID, .missingBody, .unexpectedResponse, .invalidResponse:
            return .ignore
        }
    }

    /// The USP Error message the action calls for, or nil when the message is to be ignored.
    public func errorResponse() -> Usp_Msg? {
        guard case .sendError(let errorCode) = action, let msgID else { return nil }
        return USPMessages.error(msgID: msgID, code: errorCode, message: message)
    }

    /// `code: message [msg_id] (file:line)`.
    public var description: String {
        "\(code): \(message)\(msgID.map { " [msg_id \(quoted($0))]" } ?? "") (\(file):\(line))"
    }

    /// Errors compare by what went wrong, not where in our source it was noticed.
    public static func == (lhs: USPMessageError, rhs: USPMessageError) -> Bool {
        lhs.code == rhs.code && lhs.message == rhs.message && lhs.msgID == rhs.msgID && lhs.isRequest == rhs.isRequest
    }

    /// Hashes what ``==(_:_:)`` compares.
    public func hash(into hasher: inout Hasher) {
        hasher.combine(code)
        hasher.combine(message)
        hasher.combine(msgID)
        hasher.combine(isRequest)
    }
}
