import BusContracts
import CWMPSession
import Foundation
import HTTPAuth
import HTTPTypes
import Hummingbird
import Kafka
import Logging
import Metrics
import NIOCore

/// How CPEs authenticate to the ACS.
enum ACSAuthentication: Sendable {
    /// Development only: every CPE is accepted.
    case none
    /// HTTP Digest (and Basic when allowed, meant for TLS) against one shared credential.
    case shared(authenticator: ServerAuthenticator, username: String, password: String, basicAllowed: Bool)
    /// Every CPE its own username and a password derived from it (`DerivedCredentials`).
    case derived(authenticator: ServerAuthenticator, credentials: DerivedCredentials, basicAllowed: Bool)
}

/// The request context of the ACS endpoint: Hummingbird's, plus the CPE's address.
struct ACSRequestContext: RequestContext, RemoteAddressRequestContext {
    var coreContext: CoreRequestContextStorage
    let remoteAddress: SocketAddress?

    init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        remoteAddress = source.channel.remoteAddress
    }

    /// `ip:port`, IPv6 in brackets; empty when unknown.
    var remoteAddressText: String {
        guard let address = remoteAddress, let ip = address.ipAddress, let port = address.port else { return "" }
        return ip.contains(":") ? "[\(ip)]:\(port)" : "\(ip):\(port)"
    }
}

/// The CWMP endpoint: every POST (any path: CPEs are configured with the ACS URL) is one
/// message of a session kept by cookie. The first POST of a session must authenticate.
struct ACSEndpoint: Sendable {
    static let cookieName = "cwmp_session"
    /// Largest request body read; the codec's own limits apply inside it.
    static let maxBodyBytes = 4 * 1024 * 1024

    let hub: SessionHub
    let publisher: RecordPublisher
    let authentication: ACSAuthentication
    let instanceID: String
    let tenantID: String
    /// The endpoint is served over TLS.
    let tls: Bool
    /// With per-device credentials: the Inform must be of the device the username names.
    let bindsUsername: Bool
    let logger: Logger

    func addRoutes(to router: Router<ACSRequestContext>) {
        router.post("/") { request, context in try await handle(request, context: context) }
        router.post("**") { request, context in try await handle(request, context: context) }
    }

    func handle(_ request: Request, context: ACSRequestContext) async throws -> Response {
        let now = Date()
        let cookie = Self.sessionCookie(request.headers[.cookie])
        var continuing = false
        if let cookie { continuing = await hub.contains(cookie) }
        var username: String?
        if !continuing {
            let authenticated = authenticate(request, now: now)
            if let refusal = authenticated.refusal { return refusal }
            username = authenticated.username
        }

        let body: ByteBuffer
        do {
            body = try await request.body.collect(upTo: Self.maxBodyBytes)
        } catch {
            Counter(label: "twinfleet_cwmp_requests_refused_total", dimensions: [("reason", "too-large")]).increment()
            return Response(status: .contentTooLarge, headers: [.contentType: "text/plain"], body: .init(byteBuffer: ByteBuffer(string: "body over \(Self.maxBodyBytes) bytes\n")))
        }
        let message = CWMPHTTPRequest(
            body: Array(buffer: body), soapAction: request.headers[HTTPField.Name("SOAPAction")!], contentType: request.headers[.contentType])
        let opening = CWMPSessionContext(
            sessionID: UUID().uuidString.lowercased(), instanceID: instanceID, tenantID: tenantID,
            remoteAddress: context.remoteAddressText, tls: tls, boundUsername: bindsUsername ? username : nil)
        let (sessionID, outcome) = await hub.receive(message, sessionID: continuing ? cookie : nil, opening: opening, now: now)
        var response: CWMPHTTPResponse
        do {
            try await publisher.deliver(outcome)
            switch outcome.reply {
            case .respond(let ready)?: response = ready
            case .parked(let exchange)?: response = await exchange.wait()
            case nil: response = .noContent
            }
        } catch {
            // Nothing may be answered that the bus has not taken: the CPE retries the session.
            logger.error("publishing failed; ending the exchange", metadata: ["cwmp.session.id": "\(sessionID)", "error": "\(error)"])
            response = CWMPHTTPResponse(status: 503, headers: ["Retry-After": "30"])
        }
        return Self.httpResponse(response, sessionID: continuing ? nil : sessionID)
    }

