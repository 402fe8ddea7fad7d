#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import BusContracts
import CWMPCodec

/// The live sessions of one ingress instance, by session ID (the cookie value): session
/// continuity by cookie, with a bound on how many sessions are open at once.
///
/// A value type like the sessions it holds; the ingress keeps it behind one lock or actor.
/// Every input returns the steps to carry out, each tagged with its session: a step's reply
/// answers that session's current or parked POST. Ended sessions are dropped at once, so the
/// table never holds anything about a device beyond its live session.
///
/// When a device's Inform is accepted while an older session of the same device is still in
/// the table (the CPE gave up on it), the older one is ended as ``CWMPSessionEndReason/superseded``
/// and its step comes first, so its `session-closed` precedes the new `session-opened`.
public struct CWMPSessionTable: Sendable {
    /// One session's step.
    public struct Output: Sendable {
        /// The session the step belongs to.
        public var sessionID: String
        /// What to do.
        public var step: CWMPSessionStep
    }

    /// Most sessions open at once; a new one beyond it is refused with 503.
    public let capacity: Int
    /// The configuration every session gets.
    public let configuration: CWMPSessionConfiguration

    private var sessions: [String: CWMPSession] = [:]
    private var sessionOfDevice: [String: String] = [:]

    /// Creates an empty table.
    /// The connection-request credentials each CPE gets at `0 BOOTSTRAP` (by device ID); nil,
    /// or nil for a device: none are set.
    public let connectionRequestCredentials: (@Sendable (_ deviceID: String) -> (username: String, password: String)?)?

    public init(capacity: Int, configuration: CWMPSessionConfiguration = .default,
                connectionRequestCredentials: (@Sendable (_ deviceID: String) -> (username: String, password: String)?)? = nil) {
        self.capacity = max(1, capacity)
        self.configuration = configuration
        self.connectionRequestCredentials = connectionRequestCredentials
    }

    /// Sessions open now.
    public var count: Int { sessions.count }

    /// The session with this ID, if it is live.
    public func session(_ sessionID: String) -> CWMPSession? { sessions[sessionID] }

    /// True when a session with this ID is live.
    public func contains(_ sessionID: String) -> Bool { sessions[sessionID] != nil }

    /// The live session of a device, if any.
    public func sessionID(ofDevice deviceID: String) -> String? { sessionOfDevice[deviceID] }

    /// Opens a session for a POST that carries no live session's cookie, under the ID the
    /// ingress minted. Returns nil when admitted (then call ``receive(request:sessionID:now:)``),
    /// or the 503 response (with `Retry-After`) to send when the table is full. An ID already
    /// live is left as it is.
    public mutating func open(_ context: CWMPSessionContext, now: Date) -> CWMPHTTPResponse? {
        if sessions[context.sessionID] != nil { return nil }
        guard sessions.count < capacity else {
            return CWMPHTTPResponse(status: 503, headers: ["Retry-After": String(configuration.retryAfterSeconds)])
        }
        sessions[context.sessionID] = CWMPSession(context: context, configuration: configuration, now: now)
        return nil
    }

    /// A POST for a live session. Empty when the session is unknown (open it first).
    public mutating func receive(request: CWMPHTTPRequest, sessionID: String, now: Date) -> [Output] {
        guard var session = sessions[sessionID] else { return [] }
        let knewDevice = session.device != nil
        let step = session.receive(request: request, now: now)
        var outputs: [Output] = []
        if !knewDevice, let deviceID = session.device?.deviceID.rawValue {
            if let older = sessionOfDevice[deviceID], older != sessionID, var previous = sessions[older] {
                outputs.append(Output(sessionID: older, step: previous.end(reason: .superseded, now: now)))
                store(previous)
            }
            sessionOfDevice[deviceID] = sessionID
            // A new or factory-reset CPE knows no credentials for our connection requests yet.
            if session.device?.events.contains(where: { $0.eventCode == .bootstrap }) == true,
               let credentials = connectionRequestCredentials?(deviceID) {
                session.provisionConnectionRequestCredentials(username: credentials.username, password: credentials.password)
            }
        }
        outputs.append(Output(sessionID: sessionID, step: step))
        store(session)
        return outputs
    }

    /// A record of the instance's inbox, routed by its session ID. Empty when that session is
    /// not live here (the dispatcher plans again on the device's next session).
    public mutating func receive(delivery: Twinfleet_Bus_V1_Delivery, now: Date) -> [Output] {
        guard var session = sessions[delivery.sessionID] else { return [] }
        let step = session.receive(delivery: delivery, now: now)
        store(session)
        return [Output(sessionID: session.sessionID, step: step)]
    }

    /// Ticks every session whose deadline has come (parked POSTs past their plan deadline,
    /// idle sessions), drops those that ended, and returns their steps, by session ID.
    public mutating func tick(now: Date) -> [Output] {
        let due = sessions.values.filter { ($0.nextDeadline ?? .distantFuture) <= now }.map(\.sessionID).sorted()
        var outputs: [Output] = []
        for sessionID in due {
            guard var session = sessions[sessionID] else { continue }
            let step = session.tick(now: now)
            store(session)
            if !step.isEmpty { outputs.append(Output(sessionID: sessionID, step: step)) }
        }
        return outputs
    }

    /// When ``tick(now:)`` next has something to do; nil when the table is empty.
    public var nextDeadline: Date? {
        sessions.values.compactMap(\.nextDeadline).min()
    }

    /// Ends every session (graceful shutdown), by session ID.
    public mutating func endAll(reason: CWMPSessionEndReason, now: Date) -> [Output] {
        var outputs: [Output] = []
        for sessionID in sessions.keys.sorted() {
            guard var session = sessions[sessionID] else { continue }
            outputs.append(Output(sessionID: sessionID, step: session.end(reason: reason, now: now)))
            store(session)
        }
        return outputs
    }

    /// Puts a session back, or drops it (and its device index entry) once it ended.
    private mutating func store(_ session: CWMPSession) {
        let sessionID = session.sessionID
        guard session.isEnded else {
            sessions[sessionID] = session
            return
        }
        sessions[sessionID] = nil
        if let deviceID = session.device?.deviceID.rawValue, sessionOfDevice[deviceID] == sessionID {
            sessionOfDevice[deviceID] = nil
        }
    }
}
