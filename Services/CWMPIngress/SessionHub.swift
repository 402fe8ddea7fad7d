import BusContracts
import CWMPSession
import Foundation
import Kafka
import Logging
import Metrics
import NIOConcurrencyHelpers
import SwiftProtobuf

/// An HTTP exchange the session parked (the CPE's empty POST waiting for the dispatcher's plan):
/// whoever produces the session's next response hands it over, before or after the handler waits.
final class ParkedExchange: Sendable {
    private enum State {
        case waiting(CheckedContinuation<CWMPHTTPResponse, Never>?)
        case answered(CWMPHTTPResponse)
    }

    private let state = NIOLockedValueBox(State.waiting(nil))

    /// Hands the response over; a second answer is ignored.
    func answer(_ response: CWMPHTTPResponse) {
        let continuation: CheckedContinuation<CWMPHTTPResponse, Never>? = state.withLockedValue { state in
            guard case .waiting(let continuation) = state else { return nil }
            state = .answered(response)
            return continuation
        }
        continuation?.resume(returning: response)
    }

    /// The response, once there is one.
    func wait() async -> CWMPHTTPResponse {
        await withCheckedContinuation { continuation in
            let ready: CWMPHTTPResponse? = state.withLockedValue { state in
                if case .answered(let response) = state { return response }
                state = .waiting(continuation)
                return nil
            }
            if let ready { continuation.resume(returning: ready) }
        }
    }
}

/// What the hub decided for one input: records to publish first, then parked exchanges to
/// answer, then (for an HTTP request) this exchange's own reply.
struct HubOutcome: Sendable {
    var records: [OutgoingRecord] = []
    var answers: [(ParkedExchange, CWMPHTTPResponse)] = []
    var reply: Reply?

    enum Reply: Sendable {
        case respond(CWMPHTTPResponse)
        case parked(ParkedExchange)
    }
}

/// The live CWMP sessions of this instance: a `CWMPSessionTable` behind an actor, plus the
/// exchanges parked on it. Nothing here outlives a session (invariant 4): a restart loses only
/// sessions in flight, which the CPEs retry.
actor SessionHub {
    private var table: CWMPSessionTable
    private var parked: [String: ParkedExchange] = [:]
    private let logger: Logger
    private let topics: (events: String, results: String)

    init(capacity: Int, configuration: CWMPSessionConfiguration, topics: (events: String, results: String),
         connectionRequestCredentials: (@Sendable (String) -> (username: String, password: String)?)? = nil, logger: Logger) {
        table = CWMPSessionTable(capacity: capacity, configuration: configuration, connectionRequestCredentials: connectionRequestCredentials)
        self.topics = topics
        self.logger = logger
    }

    var sessionCount: Int { table.count }

    func contains(_ sessionID: String) -> Bool { table.contains(sessionID) }

    /// Whether the device is in a session on this instance now.
    func hasSession(ofDevice deviceID: String) -> Bool { table.sessionID(ofDevice: deviceID) != nil }

    /// An HTTP POST: continues the session of `sessionID`, or opens `context`'s session.
    func receive(_ request: CWMPHTTPRequest, sessionID: String?, opening context: CWMPSessionContext, now: Date) -> (sessionID: String, outcome: HubOutcome) {
        var id = context.sessionID
        if let sessionID, table.contains(sessionID) {
            id = sessionID
        } else if let refusal = table.open(context, now: now) {
            return (id, HubOutcome(reply: .respond(refusal)))
        }
        var outcome = apply(table.receive(request: request, sessionID: id, now: now), ownSession: id)
        if outcome.reply == nil {
            // The session ended without an HTTP answer of its own (it cannot: every request is
            // answered); fail safe with an empty response so the CPE closes.
            outcome.reply = .respond(.noContent)
        }
        return (id, outcome)
    }

    /// A delivery from this instance's inbox.
    func receive(_ delivery: Twinfleet_Bus_V1_Delivery, now: Date) -> HubOutcome {
        apply(table.receive(delivery: delivery, now: now))
    }

    /// Deadlines: parked POSTs whose plan did not come, idle sessions.
    func tick(now: Date) -> HubOutcome {
        apply(table.tick(now: now))
    }

    /// Shutdown: ends every session (commands not run are reported NOT_DELIVERED).
    func endAll(now: Date) -> HubOutcome {
        apply(table.endAll(reason: .shutdown, now: now))
    }

    /// Collects records and answers; the step of `ownSession` (the HTTP request being handled)
    /// becomes the outcome's reply.
    private func apply(_ outputs: [CWMPSessionTable.Output], ownSession: String? = nil) -> HubOutcome {
        var outcome = HubOutcome()
        for output in outputs {
            let step = output.step
            for note in step.notes {
                logger.info("\(note)", metadata: ["cwmp.session.id": "\(output.sessionID)", "cpe.device.id": "\(step.deviceID ?? "")"])
            }
            outcome.records += step.events.compactMap { try? Self.record($0, topic: topics.events, key: $0.deviceID) }
            outcome.records += step.results.compactMap { try? Self.record($0, topic: topics.results, key: $0.deviceID) }
            count(step)
            if output.sessionID == ownSession {
                switch step.reply {
                case .respond(let response)?:
                    outcome.reply = .respond(response)
                case .hold?:
                    let exchange = ParkedExchange()
                    parked[output.sessionID] = exchange
                    outcome.reply = .parked(exchange)
                case nil:
                    break
                }
            } else if case .respond(let response)? = step.reply, let exchange = parked.removeValue(forKey: output.sessionID) {
                outcome.answers.append((exchange, response))
            }
            if step.sessionEnded, let exchange = parked.removeValue(forKey: output.sessionID) {
                outcome.answers.append((exchange, .noContent))
            }
        }
        return outcome
    }

    /// Sessions opened and ended (by reason), command outcomes, and the sessions open now.
    private func count(_ step: CWMPSessionStep) {
        for event in step.events {
            guard case .presence(let presence)? = event.body else { continue }
            switch presence.kind {
            case .sessionOpened:
                Counter(label: "twinfleet_cwmp_sessions_opened_total").increment()
            case .sessionClosed:
                Counter(label: "twinfleet_cwmp_sessions_ended_total", dimensions: [("reason", presence.reason.isEmpty ? "unknown" : presence.reason)]).increment()
            default:
                break
            }
        }
        for result in step.results {
            Counter(label: "twinfleet_cwmp_command_results_total", dimensions: [("status", "\(result.status)")]).increment()
        }
        if let taken = step.credentialsProvisioned {
            Counter(label: "twinfleet_cwmp_cr_credentials_set_total", dimensions: [("outcome", taken ? "taken" : "refused")]).increment()
        }
        Gauge(label: "twinfleet_cwmp_sessions_open").record(table.count)
    }

    static func record<M: SwiftProtobuf.Message>(_ message: M, topic: String, key: String) throws -> OutgoingRecord {
        try OutgoingRecord(message: message, topic: topic, key: key)
    }
}
