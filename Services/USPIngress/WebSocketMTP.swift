import BusContracts
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdCore
import HummingbirdWebSocket
import Kafka
import Logging
import Metrics
import NIOCore
import NIOSSL
import ServiceRuntime
import USPCodec
import USPSession

/// The WebSocket MTP (TR-369 R-WS): agents connect to us with the `v1.usp` subprotocol. The
/// agent's endpoint ID comes from the `eid` query parameter or, without one, from the first
/// record; the answer names our endpoint ID in `Sec-WebSocket-Extensions: bbf-usp-protocol`.
/// Each binary message is one USP Record.
struct WebSocketMTP: Sendable {
    let hub: AgentHub
    let publisher: HubPublisher
    let path: String
    let controllerEndpointID: String
    let agents: AgentPolicy
    let maxRecordBytes: Int
    let tls: Bool
    /// With client certificates (USP_TLS_CLIENT_CA_FILE): the agent's endpoint ID must be one its
    /// certificate names (a `urn:bbf:usp:id:` URI in subjectAltName).
    let bindsCertificates: Bool
    let logger: Logger

    static let endpointURIPrefix = "urn:bbf:usp:id:"

    static let subprotocol = "v1.usp"

    /// Why an upgrade request is refused (HTTP status and detail), or nil to accept it.
    func refusal(_ request: HTTPRequest) -> (HTTPResponse.Status, String)? {
        guard requestPath(request) == path else { return (.notFound, "USP agents connect to \(path)") }
        guard request.headerFields[.upgrade]?.lowercased() == "websocket" else {
            return (.upgradeRequired, "a WebSocket upgrade with subprotocol \(Self.subprotocol) is required")
        }
        let offered = request.headerFields[values: .secWebSocketProtocol]
            .flatMap { $0.split(separator: ",") }.map { $0.trimmingCharacters(in: .whitespaces) }
        guard offered.contains(Self.subprotocol) else {
            return (.badRequest, "the WebSocket subprotocol \(Self.subprotocol) is required (offered: \(offered.isEmpty ? "none" : offered.joined(separator: ", ")))")
        }
        if let eid = endpointID(request), !agents.allows(eid) {
            return (.forbidden, "endpoint \(eid) is not a known agent")
        }
        return nil
    }

    /// The `shouldUpgrade` of the HTTP server: accepts `v1.usp` upgrades on ``path``.
    func shouldUpgrade(_ request: HTTPRequest, channel: any Channel, logger: Logger) async -> ShouldUpgradeResult<WebSocketDataHandler<HTTP1WebSocketUpgradeChannel.Context>> {
        func refuse(_ status: HTTPResponse.Status, _ detail: String) -> ShouldUpgradeResult<WebSocketDataHandler<HTTP1WebSocketUpgradeChannel.Context>> {
            Counter(label: "twinfleet_usp_ws_upgrades_refused_total", dimensions: [("status", "\(status.code)")]).increment()
            logger.info("WebSocket upgrade refused", metadata: ["reason": "\(detail)"])
            return .dontUpgrade
        }
        if let (status, detail) = refusal(request) { return refuse(status, detail) }
        let claimed = endpointID(request)
        var certified: Set<String>?
        if bindsCertificates {
            let certificate = try? await channel.nioSSL_peerCertificate().get()
            let names = certificate.map(Self.certifiedEndpoints) ?? []
            if let claimed, !names.contains(claimed) {
                return refuse(.forbidden, "the client certificate does not name endpoint \(claimed) (it names \(names.sorted()))")
            }
            certified = names
        }
        let remote = channel.remoteAddress.map(Self.describe) ?? ""
        var headers = HTTPFields()
        headers[.secWebSocketProtocol] = Self.subprotocol
        headers[.secWebSocketExtensions] = "bbf-usp-protocol; eid=\"\(controllerEndpointID)\""
        let certifiedEndpoints = certified
        return .upgrade(headers) { inbound, outbound, _ in
            await serve(inbound: inbound, outbound: outbound, claimedEndpoint: claimed, certified: certifiedEndpoints, remote: remote)
        }
    }

