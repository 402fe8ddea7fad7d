/// Decodes CWMP envelopes from bytes: tolerant of what real CPEs send, refusing (with a typed
/// ``CWMPCodecError``, never a crash) what is malformed or dangerous. Stateless and `Sendable`:
/// one instance can serve every session.
public struct CWMPDecoder: Sendable {
    /// The resource limits applied to every input.
    public var limits: CWMPDecodingLimits

    /// Creates a decoder.
    public init(limits: CWMPDecodingLimits = .default) {
        self.limits = limits
    }

    /// Decodes an HTTP POST body from a CPE, where an empty body is legal (it means "I have no
    /// more requests").
    public func decodeHTTPBody(_ bytes: [UInt8]) throws(CWMPCodecError) -> CWMPIncoming {
        if Self.isBlank(bytes) { return .empty }
        return .envelope(try decode(bytes))
    }

    /// Decodes one envelope. An empty input is an error here (``CWMPCodecError/Code/notAnEnvelope``);
    /// use ``decodeHTTPBody(_:)`` where an empty POST is expected.
    public func decode(_ bytes: [UInt8]) throws(CWMPCodecError) -> CWMPEnvelope {
        if bytes.count <= limits.maxBytes, Self.isBlank(bytes) {
            throw CWMPCodecError(.notAnEnvelope, "message is empty")
        }
        let tree = try XMLReader.parse(bytes, limits: limits)
        let root = tree.root
        guard root.name == "Envelope" else {
            throw CWMPCodecError(.notAnEnvelope, "root element is <\(root.name)>, not a SOAP Envelope", offset: root.offset)
        }
        guard let body = root.child("Body") else {
            throw CWMPCodecError(.notAnEnvelope, "SOAP Envelope has no Body", offset: root.offset)
        }
        // CWMP puts exactly one message in a body; anything after the first is ignored.
        guard let first = body.children.first(where: { _ in true }) else {
            throw CWMPCodecError(.notAnEnvelope, "SOAP Body is empty", offset: body.offset)
        }
        let header = try root.child("Header").map { node throws(CWMPCodecError) in try CWMPHeader(decoding: node) } ?? CWMPHeader()
        let message = try CWMPMessage(decoding: first)
        return CWMPEnvelope(header: header, message: message, namespace: Self.namespace(of: tree))
    }

    /// The first `cwmp` namespace any element is in (the header's `ID` or the message itself,
    /// usually within the first few elements); cwmp-1-0 when there is none.
    private static func namespace(of tree: XMLTree) -> CWMPNamespace {
        for element in tree.elements {
            if let uri = element.namespaceURI, uri.hasPrefix(CWMPNamespace.prefix), let namespace = CWMPNamespace(uri: uri) {
                return namespace
            }
        }
        return .v1_0
    }

    /// True for zero bytes, or only a BOM and XML whitespace.
    private static func isBlank(_ bytes: [UInt8]) -> Bool {
        let body = bytes.starts(with: [0xEF, 0xBB, 0xBF]) ? bytes.dropFirst(3) : bytes[...]
        return body.allSatisfy(XMLNode.isSpace)
    }
}
