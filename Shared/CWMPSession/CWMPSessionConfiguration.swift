import CWMPCodec

/// The limits and timeouts every session of one ingress instance shares.
public struct CWMPSessionConfiguration: Sendable, Hashable {
    /// How long the session waits for the CPE's next POST before it ends the session as timed
    /// out (default 30 s). Not applied while a POST is parked: ``planWait`` governs that.
    public var idleTimeout: Duration
    /// How long a parked POST waits for the dispatcher's next delivery before the session is
    /// ended with 204 (default 5 s).
    public var planWait: Duration
    /// Most RPCs the ACS sends in one session (default 1,000): a runaway plan ends the session
    /// and the commands not yet run are reported NOT_DELIVERED.
    public var maxRPCs: Int
    /// Most commands buffered in one session (default 1,000); further deliveries are answered
    /// NOT_DELIVERED at once.
    public var maxQueuedCommands: Int
    /// Leaf parameters read per GetParameterValues during a Refresh (default 500); each response
    /// becomes one chunk of the full-sync ParameterReport.
    public var refreshChunkSize: Int
    /// Parameters per ParameterReport event for GetParameters results (default 500), so that no
    /// event outgrows a Kafka record.
    public var reportChunkSize: Int
    /// HTTP status of a response that carries a SOAP fault (default 200; see the decisions in
    /// `CWMPSession.swift`).
    public var faultHTTPStatus: Int
    /// `Retry-After` seconds on a 503 from a full ``CWMPSessionTable`` (default 30).
    public var retryAfterSeconds: Int
    /// The ACS methods listed in a GetRPCMethodsResponse.
    public var acsMethods: [String]
    /// Resource limits applied when decoding every POST body.
    public var decodingLimits: CWMPDecodingLimits

    /// Creates a configuration; every argument has the documented default.
    public init(idleTimeout: Duration = .seconds(30), planWait: Duration = .seconds(5), maxRPCs: Int = 1_000,
                maxQueuedCommands: Int = 1_000, refreshChunkSize: Int = 500, reportChunkSize: Int = 500,
                faultHTTPStatus: Int = 200, retryAfterSeconds: Int = 30,
                acsMethods: [String] = ["Inform", "GetRPCMethods", "TransferComplete", "AutonomousTransferComplete", "RequestDownload"],
                decodingLimits: CWMPDecodingLimits = .default) {
        self.idleTimeout = idleTimeout
        self.planWait = planWait
        self.maxRPCs = max(1, maxRPCs)
        self.maxQueuedCommands = max(1, maxQueuedCommands)
        self.refreshChunkSize = max(1, refreshChunkSize)
        self.reportChunkSize = max(1, reportChunkSize)
        self.faultHTTPStatus = faultHTTPStatus
        self.retryAfterSeconds = retryAfterSeconds
        self.acsMethods = acsMethods
        self.decodingLimits = decodingLimits
    }

    /// The defaults.
    public static let `default` = CWMPSessionConfiguration()
}

/// What the ingress knows about a session before its first byte is read: who holds it and how
/// the CPE connected. Copied into the presence events.
public struct CWMPSessionContext: Sendable, Hashable {
    /// The session ID the ingress minted (the cookie value).
    public var sessionID: String
    /// This ingress instance (`cwmp-ingress-0`): the dispatcher routes deliveries to its inbox.
    public var instanceID: String
    /// The tenant the CPE authenticated as.
    public var tenantID: String
    /// The CPE's address as `ip:port` (IPv6 in brackets); empty when unknown.
    public var remoteAddress: String
    /// Whether the CPE connected over TLS.
    public var tls: Bool
    /// When set, the username the CPE authenticated with, which the Inform must match: the
    /// device's serial number or its device ID. A CPE with per-device credentials can then not
    /// inform as another device.
    public var boundUsername: String?

    /// Creates a context.
    public init(sessionID: String, instanceID: String, tenantID: String, remoteAddress: String = "", tls: Bool = false, boundUsername: String? = nil) {
        self.sessionID = sessionID
        self.instanceID = instanceID
        self.tenantID = tenantID
        self.remoteAddress = remoteAddress
        self.tls = tls
        self.boundUsername = boundUsername
    }
}
