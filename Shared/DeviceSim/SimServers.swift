import Foundation
import HTTPAuth
import HTTPTypes
import Hummingbird
import Logging
import NIOConcurrencyHelpers
import NIOCore

/// Serves TR-069 connection requests for many simulated CPEs on one listener:
/// `GET /cr/<serial>` with Digest authentication against the CPE's credentials: those it was
/// registered with, which the ACS may change in its data model
/// (`ManagementServer.ConnectionRequestUsername`/`Password`). An authenticated request makes the CPE open a session with
/// `6 CONNECTION REQUEST` (TR-069 3.2.2); anything else gets 401 (wrong or no credentials) or
/// 404 (no such device).
public final class ConnectionRequestServer: Sendable {
    public let host: String
    /// The host name in the URLs devices advertise (the host itself when nil), for a listener
    /// on 0.0.0.0 that the ACS reaches by name.
    public let advertisedHost: String?
    private struct Registration {
        let cpe: SimulatedCPE
        let username: String
        let password: String
    }
    private let registrations = NIOLockedValueBox<[String: Registration]>([:])
    private let authenticator: ServerAuthenticator
    private let boundPort = NIOLockedValueBox<Int?>(nil)
    private let requestedPort: Int

    /// `port` 0 picks a free port (see ``port()``).
    public init(host: String = "127.0.0.1", port: Int, advertisedHost: String? = nil) {
        self.host = host
        self.advertisedHost = advertisedHost
        self.requestedPort = port
        authenticator = ServerAuthenticator(configuration: .init(realm: "twinfleet-cpe-sim", nonceSecret: Array(UUID().uuidString.utf8)))
    }

    /// Registers a CPE; returns its connection-request URL (also set in its data model).
    @discardableResult
    public func register(_ cpe: SimulatedCPE, username: String, password: String, port: Int) async -> String {
        registrations.withLockedValue { $0[cpe.serial] = Registration(cpe: cpe, username: username, password: password) }
        await cpe.setConnectionRequestCredentials(username: username, password: password)
        let url = "http://\(advertisedHost ?? host):\(port)/cr/\(cpe.serial.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? cpe.serial)"
        await cpe.setConnectionRequestURL(url)
        return url
    }

    /// The bound port, once listening.
    public func port() async -> Int {
        while true {
            if let port = boundPort.withLockedValue({ $0 }) { return port }
            try? await Task.sleep(for: .milliseconds(10))
        }
    }

    /// Listens until cancelled.
    public func run(logger: Logger = Logger(label: "cpe-sim.connection-requests")) async throws {
        let router = Router()
        router.get("/cr/:serial") { [self] request, context -> Response in
            let serial = context.parameters.get("serial") ?? ""
            guard let registration = registrations.withLockedValue({ $0[serial] }) else { return Response(status: .notFound) }
            let now = Date()
            var result = AuthenticationResult.challenge(stale: false)
            if let header = request.headers[.authorization], let parsed = try? AuthorizationHeader(parsing: header) {
                // A factory reset takes the model back to the credentials it was registered with.
                let (username, password) = await registration.cpe.connectionRequestCredentials ?? (registration.username, registration.password)
                result = authenticator.authenticate(
                    parsed, credential: parsed.username == username ? .password(password) : nil, method: "GET",
                    requestURI: request.uri.description, basicAllowed: false, at: now)
            }
            guard case .authenticated = result else {
                if request.headers[.authorization] != nil { await registration.cpe.refusedConnectionRequest() }
                var headers = HTTPFields()
                for value in authenticator.challengeHeaderValues(for: result, at: now) { headers.append(HTTPField(name: .wwwAuthenticate, value: value)) }
                return Response(status: .unauthorized, headers: headers)
            }
            await registration.cpe.connectionRequested()
            return Response(status: .ok)
        }
        let app = Application(
            router: router, configuration: .init(address: .hostname(host, port: requestedPort)),
            onServerRunning: { [boundPort] channel in boundPort.withLockedValue { $0 = channel.localAddress?.port } }, logger: logger)
        try await app.run()
    }
}

/// Serves the simulator's firmware images: `GET /firmware/<version>.bin` answers an image of
/// that version (`SimFirmware.image`), `GET /firmware/<version>.bin.sha256` its checksum; a
/// name ending in `-corrupt.bin` answers bytes that are no image. Takes devices' uploads
/// (configuration files, logs) with `PUT /uploads/<name>`.
public final class FirmwareServer: Sendable {
    public let host: String
    private let requestedPort: Int
    private let boundPort = NIOLockedValueBox<Int?>(nil)
    private let size: Int
    /// Images served (for the metrics and tests).
    public let downloads = NIOLockedValueBox<Int>(0)
    /// Files devices uploaded (`PUT /uploads/<name>`), by name.
    public let uploads = NIOLockedValueBox<[String: [UInt8]]>([:])

    public init(host: String = "127.0.0.1", port: Int, imageSize: Int = 65_536) {
        self.host = host
        self.requestedPort = port
        self.size = imageSize
    }

    /// The bound port, once listening.
    public func port() async -> Int {
        while true {
            if let port = boundPort.withLockedValue({ $0 }) { return port }
            try? await Task.sleep(for: .milliseconds(10))
        }
    }

    /// The URL a device uploads a file called `name` to.
    public func uploadURL(name: String) async -> String { "http://\(host):\(await port())/uploads/\(name)" }

    /// The URL of an image of `version` on this server.
    public func url(version: String) async -> String { "http://\(host):\(await port())/firmware/\(version).bin" }

    /// The image the server answers for `name` (`2.1.0.bin`); nil for a name it does not serve.
    public func image(named name: String) -> [UInt8]? {
        guard name.hasSuffix(".bin") else { return nil }
        let version = String(name.dropLast(4))
        guard !version.isEmpty, !version.contains("/") else { return nil }
        if version.hasSuffix("-corrupt") { return Array(repeating: 0xFF, count: size) }
        return SimFirmware.image(version: version, size: size)
    }

    /// Listens until cancelled.
    public func run(logger: Logger = Logger(label: "cpe-sim.firmware")) async throws {
        let router = Router()
        router.get("/firmware/:name") { [self] _, context -> Response in
            let name = context.parameters.get("name") ?? ""
            if name.hasSuffix(".sha256"), let image = image(named: String(name.dropLast(7))) {
                return Response(status: .ok, headers: [.contentType: "text/plain"], body: .init(byteBuffer: ByteBuffer(string: SimFirmware.sha256(image))))
            }
            guard let image = image(named: name) else { return Response(status: .notFound) }
            downloads.withLockedValue { $0 += 1 }
            return Response(status: .ok, headers: [.contentType: "application/octet-stream"], body: .init(byteBuffer: ByteBuffer(bytes: image)))
        }
        // Configuration files and logs from Upload (TR-069).
        router.put("/uploads/:name") { [uploads] request, context -> Response in
            let name = context.parameters.get("name") ?? ""
            guard !name.isEmpty else { return Response(status: .notFound) }
            let body = try await request.body.collect(upTo: 16 << 20)
            uploads.withLockedValue { $0[name] = Array(buffer: body) }
            return Response(status: .created)
        }
        let app = Application(
            router: router, configuration: .init(address: .hostname(host, port: requestedPort)),
            onServerRunning: { [boundPort] channel in boundPort.withLockedValue { $0 = channel.localAddress?.port } }, logger: logger)
        try await app.run()
    }
}