    /// The 401 to send, or the username (per-device credentials only) of a request that may
    /// open a session.
    private func authenticate(_ request: Request, now: Date) -> (refusal: Response?, username: String?) {
        let authenticator: ServerAuthenticator, basicAllowed: Bool
        let lookup: (String) -> [StoredCredential]
        var perDevice = false
        switch authentication {
        case .none:
            return (nil, nil)
        case .shared(let server, let username, let password, let basic):
            (authenticator, basicAllowed) = (server, basic)
            lookup = { $0 == username ? [.password(password)] : [] }
        case .derived(let server, let credentials, let basic):
            (authenticator, basicAllowed) = (server, basic)
            lookup = { credentials.credentials(for: $0) }
            perDevice = true
        }
        let header = request.headers[.authorization]
        var result = AuthenticationResult.challenge(stale: false)
        var username: String?
        if let header, let parsed = try? AuthorizationHeader(parsing: header) {
            username = parsed.username
            let candidates = lookup(parsed.username)
            result = authenticator.authenticate(
                parsed, credential: candidates.first, method: "POST", requestURI: request.uri.description, basicAllowed: basicAllowed, at: now)
            // Passwords from an older secret still being rotated out.
            for credential in candidates.dropFirst() {
                if case .authenticated = result { break }
                result = authenticator.authenticate(
                    parsed, credential: credential, method: "POST", requestURI: request.uri.description, basicAllowed: basicAllowed, at: now)
            }
        }
        if case .authenticated = result { return (nil, perDevice ? username : nil) }
        Counter(label: "twinfleet_cwmp_auth_challenges_total").increment()
        var headers = HTTPFields()
        for value in authenticator.challengeHeaderValues(for: result, at: now, offerBasic: basicAllowed) {
            headers.append(HTTPField(name: .wwwAuthenticate, value: value))
        }
        return (Response(status: .unauthorized, headers: headers), nil)
    }

    static func sessionCookie(_ header: String?) -> String? {
        guard let header else { return nil }
        for pair in header.split(separator: ";") {
            let parts = pair.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            if parts.count == 2, parts[0] == cookieName, !parts[1].isEmpty, parts[1].count <= 64 { return parts[1] }
        }
        return nil
    }

    static func httpResponse(_ response: CWMPHTTPResponse, sessionID: String?) -> Response {
        var headers = HTTPFields()
        for (name, value) in response.headers {
            if let field = HTTPField.Name(name) { headers.append(HTTPField(name: field, value: value)) }
        }
        if let sessionID { headers.append(HTTPField(name: .setCookie, value: "\(cookieName)=\(sessionID); Path=/; HttpOnly")) }
        return Response(
            status: HTTPResponse.Status(code: response.status), headers: headers,
            body: .init(byteBuffer: ByteBuffer(bytes: response.body)))
    }
}

/// Publishes what a hub outcome says, in order, then answers the parked exchanges.
struct RecordPublisher: Sendable {
    let producer: KafkaProducer

    func deliver(_ outcome: HubOutcome) async throws {
        do {
            if !outcome.records.isEmpty { _ = try await producer.sendAll(outcome.records) }
        } catch {
            // A parked CPE must not wait forever for an answer that cannot be published.
            for (exchange, _) in outcome.answers { exchange.answer(CWMPHTTPResponse(status: 503, headers: ["Retry-After": "30"])) }
            throw error
        }
        for (exchange, response) in outcome.answers { exchange.answer(response) }
    }

    /// For the delivery inbox, which must not wait for one delivery's acknowledgements before
    /// reading the next: enqueues the records now (in order), and answers the parked exchanges
    /// once they are acknowledged, in a task of their own.
    func deliverInBackground(_ outcome: HubOutcome, logger: Logger) {
        guard !outcome.records.isEmpty else {
            for (exchange, response) in outcome.answers { exchange.answer(response) }
            return
        }
        let ticket = producer.enqueueAll(outcome.records)
        Task {
            do {
                try await ticket.reports()
                for (exchange, response) in outcome.answers { exchange.answer(response) }
            } catch {
                logger.error("publishing after a delivery failed", metadata: ["error": "\(error)"])
                for (exchange, _) in outcome.answers { exchange.answer(CWMPHTTPResponse(status: 503, headers: ["Retry-After": "30"])) }
            }
        }
    }
}
