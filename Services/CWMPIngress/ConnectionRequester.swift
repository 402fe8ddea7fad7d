import TwinfleetModel
import AsyncHTTPClient
import BusContracts
import Foundation
import HTTPAuth
import Logging
import Metrics
import NIOConcurrencyHelpers
import NIOCore

/// Sends TR-069 Connection Requests (§3.2.2): an HTTP GET to the CPE's ConnectionRequestURL,
/// answering the CPE's Digest challenge (Basic only over HTTPS). A CPE that accepts answers 200
/// or 204 and opens a session with the event `6 CONNECTION REQUEST`; that session, not this
/// request, is what the dispatcher waits for (and it asks again with backoff when none comes).
///
/// The URL comes from the device, so the request is kept harmless: http and https only, no
/// redirects followed, the response body never read beyond a few bytes, a short timeout, and a
/// cap on requests in flight (beyond it a request is dropped and counted; the dispatcher retries).
struct ConnectionRequester: Sendable {
    enum Outcome: Sendable, Equatable {
        case accepted(status: Int)
        case refused(String)
    }

    /// Whose credentials a connection request carries.
    enum Credentials: Sendable {
        /// One username and password for every CPE.
        case shared(username: String, password: String)
        /// Each CPE's own: username its device ID, password derived from it.
        case derived(DerivedCredentials)

        /// The username and password for `deviceID` (`username`: one the dispatcher named).
        func pair(deviceID: String, username: String) -> (username: String, password: String) {
            switch self {
            case .shared(let shared, let password): return (username.isEmpty ? shared : username, password)
            case .derived(let derived):
                let user = username.isEmpty ? deviceID : username
                return (user, derived.password(for: user))
            }
        }
    }

    let client: HTTPClient
    let credentials: Credentials
    let timeout: Duration
    let maxInFlight: Int
    let logger: Logger
    private let inFlight = NIOLockedValueBox(0)

    init(client: HTTPClient, credentials: Credentials, timeout: Duration, maxInFlight: Int, logger: Logger) {
        self.client = client
        self.credentials = credentials
        self.timeout = timeout
        self.maxInFlight = maxInFlight
        self.logger = logger
    }

    /// Starts the request in the background (the inbox keeps reading).
    func start(_ request: Twinfleet_Bus_V1_ConnectionRequest, deviceID: String) {
        let admitted = inFlight.withLockedValue { count in
            guard count < maxInFlight else { return false }
            count += 1
            return true
        }
        guard admitted else {
            Counter(label: "twinfleet_cwmp_connection_requests_total", dimensions: [("outcome", "dropped-busy")]).increment()
            logger.warning("connection request dropped: too many in flight", metadata: ["cpe.device.id": "\(deviceID)"])
            return
        }
        Task {
            defer { inFlight.withLockedValue { $0 -= 1 } }
            let outcome = await send(request, deviceID: deviceID)
            switch outcome {
            case .accepted(let status):
                Counter(label: "twinfleet_cwmp_connection_requests_total", dimensions: [("outcome", "accepted")]).increment()
                logger.info("connection request accepted", metadata: ["cpe.device.id": "\(deviceID)", "http.status": "\(status)"])
            case .refused(let reason):
                Counter(label: "twinfleet_cwmp_connection_requests_total", dimensions: [("outcome", "failed")]).increment()
                logger.notice("connection request failed", metadata: ["cpe.device.id": "\(deviceID)", "reason": "\(reason)"])
            }
        }
    }

    /// Sends one connection request and says how the CPE answered.
    func send(_ request: Twinfleet_Bus_V1_ConnectionRequest, deviceID: String) async -> Outcome {
        guard let url = URL(string: request.url), let scheme = url.scheme?.lowercased(), scheme == "http" || scheme == "https",
              let host = url.host, !host.isEmpty
        else {
            return .refused("ConnectionRequestURL \(request.url.debugDescription) is not an http(s) URL")
        }
        let (user, password) = credentials.pair(deviceID: deviceID, username: request.username)
        var target = url.path.isEmpty ? "/" : url.path
        if let query = url.query { target += "?" + query }
        do {
            let first = try await get(request.url, authorization: nil)
            if first.status == 200 || first.status == 204 { return .accepted(status: first.status) }
            guard first.status == 401 else { return .refused("HTTP \(first.status) without a challenge") }
            let cnonce = (0..<16).map { _ in String(format: "%02x", UInt8.random(in: 0...255)) }.joined()
            let authorization = try ClientAuthorizer.authorization(
                answering: first.challenges, username: user, password: password, method: "GET", uri: target,
                cnonce: cnonce, allowBasic: scheme == "https")
            let second = try await get(request.url, authorization: authorization.headerValue)
            if second.status == 200 || second.status == 204 { return .accepted(status: second.status) }
            return .refused("HTTP \(second.status) after \(authorization)")
        } catch {
            return .refused("\(error)")
        }
    }

    private func get(_ url: String, authorization: String?) async throws -> (status: Int, challenges: [String]) {
        var request = HTTPClientRequest(url: url)
        request.method = .GET
        if let authorization { request.headers.add(name: "Authorization", value: authorization) }
        let response = try await client.execute(request, timeout: .milliseconds(Int64(timeout.timeInterval * 1000)))
        // A few bytes at most: the answer's status is all that matters.
        _ = try? await response.body.collect(upTo: 4096)
        return (Int(response.status.code), response.headers["WWW-Authenticate"])
    }
}
