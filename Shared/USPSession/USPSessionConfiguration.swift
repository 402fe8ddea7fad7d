import BusContracts
import USPCodec

/// How a controller session with one USP agent behaves (the usp-ingress configuration).
public struct USPSessionConfiguration: Sendable {
    /// This controller's endpoint ID (records' `to_id` from agents, `from_id` to them).
    public var controllerEndpointID: String
    /// The ingress instance, e.g. `usp-ingress-0`: the dispatcher's routing target.
    public var instanceID: String
    /// Tenant of the agents this ingress serves.
    public var tenantID: String
    /// How long a request to the agent may go unanswered before its command fails (retriable).
    public var requestTimeout: Duration
    /// Parameters (or partial paths) whose value changes the agent is asked to notify.
    public var valueChangePaths: [String]
    /// Tables whose instance creation and deletion the agent notifies (one subscription each,
    /// since an agent refuses a whole subscription when one path is not a table it has).
    public var objectPaths: [String]
    /// How many first-level objects one Get of a data-model synchronisation reads.
    public var syncPathsPerGet: Int
    /// Parameters per ParameterReport record of a synchronisation.
    public var maxParametersPerChunk: Int
    /// Most requests in flight on one connection; further deliveries are handed back.
    public var maxInFlight: Int
    /// Consecutive unreadable records after which the connection is closed.
    public var maxBadRecords: Int
    /// Instances and options used to translate transfers.
    public var requestOptions: USPRequestOptions
    /// Size and nesting limits of records and messages.
    public var limits: USPLimits

    /// A configuration; every argument but the identities has a production default.
    public init(controllerEndpointID: String, instanceID: String, tenantID: String, requestTimeout: Duration = .seconds(30),
                valueChangePaths: [String] = [], objectPaths: [String] = ["Device.Hosts.Host."], syncPathsPerGet: Int = 8,
                maxParametersPerChunk: Int = 1000, maxInFlight: Int = 64, maxBadRecords: Int = 10,
                requestOptions: USPRequestOptions = USPRequestOptions(), limits: USPLimits = .default) {
        self.controllerEndpointID = controllerEndpointID
        self.instanceID = instanceID
        self.tenantID = tenantID
        self.requestTimeout = requestTimeout
        self.valueChangePaths = valueChangePaths
        self.objectPaths = objectPaths
        self.syncPathsPerGet = syncPathsPerGet
        self.maxParametersPerChunk = maxParametersPerChunk
        self.maxInFlight = maxInFlight
        self.maxBadRecords = maxBadRecords
        self.requestOptions = requestOptions
        self.limits = limits
    }

    /// The prefix of every subscription ID this controller creates; instances with it that are
    /// not in ``subscriptions`` are stale (an earlier configuration) and are deleted.
    public static let subscriptionPrefix = "twinfleet-"

    /// The subscriptions Twinfleet needs on every agent. IDs are derived from what they cover,
    /// so a changed configuration creates new ones and retires the old.
    ///
    /// - `Device.Boot!` with NotifRetry (the agent waits for a NotifyResp and retries), and
    ///   `Device.LocalAgent.TransferComplete!`;
    /// - ObjectCreation and ObjectDeletion of each table of ``objectPaths``;
    /// - OperationComplete of every command (`Device.`), so asynchronous commands report back;
    /// - ValueChange of ``valueChangePaths``, when there are any.
    public var subscriptions: [USPSubscription] {
        func id(_ kind: String, _ paths: [String]) -> String {
            Self.subscriptionPrefix + kind + "-" + fnv1a(paths.joined(separator: ","))
        }
        var list = [
            USPSubscription(id: id("boot", ["Device.Boot!"]), notificationType: .event, referenceList: ["Device.Boot!"], notificationRetry: true),
            USPSubscription(id: id("transfer", ["Device.LocalAgent.TransferComplete!"]), notificationType: .event,
                            referenceList: ["Device.LocalAgent.TransferComplete!"], notificationRetry: true),
            USPSubscription(id: id("opc", ["Device."]), notificationType: .operationComplete, referenceList: ["Device."], notificationRetry: true),
        ]
        for table in objectPaths {
            list.append(USPSubscription(id: id("objc", [table]), notificationType: .objectCreation, referenceList: [table]))
            list.append(USPSubscription(id: id("objd", [table]), notificationType: .objectDeletion, referenceList: [table]))
        }
        if !valueChangePaths.isEmpty {
            list.append(USPSubscription(id: id("vc", valueChangePaths), notificationType: .valueChange, referenceList: valueChangePaths))
        }
        return list
    }
}

/// 32-bit FNV-1a of `text`, as 8 lower-case hex digits: a short stable name for a path list.
func fnv1a(_ text: String) -> String {
    var hash: UInt32 = 2_166_136_261
    for byte in text.utf8 {
        hash ^= UInt32(byte)
        hash = hash &* 16_777_619
    }
    let hex = String(hash, radix: 16)
    return String(repeating: "0", count: 8 - hex.count) + hex
}

/// One agent connection, as the transport saw it.
public struct USPConnection: Hashable, Sendable {
    /// Unique ID of this connection; the device events' `session_id` and the deliveries' target.
    public var connectionID: String
    /// The agent's endpoint ID (Twinfleet's device ID).
    public var endpointID: String
    /// The MTP the agent uses.
    public var mtp: Twinfleet_Bus_V1_Presence.Transport
    /// The agent's address `ip:port` (WebSocket), or empty (MQTT: the broker is in between).
    public var remoteAddress: String
    /// Whether the transport is TLS-protected.
    public var tls: Bool

    /// Describes a connection.
    public init(connectionID: String, endpointID: String, mtp: Twinfleet_Bus_V1_Presence.Transport, remoteAddress: String = "", tls: Bool = false) {
        self.connectionID = connectionID
        self.endpointID = endpointID
        self.mtp = mtp
        self.remoteAddress = remoteAddress
        self.tls = tls
    }
}

/// What one input to a ``USPAgentSession`` calls for, in this order: publish `events` and
/// `results`, then send `messages` to the agent, then (when `disconnect` is set) send a
/// DisconnectRecord and close the connection.
public struct USPSessionStep: Sendable {
    /// Msgs to send to the agent, in order.
    public var messages: [Usp_Msg] = []
    /// Device events to publish (key: the device).
    public var events: [Twinfleet_Bus_V1_DeviceEvent] = []
    /// Command results to publish (key: the device).
    public var results: [Twinfleet_Bus_V1_CommandResult] = []
    /// Close the connection with a DisconnectRecord carrying this code and reason.
    public var disconnect: (code: USPErrorCode, reason: String)?
    /// The agent sent a DisconnectRecord: the session ends without one in return.
    public var agentDisconnected = false
    /// Things worth a log line.
    public var notes: [String] = []

    /// An empty step.
    public init() {}

    mutating func append(_ other: USPSessionStep) {
        messages += other.messages
        events += other.events
        results += other.results
        notes += other.notes
        if disconnect == nil { disconnect = other.disconnect }
        agentDisconnected = agentDisconnected || other.agentDisconnected
    }
}