    /// The HTTP answer to a request that was not upgraded.
    func refuse(_ request: Request) -> Response {
        let (status, detail) = refusal(request.head) ?? (.badRequest, "not a WebSocket upgrade")
        return ProblemResponse.make(status, detail)
    }

    private func serve(inbound: WebSocketInboundStream, outbound: WebSocketOutboundWriter, claimedEndpoint: String?, certified: Set<String>?, remote: String) async {
        let link = WebSocketLink(outbound: outbound)
        var messages = inbound.messages(maxSize: maxRecordBytes).makeAsyncIterator()
        var first: [UInt8]?
        let endpointID: String
        if let claimedEndpoint {
            endpointID = claimedEndpoint
        } else {
            // No `eid` parameter: the first record names the agent.
            guard let bytes = try? await nextRecord(&messages) else { return }
            let decoder = USPRecordDecoder(controllerEndpointID: controllerEndpointID)
            guard let record = try? decoder.decode(bytes), agents.allows(record.fromID), certified?.contains(record.fromID) ?? true else {
                logger.info("WebSocket agent without eid refused: its first record names no known agent", metadata: ["usp.remote": "\(remote)"])
                try? await outbound.close(.policyViolation, reason: "unknown agent")
                return
            }
            endpointID = record.fromID
            first = bytes
        }
        let connection = USPConnection(connectionID: UUID().uuidString.lowercased(), endpointID: endpointID, mtp: .websocket, remoteAddress: remote, tls: tls)
        await publisher.perform(hub.connect(connection, link: link, now: Date()))
        if let first { await publisher.perform(hub.receive(first, on: connection.connectionID, now: Date())) }
        // Every record is handed to the hub as soon as it is read; the answers that must wait for
        // the broker's acknowledgements wait in the lane, not in this loop. (A loop that waited
        // could still hold an agent's answer unread when the rebooted agent's new connection
        // replaced this one, and the answer was lost.)
        let lane = SendLane(publisher: publisher)
        var reason = "closed by agent"
        do {
            while let bytes = try await nextRecord(&messages) {
                publisher.submit(hub.receive(bytes, on: connection.connectionID, now: Date()), lane: lane)
            }
        } catch {
            reason = "connection error: \(error)"
        }
        await lane.drain()
        await publisher.perform(hub.disconnected(connection.connectionID, reason: reason, now: Date()))
    }

    /// The next binary message; text messages are not USP and are skipped.
    private func nextRecord(_ messages: inout WebSocketInboundMessageStream.AsyncIterator) async throws -> [UInt8]? {
        while let message = try await messages.next() {
            switch message {
            case .binary(let buffer): return Array(buffer.readableBytesView)
            case .text: Counter(label: "twinfleet_usp_ws_text_frames_total").increment()
            }
        }
        return nil
    }

    private func requestPath(_ request: HTTPRequest) -> String {
        let target = request.path ?? "/"
        return String(target.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false).first ?? "")
    }

    /// The `eid` query parameter, percent-decoded; nil when absent or empty.
    private func endpointID(_ request: HTTPRequest) -> String? {
        guard let target = request.path, let query = target.split(separator: "?", maxSplits: 1).dropFirst().first else { return nil }
        for pair in query.split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            guard parts.count == 2, parts[0] == "eid" else { continue }
            let value = String(parts[1]).replacingOccurrences(of: "+", with: " ").removingPercentEncoding ?? ""
            return value.isEmpty ? nil : value
        }
        return nil
    }

    /// The endpoint IDs a certificate names: its subjectAltName URIs `urn:bbf:usp:id:<id>`.
    static func certifiedEndpoints(_ certificate: NIOSSLCertificate) -> Set<String> {
        var names = Set<String>()
        for name in certificate._subjectAlternativeNames() where name.nameType == .uri {
            let uri = name.contents.withUnsafeBufferPointer { String(decoding: $0, as: UTF8.self) }
            if uri.hasPrefix(endpointURIPrefix) { names.insert(String(uri.dropFirst(endpointURIPrefix.count))) }
        }
        return names
    }

    static func describe(_ address: SocketAddress) -> String {
        guard let ip = address.ipAddress, let port = address.port else { return "\(address)" }
        return ip.contains(":") ? "[\(ip)]:\(port)" : "\(ip):\(port)"
    }
}

