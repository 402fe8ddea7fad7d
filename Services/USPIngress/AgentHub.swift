import BusContracts
import Foundation
import Kafka
import Logging
import Metrics
import NIOConcurrencyHelpers
import SwiftProtobuf
import USPCodec
import USPSession

/// Where records for one agent connection go: a WebSocket, or an MQTT topic.
protocol AgentLink: Sendable {
    /// Sends one serialized USP Record.
    func send(_ record: [UInt8]) async throws
    /// Ends the connection (a no-op where the MTP has none, as with MQTT).
    func close() async
    /// True when the link is a connection of its own (WebSocket): a DisconnectRecord on it
    /// reaches only that connection. An MQTT link is the agent's topic, which the agent's next
    /// session uses too.
    var isConnection: Bool { get }
}

/// What the hub decided for one input: records to publish first, then records to send to
/// agents, then links to close.
struct HubOutcome: Sendable {
    var records: [OutgoingRecord] = []
    var sends: [(AgentLink, [UInt8])] = []
    var closes: [AgentLink] = []
}

/// The live agent connections of this instance: one `USPAgentSession` per connection, behind a
/// lock (not an actor: a record costs a few microseconds here, and an actor hop per record costs
/// more in thread wake-ups than the work itself). An endpoint has one connection at a time here:
/// a new one replaces the old, whose commands are failed (retriable) and which is closed. Nothing
/// outlives the connection.
final class AgentHub: Sendable {
    private let state: NIOLockedValueBox<HubState>

    init(configuration: USPSessionConfiguration, topics: (events: String, results: String), logger: Logger) {
        state = NIOLockedValueBox(HubState(configuration: configuration, topics: topics, logger: logger))
    }

    var connectionCount: Int { state.withLockedValue { $0.sessions.count } }
    func connectionID(ofEndpoint endpointID: String) -> String? { state.withLockedValue { $0.connectionOfEndpoint[endpointID] } }
    func connect(_ connection: USPConnection, link: AgentLink, now: Date) -> HubOutcome { state.withLockedValue { $0.connect(connection, link: link, now: now) } }
    func receive(_ bytes: [UInt8], on connectionID: String, now: Date) -> HubOutcome { state.withLockedValue { $0.receive(bytes, on: connectionID, now: now) } }
    func receiveUnattached(_ bytes: [UInt8], connection: USPConnection, link: AgentLink, now: Date) -> HubOutcome {
        state.withLockedValue { $0.receiveUnattached(bytes, connection: connection, link: link, now: now) }
    }
    func deliver(_ delivery: Twinfleet_Bus_V1_Delivery, now: Date) -> HubOutcome { state.withLockedValue { $0.deliver(delivery, now: now) } }
    func tick(now: Date) -> HubOutcome { state.withLockedValue { $0.tick(now: now) } }
    func disconnected(_ connectionID: String, reason: String, now: Date) -> HubOutcome { state.withLockedValue { $0.disconnected(connectionID, reason: reason, now: now) } }
    func endAll(now: Date) -> HubOutcome { state.withLockedValue { $0.endAll(now: now) } }
}

/// What ``AgentHub`` guards.
struct HubState: Sendable {
    private(set) var sessions: [String: USPAgentSession] = [:]
    private var links: [String: AgentLink] = [:]
    private(set) var connectionOfEndpoint: [String: String] = [:]
    private let recordsReceived = Counter(label: "twinfleet_usp_records_received_total")
    private var resultCounters: [Twinfleet_Bus_V1_CommandStatus: Counter] = [:]
    private let configuration: USPSessionConfiguration
    private let encoder: USPRecordEncoder
    private let topics: (events: String, results: String)
    private let logger: Logger

    init(configuration: USPSessionConfiguration, topics: (events: String, results: String), logger: Logger) {
        self.configuration = configuration
        encoder = USPRecordEncoder(controllerEndpointID: configuration.controllerEndpointID)
        self.topics = topics
        self.logger = logger
    }

