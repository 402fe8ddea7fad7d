#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import BusContracts
import CWMPCodec

/// One HTTP POST from a CPE, as the session needs it (authentication and cookies are the
/// ingress's business).
public struct CWMPHTTPRequest: Sendable, Hashable {
    /// The body, possibly empty (the CPE has no more requests).
    public var body: [UInt8]
    /// The `SOAPAction` header, when present. Informational only: the body decides, since CPEs
    /// send it empty, quoted or wrong.
    public var soapAction: String?
    /// The `Content-Type` header, when present. Informational only, for the same reason.
    public var contentType: String?

    /// Creates a request.
    public init(body: [UInt8], soapAction: String? = nil, contentType: String? = nil) {
        self.body = body
        self.soapAction = soapAction
        self.contentType = contentType
    }

    /// An empty POST.
    public static let empty = CWMPHTTPRequest(body: [])
}

/// An HTTP response for the CPE.
public struct CWMPHTTPResponse: Sendable, Hashable {
    /// The status: 200 with an envelope, 204 to end the session, 400 for a POST that cannot
    /// start a session, 503 when the instance is full.
    public var status: Int
    /// Header fields to send besides the ingress's own (`Content-Type`, `Retry-After`).
    public var headers: [String: String]
    /// The body: the encoded envelope, or nothing.
    public var body: [UInt8]
    /// The envelope in ``body``, for logs (method name, cwmp:ID); nil when the body is empty.
    public var envelope: CWMPEnvelope?

    /// Creates a response.
    public init(status: Int, headers: [String: String] = [:], body: [UInt8] = [], envelope: CWMPEnvelope? = nil) {
        self.status = status
        self.headers = headers
        self.body = body
        self.envelope = envelope
    }

    /// `Content-Type` of every envelope the ACS sends.
    public static let xmlContentType = "text/xml; charset=\"utf-8\""

    /// 204 No Content: the ACS has nothing more; the session is over.
    public static let noContent = CWMPHTTPResponse(status: 204)

    /// An envelope encoded with `encoder`, sent with `status`.
    static func envelope(_ envelope: CWMPEnvelope, status: Int = 200, encoder: CWMPEncoder) -> CWMPHTTPResponse {
        CWMPHTTPResponse(status: status, headers: ["Content-Type": xmlContentType], body: encoder.encode(envelope), envelope: envelope)
    }
}

/// What the ingress does with the HTTP exchange after an input.
public enum CWMPSessionReply: Sendable, Hashable {
    /// Send this response now.
    case respond(CWMPHTTPResponse)
    /// Keep the POST parked: the session waits for the dispatcher's next delivery. The ingress
    /// calls ``CWMPSession/tick(now:)`` at or after `until`, when the session answers 204 if no
    /// delivery came.
    case hold(until: Date)
}

/// Everything one input made the session do: the HTTP reply, then the records to publish.
///
/// Publish ``events`` to `cpe.device-events.v1` and ``results`` to `cpe.command-results.v1`
/// (keyed by ``deviceID``), in the order given, before sending a ``CWMPSessionReply/respond(_:)``
/// reply: the CPE then never moves on before the platform has heard what it said.
public struct CWMPSessionStep: Sendable {
    /// The reply to the HTTP exchange: to the POST just received, or (after a delivery or a
    /// tick) to the parked one. Nil when the exchange is unaffected (a delivery buffered while
    /// an RPC is in flight, or a tick that changed nothing, or the session timing out with no
    /// POST parked).
    public var reply: CWMPSessionReply?
    /// Device events, in order.
    public var events: [Twinfleet_Bus_V1_DeviceEvent] = []
    /// Command results, in order.
    public var results: [Twinfleet_Bus_V1_CommandResult] = []
    /// Things worth a log line (protocol oddities, dropped parameters), for people.
    public var notes: [String] = []
    /// The device the records are about (the Kafka key); nil before a valid Inform.
    public var deviceID: String?
    /// True when this step ended the session: the ingress drops it (and its cookie).
    public var sessionEnded: Bool = false
    /// Set when the CPE answered the connection-request credentials the session set: true when
    /// it took them, false when it refused (a fault) or the session ended first.
    public var credentialsProvisioned: Bool?

    /// Creates an empty step.
    public init(reply: CWMPSessionReply? = nil) {
        self.reply = reply
    }

    /// The response of a ``CWMPSessionReply/respond(_:)`` reply, nil otherwise.
    public var response: CWMPHTTPResponse? {
        if case .respond(let response)? = reply { return response }
        return nil
    }

    /// True when nothing happened.
    public var isEmpty: Bool {
        reply == nil && events.isEmpty && results.isEmpty && notes.isEmpty && !sessionEnded
    }
}