/// A WebSocket connection as an ``AgentLink``.
struct WebSocketLink: AgentLink {
    let outbound: WebSocketOutboundWriter

    func send(_ record: [UInt8]) async throws {
        try await outbound.write(.binary(ByteBuffer(bytes: record)))
    }

    func close() async {
        try? await outbound.close(.normalClosure, reason: nil)
    }

    var isConnection: Bool { true }
}

/// Publishes a hub outcome's records, then sends its records to agents, then closes links.
/// A record that cannot be published is not followed by the sends that depend on it (a
/// NotifyResp only after the notification is on the bus): the agent retries.
final class HubPublisher: Sendable {
    let producer: KafkaProducer
    let logger: Logger
    private let failures = Counter(label: "twinfleet_usp_publish_failures_total")

    init(producer: KafkaProducer, logger: Logger) {
        self.producer = producer
        self.logger = logger
    }

    /// Publishes and waits for the acknowledgements before sending anything.
    func perform(_ outcome: HubOutcome) async {
        await finish(outcome, ticket: producer.enqueueAll(outcome.records))
    }

    /// For records read from agents in order: enqueues at once (keeping their order); what is to
    /// be sent or closed after them goes to `lane`, which waits for the acknowledgements. The
    /// reader never waits, so a stream of notifications without `send_resp` is not slowed to one
    /// broker round trip per record, and a record is in the hub as soon as it is read.
    func submit(_ outcome: HubOutcome, lane: SendLane) {
        if outcome.sends.isEmpty && outcome.closes.isEmpty {
            guard !outcome.records.isEmpty else { return }
            // Nobody waits: a failure is counted and logged from the producer's thread.
            _ = producer.enqueueAll(outcome.records) { [failures, logger] error in
                failures.increment()
                logger.error("publishing a notification failed; it is lost (the agent was not asked to retry)", metadata: ["error": "\(error)"])
            }
            return
        }
        lane.append(outcome, ticket: producer.enqueueAll(outcome.records))
    }

    /// For deliveries from the inbox: enqueues the records (DELIVERED and the like, in order)
    /// and sends the requests at once, without waiting for acknowledgements — nothing sent depends
    /// on them, and the inbox must not wait one broker round trip per command.
    func forward(_ outcome: HubOutcome) async {
        if !outcome.records.isEmpty {
            _ = producer.enqueueAll(outcome.records) { [failures, logger] error in
                failures.increment()
                logger.error("publishing a command result failed", metadata: ["error": "\(error)"])
            }
        }
        await sendAndClose(outcome)
    }

    fileprivate func finish(_ outcome: HubOutcome, ticket: ProduceTicket) async {
        if !outcome.records.isEmpty {
            do {
                try await ticket.reports()
            } catch {
                logger.error("publishing to the bus failed; answers withheld", metadata: ["error": "\(error)"])
                for link in outcome.closes { await link.close() }
                return
            }
        }
        await sendAndClose(outcome)
    }

    private func sendAndClose(_ outcome: HubOutcome) async {
        for (link, bytes) in outcome.sends {
            do { try await link.send(bytes) } catch {
                logger.debug("send to agent failed", metadata: ["error": "\(error)"])
            }
        }
        for link in outcome.closes { await link.close() }
    }
}

/// The sends of one reader (a WebSocket connection, or the MQTT subscription), in the order the
/// reader produced them, each after its records' acknowledgements.
final class SendLane: Sendable {
    private let continuation: AsyncStream<(HubOutcome, ProduceTicket)>.Continuation
    private let worker: Task<Void, Never>

    init(publisher: HubPublisher) {
        let (stream, continuation) = AsyncStream.makeStream(of: (HubOutcome, ProduceTicket).self)
        self.continuation = continuation
        worker = Task {
            for await (outcome, ticket) in stream { await publisher.finish(outcome, ticket: ticket) }
        }
    }

    func append(_ outcome: HubOutcome, ticket: ProduceTicket) {
        continuation.yield((outcome, ticket))
    }

    /// Waits until everything appended so far is sent; the lane takes nothing more.
    func drain() async {
        continuation.finish()
        await worker.value
    }
}
