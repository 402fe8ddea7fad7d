/// A USP Msg an agent sent to this controller, checked and typed by ``USPMessageDecoder``.
public struct USPAgentMessage: Hashable, Sendable {
    /// What the message is.
    public enum Body: Hashable, Sendable {
        /// A notification (the only request an agent sends a controller).
        case notify(USPNotify)
        /// A response to one of this controller's requests.
        case response(USPResponse)
        /// The agent refused one of this controller's requests.
        case error(USPErrorMessage)
    }

    /// The `msg_id`: the agent's own for a Notify, the request's for a response or an Error.
    public var msgID: String
    /// What the message is.
    public var body: Body

    /// Creates a message.
    public init(msgID: String, body: Body) {
        self.msgID = msgID
        self.body = body
    }

    /// The request this message answers, when it answers one of this controller's own
    /// requests (``USPMessageID``); nil for a Notify.
    public var answeredRequest: USPMessageID? {
        if case .notify = body { return nil }
        return USPMessageID(parsing: msgID)
    }
}

/// A response to one of this controller's requests.
public enum USPResponse: Hashable, Sendable {
    /// A GetResp.
    case get(USPGetResponse)
    /// A SetResp.
    case set(USPSetResponse)
    /// An AddResp.
    case add(USPAddResponse)
    /// A DeleteResp.
    case delete(USPDeleteResponse)
    /// An OperateResp.
    case operate(USPOperateResponse)
    /// A GetSupportedDMResp.
    case getSupportedDM(USPSupportedDataModel)
    /// A GetInstancesResp.
    case getInstances(USPInstancesResponse)
    /// A GetSupportedProtocolResp: the versions the agent speaks.
    case getSupportedProtocol(agentSupportedProtocolVersions: String)

    /// The message type's name as TR-369 writes it, e.g. `GetResp`.
    public var name: String {
        switch self {
        case .get: "GetResp"
        case .set: "SetResp"
        case .add: "AddResp"
        case .delete: "DeleteResp"
        case .operate: "OperateResp"
        case .getSupportedDM: "GetSupportedDMResp"
        case .getInstances: "GetInstancesResp"
        case .getSupportedProtocol: "GetSupportedProtocolResp"
        }
    }
}