    /// A new agent connection.
    mutating func connect(_ connection: USPConnection, link: AgentLink, now: Date) -> HubOutcome {
        var outcome = HubOutcome()
        if let previous = connectionOfEndpoint[connection.endpointID] {
            outcome = end(previous, reason: "replaced by a new connection", now: now, closeLink: true)
        }
        var session = USPAgentSession(connection: connection, configuration: configuration)
        let step = session.open(now: now)
        sessions[connection.connectionID] = session
        links[connection.connectionID] = link
        connectionOfEndpoint[connection.endpointID] = connection.connectionID
        Counter(label: "twinfleet_usp_connections_opened_total", dimensions: [("mtp", "\(connection.mtp)")]).increment()
        Gauge(label: "twinfleet_usp_connections_open").record(sessions.count)
        collect(step, of: connection.connectionID, into: &outcome)
        return outcome
    }

    /// One record the agent of `connectionID` sent.
    mutating func receive(_ bytes: [UInt8], on connectionID: String, now: Date) -> HubOutcome {
        var outcome = HubOutcome()
        guard var session = sessions[connectionID] else { return outcome }
        let step = session.receive(record: bytes, now: now)
        sessions[connectionID] = session
        recordsReceived.increment()
        collect(step, of: connectionID, into: &outcome)
        return outcome
    }

    /// A record from an agent without a session here (MQTT: an agent held by another pod, or
    /// one that never sent an MQTTConnectRecord). A Boot! starts a session here; anything else
    /// is handled by a throwaway session: notifications are published and acknowledged, answers
    /// to requests this instance did not send are ignored.
    mutating func receiveUnattached(_ bytes: [UInt8], connection: USPConnection, link: AgentLink, now: Date) -> HubOutcome {
        var transient = USPAgentSession(connection: connection, configuration: configuration)
        let step = transient.receive(record: bytes, now: now)
        if step.events.contains(where: { if case .boot? = $0.body { true } else { false } }) {
            var outcome = connect(connection, link: link, now: now)
            let received = receive(bytes, on: connection.connectionID, now: now)
            outcome.records += received.records
            outcome.sends += received.sends
            outcome.closes += received.closes
            return outcome
        }
        var outcome = HubOutcome()
        append(step, deviceID: connection.endpointID, connectionID: connection.connectionID, into: &outcome)
        for message in step.messages {
            if let bytes = try? encoder.encode(message, to: connection.endpointID) { outcome.sends.append((link, bytes)) }
        }
        return outcome
    }

    /// A delivery from the inbox; one for a connection that is not here comes back NOT_DELIVERED
    /// so the dispatcher routes it again.
    mutating func deliver(_ delivery: Twinfleet_Bus_V1_Delivery, now: Date) -> HubOutcome {
        var outcome = HubOutcome()
        guard case .command(let commandDelivery)? = delivery.body else { return outcome }
        guard var session = sessions[delivery.sessionID] else {
            let context = USPResultContext(instanceID: configuration.instanceID, attempt: max(1, commandDelivery.attempt), occurredAtUs: now.unixMicroseconds)
            let result = USPAgentSession.notDelivered(commandDelivery.command, context: context, message: "connection \(delivery.sessionID) is not held by \(configuration.instanceID)")
            append(result, into: &outcome)
            return outcome
        }
        let step = session.deliver(commandDelivery, now: now)
        sessions[delivery.sessionID] = session
        collect(step, of: delivery.sessionID, into: &outcome)
        return outcome
    }

    /// Request timeouts of every connection.
    mutating func tick(now: Date) -> HubOutcome {
        var outcome = HubOutcome()
        for connectionID in sessions.keys.sorted() {
            guard var session = sessions[connectionID] else { continue }
            let step = session.tick(now: now)
            sessions[connectionID] = session
            collect(step, of: connectionID, into: &outcome)
        }
        return outcome
    }

    /// The transport reports the connection gone.
    mutating func disconnected(_ connectionID: String, reason: String, now: Date) -> HubOutcome {
        end(connectionID, reason: reason, now: now, closeLink: false)
    }

