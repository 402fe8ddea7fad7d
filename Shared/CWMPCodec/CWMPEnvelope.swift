/// One SOAP envelope of a CWMP session: header fields, one message, and the `cwmp` namespace.
public struct CWMPEnvelope: Hashable, Sendable {
    /// The CWMP header fields.
    public var header: CWMPHeader
    /// The message in the body.
    public var message: CWMPMessage
    /// The namespace the envelope uses (decoded: the first `cwmp` namespace found; built: the
    /// namespace written).
    public var namespace: CWMPNamespace

    /// Creates an envelope; the namespace defaults to `cwmp-1-0`, which every CPE understands.
    public init(header: CWMPHeader = CWMPHeader(), message: CWMPMessage, namespace: CWMPNamespace = .v1_0) {
        self.header = header
        self.message = message
        self.namespace = namespace
    }

    /// The envelope answering this one: same `cwmp:ID`, same namespace (a CPE understands the
    /// namespace it used itself), no other header fields.
    public func reply(with message: CWMPMessage) -> CWMPEnvelope {
        CWMPEnvelope(header: CWMPHeader(id: header.id), message: message, namespace: namespace)
    }
}

/// What an HTTP POST from a CPE holds: nothing (the CPE has no more requests and waits for the
/// ACS's), or an envelope.
public enum CWMPIncoming: Hashable, Sendable {
    /// A body of zero bytes (or only whitespace).
    case empty
    /// A decoded envelope.
    case envelope(CWMPEnvelope)
}
