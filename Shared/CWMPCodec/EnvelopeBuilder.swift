/// Builds CWMP envelopes as bytes: SOAP 1.1, UTF-8, the `cwmp` namespace of the envelope, every
/// text and attribute escaped, `soap-enc:arrayType` counts taken from the arrays, and
/// `xsi:type` on every value. Stateless and `Sendable`.
public struct CWMPEncoder: Sendable {
    /// Creates an encoder.
    public init() {}

    /// The envelope as UTF-8 bytes, ready for an HTTP body (`text/xml; charset="utf-8"`).
    public func encode(_ envelope: CWMPEnvelope) -> [UInt8] {
        var writer = XMLWriter(capacity: Self.estimatedSize(of: envelope.message))
        writer.raw("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n")
        writer.raw("<soap-env:Envelope xmlns:soap-env=\"http://schemas.xmlsoap.org/soap/envelope/\" xmlns:soap-enc=\"http://schemas.xmlsoap.org/soap/encoding/\" xmlns:xsd=\"http://www.w3.org/2001/XMLSchema\" xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\"")
        writer.attribute("xmlns:cwmp", envelope.namespace.uri)
        writer.raw(">")
        envelope.header.encode(into: &writer)
        writer.open("soap-env:Body")
        envelope.message.encode(into: &writer)
        writer.close("soap-env:Body")
        writer.close("soap-env:Envelope")
        return writer.bytes
    }

    /// A first guess at the output size, so large parameter lists are not copied while growing.
    private static func estimatedSize(of message: CWMPMessage) -> Int {
        let items: Int
        switch message {
        case .inform(let inform): items = inform.parameterList.count
        case .getParameterValues(let request): items = request.parameterNames.count
        case .getParameterValuesResponse(let response): items = response.parameterList.count
        case .setParameterValues(let request): items = request.parameterList.count
        case .getParameterNamesResponse(let response): items = response.parameterList.count
        default: items = 0
        }
        return 1024 + items * 160
    }
}