    /// Shutdown: every connection ends.
    mutating func endAll(now: Date) -> HubOutcome {
        var outcome = HubOutcome()
        for connectionID in sessions.keys.sorted() {
            let ended = end(connectionID, reason: "shutdown", now: now, closeLink: true)
            outcome.records += ended.records
            outcome.sends += ended.sends
            outcome.closes += ended.closes
        }
        return outcome
    }

    private mutating func end(_ connectionID: String, reason: String, now: Date, closeLink: Bool) -> HubOutcome {
        var outcome = HubOutcome()
        guard var session = sessions.removeValue(forKey: connectionID) else { return outcome }
        let link = links.removeValue(forKey: connectionID)
        if connectionOfEndpoint[session.deviceID] == connectionID { connectionOfEndpoint[session.deviceID] = nil }
        let step = session.close(reason: reason, now: now)
        append(step, deviceID: session.deviceID, connectionID: connectionID, into: &outcome)
        if closeLink, let link, link.isConnection {
            if let bytes = try? encoder.disconnect(to: session.deviceID, code: .sessionContextTerminated, reason: reason) {
                outcome.sends.append((link, bytes))
            }
            outcome.closes.append(link)
        }
        Counter(label: "twinfleet_usp_connections_ended_total", dimensions: [("reason", reason.hasPrefix("replaced") ? "replaced" : reason)]).increment()
        Gauge(label: "twinfleet_usp_connections_open").record(sessions.count)
        return outcome
    }

    /// Turns a session step into records, sends and (for a disconnect) the end of the session.
    private mutating func collect(_ step: USPSessionStep, of connectionID: String, into outcome: inout HubOutcome) {
        guard let session = sessions[connectionID] else { return }
        append(step, deviceID: session.deviceID, connectionID: connectionID, into: &outcome)
        if let link = links[connectionID] {
            for message in step.messages {
                do {
                    outcome.sends.append((link, try encoder.encode(message, to: session.deviceID)))
                } catch {
                    logger.error("USP record not encoded", metadata: ["error": "\(error)", "cpe.device.id": "\(session.deviceID)"])
                }
            }
        }
        if let disconnect = step.disconnect {
            // Refused input is answered with a DisconnectRecord; the agent's own is not.
            if !step.agentDisconnected, let link = links[connectionID],
               let bytes = try? encoder.disconnect(to: session.deviceID, code: disconnect.code, reason: disconnect.reason) {
                outcome.sends.append((link, bytes))
            }
            let reason = step.agentDisconnected ? "closed by agent (DisconnectRecord)" : "protocol error: \(disconnect.reason)"
            let ended = end(connectionID, reason: reason, now: Date(), closeLink: true)
            outcome.records += ended.records
            // The DisconnectRecord above (if any) is the one to send; `end` adds a generic one.
            outcome.closes += ended.closes
        }
    }

    private mutating func append(_ step: USPSessionStep, deviceID: String, connectionID: String, into outcome: inout HubOutcome) {
        for note in step.notes {
            logger.info("\(note)", metadata: ["cpe.device.id": "\(deviceID)", "usp.connection.id": "\(connectionID)"])
        }
        for event in step.events {
            if let record = try? record(event, topic: topics.events, key: event.deviceID) { outcome.records.append(record) }
        }
        for result in step.results { append(result, into: &outcome) }
    }

    private mutating func append(_ result: Twinfleet_Bus_V1_CommandResult, into outcome: inout HubOutcome) {
        if resultCounters[result.status] == nil {
            resultCounters[result.status] = Counter(label: "twinfleet_usp_command_results_total", dimensions: [("status", "\(result.status)")])
        }
        resultCounters[result.status]?.increment()
        if let record = try? record(result, topic: topics.results, key: result.deviceID) { outcome.records.append(record) }
    }

    private func record<M: SwiftProtobuf.Message>(_ message: M, topic: String, key: String) throws -> OutgoingRecord {
        try OutgoingRecord(message: message, topic: topic, key: key)
    }
}
