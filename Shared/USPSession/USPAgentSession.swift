#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import BusContracts
import TwinfleetModel
import USPCodec

/// The controller's side of one agent connection, as a value: records in, records and messages
/// out, no I/O and no clock of its own (every input carries `now`).
///
/// - ``open(now:)``: `connected` presence, then the subscription check (a Get of
///   `Device.LocalAgent.Subscription.`, followed by an Add of the missing Twinfleet subscriptions
///   and a Delete of stale ones).
/// - ``receive(record:now:)``: Notify → device event (and NotifyResp when asked); responses →
///   command results; records and messages that cannot be read are answered as TR-369 says
///   (USP Error, DisconnectRecord, or nothing) and enough of them close the connection.
/// - ``deliver(_:now:)``: a command from the inbox becomes a request with a `msg_id` that leads
///   back to it. A Refresh is a synchronisation: GetSupportedDM for the types, then Gets of the
///   first-level objects in chunks, published as one full-sync ParameterReport.
/// - ``tick(now:)``: unanswered requests fail (retriable) after the timeout.
/// - ``close(reason:now:)``: commands still waiting fail (retriable), `disconnected` presence.
public struct USPAgentSession: Sendable {
    /// The connection this session runs on.
    public let connection: USPConnection
    /// The configuration.
    public let configuration: USPSessionConfiguration
    /// True once ``close(reason:now:)`` ran.
    public private(set) var closed = false

    private var pending: [String: Pending] = [:]
    private var awaitingCompletion: [String: AwaitedOperation] = [:]
    private var synchronisations: [String: Synchronisation] = [:]
    /// Types the agent reported (GetSupportedDM), by generic path (`Device.WiFi.SSID.{i}.SSID`).
    private var types: [String: ParameterType] = [:]
    private var badRecords = 0
    private var requestCounter: UInt64 = 0
    private let recordDecoder: USPRecordDecoder
    private let messageDecoder: USPMessageDecoder

    private struct Pending: Sendable {
        var purpose: Purpose
        var deadline: Date
    }

    private enum Purpose: Sendable {
        case command(Twinfleet_Bus_V1_Command, attempt: UInt32)
        case subscriptionList
        case typeDiscovery
        case subscribe([USPSubscription])
        case unsubscribe([String])
    }

    private struct AwaitedOperation: Sendable {
        var command: Twinfleet_Bus_V1_Command
        var attempt: UInt32
    }

    /// A Refresh in progress: the Gets still to send and what was read so far.
    private struct Synchronisation: Sendable {
        var command: Twinfleet_Bus_V1_Command
        var attempt: UInt32
        var root: String
        var chunks: [(paths: [String], maxDepth: UInt32)] = []
        var step: UInt32 = 0
        var parameters: [Twinfleet_Bus_V1_Parameter] = []
        var failures: [USPParameterError] = []
    }

    /// A session for `connection`.
    public init(connection: USPConnection, configuration: USPSessionConfiguration) {
        self.connection = connection
        self.configuration = configuration
        recordDecoder = USPRecordDecoder(controllerEndpointID: configuration.controllerEndpointID, limits: configuration.limits)
        messageDecoder = USPMessageDecoder(limits: configuration.limits)
    }

    /// The device this session speaks for.
    public var deviceID: String { connection.endpointID }

    /// Requests sent and not answered yet.
    public var requestsInFlight: Int { pending.count }

    // MARK: Connection

    /// The connection is up: `connected`, the subscription check, and a GetSupportedDM of
    /// `Device.` (parameters only) so that values read or notified on this connection are typed
    /// even before a synchronisation runs.
    public mutating func open(now: Date) -> USPSessionStep {
        var step = USPSessionStep()
        step.events.append(presence(.connected, reason: "", now: now))
        let msgID = nextControllerID("subs")
        pending[msgID] = Pending(purpose: .subscriptionList, deadline: deadline(now))
        step.messages.append(USPMessages.get(msgID: msgID, paths: [USPSubscription.table], maxDepth: 0))
        let typesID = nextControllerID("types")
        pending[typesID] = Pending(purpose: .typeDiscovery, deadline: deadline(now))
        step.messages.append(USPMessages.getSupportedDM(msgID: typesID, paths: ["Device."], returnCommands: false, returnEvents: false, returnUniqueKeySets: false))
        return step
    }

    /// The connection ended: commands waiting for an answer fail (retriable: the agent may not
    /// have seen them), and `disconnected` is published. Commands running asynchronously are
    /// left to the dispatcher's in-progress timeout; their OperationComplete may still come on a
    /// later connection.
    public mutating func close(reason: String, now: Date) -> USPSessionStep {
        guard !closed else { return USPSessionStep() }
        closed = true
        var step = USPSessionStep()
        var failed = Set<String>()
        for (_, entry) in pending.sorted(by: { $0.key < $1.key }) {
            guard case .command(let command, let attempt) = entry.purpose, failed.insert(command.commandID).inserted else { continue }
            step.results.append(failure(command, attempt: attempt, code: .sessionEnded, message: "connection closed (\(reason)) before the agent answered", now: now))
        }
        pending.removeAll()
        synchronisations.removeAll()
        step.events.append(presence(.disconnected, reason: reason, now: now))
        return step
    }

    /// Deadlines: requests unanswered for longer than the timeout.
    public mutating func tick(now: Date) -> USPSessionStep {
        var step = USPSessionStep()
        guard !closed else { return step }
        for (msgID, entry) in pending.sorted(by: { $0.key < $1.key }) where entry.deadline <= now {
            pending[msgID] = nil
            switch entry.purpose {
            case .command(let command, let attempt):
                synchronisations[command.commandID] = nil
                step.results.append(failure(command, attempt: attempt, code: .responseTimeout,
                                            message: "no answer to \(msgID) within \(Int(configuration.requestTimeout.timeInterval)) s", now: now))
            case .subscriptionList, .subscribe, .unsubscribe, .typeDiscovery:
                step.notes.append("controller request \(msgID) unanswered within the timeout")
            }
        }
        return step
    }

    // MARK: Records

    /// One record from the agent.
    public mutating func receive(record bytes: [UInt8], now: Date) -> USPSessionStep {
        var step = USPSessionStep()
        guard !closed else { return step }
        let record: USPRecord
        do {
            record = try recordDecoder.decode(bytes, expectedSender: connection.endpointID)
        } catch {
            switch error.action {
            case .disconnect(let code):
                step.disconnect = (code, error.message)
            case .ignore:
                step.notes.append("record ignored: \(error)")
                step.append(countBadRecord())
            }
            return step
        }
        switch record.content {
        case .message(let payload):
            return receive(message: payload, now: now)
        case .webSocketConnect, .mqttConnect, .stompConnect:
            // Connect records announce what the transport already told us.
            badRecords = 0
            return step
        case .disconnect(let reason, let code):
            step.notes.append("agent disconnects: \(code) \(reason)")
            step.disconnect = (code, "agent sent a DisconnectRecord")
            step.agentDisconnected = true
            return step
        }
    }

    private mutating func countBadRecord() -> USPSessionStep {
        var step = USPSessionStep()
        badRecords += 1
        if badRecords >= configuration.maxBadRecords {
            step.disconnect = (.recordNotParsed, "\(badRecords) consecutive records could not be read")
        }
        return step
    }

    private mutating func receive(message payload: Data, now: Date) -> USPSessionStep {
        var step = USPSessionStep()
        let message: USPAgentMessage
        do {
            message = try messageDecoder.decode(payload)
        } catch {
            step.notes.append("message refused: \(error)")
            if case .sendError(let code) = error.action, let msgID = error.msgID {
                step.messages.append(USPMessages.error(msgID: msgID, code: code, message: error.message))
            } else if let msgID = error.msgID, let entry = pending.removeValue(forKey: msgID), case .command(let command, let attempt) = entry.purpose {
                // An answer to a command that cannot be read: the command fails.
                synchronisations[command.commandID] = nil
                step.results.append(USPCommandResults.result(for: error, command: command, context: context(attempt, now)))
                return step
            }
            step.append(countBadRecord())
            return step
        }
        badRecords = 0
        switch message.body {
        case .notify(let notify):
            return received(notify, msgID: message.msgID, now: now)
        case .response, .error:
            return answered(message, now: now)
        }
    }

    // MARK: Notifications

    private mutating func received(_ notify: USPNotify, msgID: String, now: Date) -> USPSessionStep {
        var step = USPSessionStep()
        let lookup = typeLookup
        do {
            if let body = try USPDeviceEvents.body(for: notify, typeLookup: lookup) {
                step.events.append(event(body, now: now))
            } else if case .onBoardRequest(let request) = notify.notification {
                step.notes.append("OnBoardRequest from \(request.oui)-\(request.productClass)-\(request.serialNumber), USP \(request.agentSupportedProtocolVersions)")
            } else if case .event(let other) = notify.notification {
                step.notes.append("event \(other.path) has no bus form; acknowledged")
            }
        } catch {
            step.notes.append("notification refused: \(error)")
            step.messages.append(USPMessages.error(msgID: msgID, code: .invalidArguments, message: error.message))
            return step
        }
        if case .operationComplete(let completion) = notify.notification,
           let awaited = awaitingCompletion.removeValue(forKey: completion.commandKey) {
            step.results.append(USPCommandResults.result(for: completion, command: awaited.command, context: context(awaited.attempt, now)))
        }
        if notify.sendResponse {
            step.messages.append(USPMessages.notifyResponse(msgID: msgID, subscriptionID: notify.subscriptionID))
        }
        return step
    }

    // MARK: Responses

    private mutating func answered(_ message: USPAgentMessage, now: Date) -> USPSessionStep {
        var step = USPSessionStep()
        guard let entry = pending.removeValue(forKey: message.msgID) else {
            step.notes.append("answer to no pending request (late or unknown msg_id \(message.msgID)) ignored")
            return step
        }
        switch entry.purpose {
        case .command(let command, let attempt):
            if synchronisations[command.commandID] != nil {
                return synchronised(message, commandID: command.commandID, now: now)
            }
            guard let result = USPCommandResults.result(for: message, command: command, context: context(attempt, now), typeLookup: typeLookup) else {
                return step
            }
            if result.status == .inProgress {
                awaitingCompletion[USPCommandTranslator.commandKey(for: command)] = AwaitedOperation(command: command, attempt: attempt)
            }
            step.results.append(result)
        case .subscriptionList:
            step.append(reconcileSubscriptions(message, now: now))
        case .typeDiscovery:
            if case .response(.getSupportedDM(let supported)) = message.body {
                learnTypes(supported)
            } else {
                step.notes.append("GetSupportedDM of Device. not answered with a GetSupportedDMResp; values stay untyped until a synchronisation")
            }
        case .subscribe(let subscriptions):
            switch message.body {
            case .response(.add(let add)):
                for (subscription, created) in zip(subscriptions, add.results) {
                    if case .failure(let failure) = created.outcome {
                        step.notes.append("subscription \(subscription.id) refused: \(failure)")
                    }
                }
            case .error(let error):
                step.notes.append("subscriptions refused: \(error)")
            default:
                step.notes.append("unexpected answer to the subscription Add")
            }
        case .unsubscribe(let paths):
            if case .error(let error) = message.body {
                step.notes.append("stale subscriptions \(paths) not deleted: \(error)")
            }
        }
        return step
    }

    /// The agent's subscription table: Add what Twinfleet needs and is missing, Delete
    /// Twinfleet subscriptions that are disabled or no longer configured.
    private mutating func reconcileSubscriptions(_ message: USPAgentMessage, now: Date) -> USPSessionStep {
        var step = USPSessionStep()
        let wanted = configuration.subscriptions
        var present: [String: (instance: String, enabled: Bool)] = [:]
        if case .response(.get(let get)) = message.body {
            var byInstance: [String: [String: String]] = [:]
            for parameter in get.parameters {
                guard let dot = parameter.path.lastIndex(of: ".") else { continue }
                let instance = String(parameter.path[...dot])
                byInstance[instance, default: [:]][String(parameter.path[parameter.path.index(after: dot)...])] = parameter.text
            }
            for (instance, values) in byInstance {
                guard let id = values["ID"], id.hasPrefix(USPSessionConfiguration.subscriptionPrefix) else { continue }
                present[id] = (instance, values["Enable"].map { $0 == "true" || $0 == "1" } ?? true)
            }
        } else {
            step.notes.append("subscription table unreadable; creating every subscription")
        }
        let wantedIDs = Set(wanted.map(\.id))
        let stale = present.filter { !wantedIDs.contains($0.key) || !$0.value.enabled }.map(\.value.instance).sorted()
        let missing = wanted.filter { present[$0.id] == nil || present[$0.id]?.enabled == false }
        if !stale.isEmpty {
            let msgID = nextControllerID("unsubscribe")
            pending[msgID] = Pending(purpose: .unsubscribe(stale), deadline: deadline(now))
            step.messages.append(USPMessages.delete(msgID: msgID, paths: stale, allowPartial: true))
        }
        if !missing.isEmpty {
            let msgID = nextControllerID("subscribe")
            pending[msgID] = Pending(purpose: .subscribe(missing), deadline: deadline(now))
            step.messages.append(USPMessages.subscribe(msgID: msgID, subscriptions: missing))
        }
        return step
    }

    // MARK: Deliveries

    /// A command from this instance's inbox, addressed to this connection.
    public mutating func deliver(_ delivery: Twinfleet_Bus_V1_CommandDelivery, now: Date) -> USPSessionStep {
        var step = USPSessionStep()
        let command = delivery.command
        let attempt = max(1, delivery.attempt)
        guard !closed else {
            step.results.append(notDelivered(command, attempt: attempt, message: "connection closed", now: now))
            return step
        }
        let msgID = USPCommandTranslator.messageID(for: command, attempt: attempt).rawValue
        if pending[msgID] != nil || synchronisations[command.commandID]?.attempt == attempt {
            step.notes.append("delivery \(msgID) is already in flight; duplicate ignored")
            return step
        }
        guard pending.count < configuration.maxInFlight else {
            var result = notDelivered(command, attempt: attempt, message: "\(pending.count) requests already in flight on this connection", now: now)
            result.error.code = TwinfleetErrorCode.sessionFull.rawValue
            step.results.append(result)
            return step
        }
        if command.expiresAtUs > 0, command.expiresAtUs <= now.unixMicroseconds {
            step.results.append(base(command, attempt: attempt, status: .expired, now: now))
            return step
        }
        if case .refresh(let refresh)? = command.kind {
            // No path: the whole data model, which for USP is always rooted at `Device.`.
            return startSynchronisation(command, attempt: attempt, root: refresh.path.isEmpty ? "Device." : refresh.path, now: now)
        }
        do {
            let request = try USPCommandTranslator.request(for: command, attempt: attempt, options: configuration.requestOptions)
            pending[request.header.msgID] = Pending(purpose: .command(command, attempt: attempt), deadline: deadline(now))
            step.messages.append(request)
            step.results.append(base(command, attempt: attempt, status: .delivered, now: now))
        } catch {
            step.results.append(USPCommandResults.result(for: error, command: command, context: context(attempt, now)))
        }
        return step
    }

    // MARK: Synchronisation (Refresh)

    private mutating func startSynchronisation(_ command: Twinfleet_Bus_V1_Command, attempt: UInt32, root: String, now: Date) -> USPSessionStep {
        var step = USPSessionStep()
        synchronisations[command.commandID] = Synchronisation(command: command, attempt: attempt, root: root)
        let msgID = USPCommandTranslator.messageID(for: command, attempt: attempt, step: 0).rawValue
        pending[msgID] = Pending(purpose: .command(command, attempt: attempt), deadline: deadline(now))
        step.messages.append(USPMessages.getSupportedDM(msgID: msgID, paths: [root], returnCommands: false, returnEvents: false, returnUniqueKeySets: false))
        step.results.append(base(command, attempt: attempt, status: .delivered, now: now))
        return step
    }

    private mutating func synchronised(_ message: USPAgentMessage, commandID: String, now: Date) -> USPSessionStep {
        guard var sync = synchronisations[commandID] else { return USPSessionStep() }
        var step = USPSessionStep()
        if sync.step == 0 {
            // GetSupportedDM: learn the types and the first-level objects. An agent that refuses
            // it is read in one Get, untyped.
            var children: [String] = []
            if case .response(.getSupportedDM(let supported)) = message.body {
                learnTypes(supported)
                for requested in supported.results where requested.failure == nil {
                    for object in requested.objects {
                        if let child = Self.firstLevelObject(object.path, under: sync.root), !children.contains(child) { children.append(child) }
                    }
                }
            } else {
                step.notes.append("GetSupportedDM of \(sync.root) not answered with a GetSupportedDMResp; reading it untyped in one Get")
            }
            if children.isEmpty {
                sync.chunks = [([sync.root], 0)]
            } else {
                let size = max(1, configuration.syncPathsPerGet)
                sync.chunks = [([sync.root], 1)] + stride(from: 0, to: children.count, by: size).map { start in
                    (Array(children[start..<min(start + size, children.count)]), UInt32(0))
                }
            }
        } else {
            switch message.body {
            case .response(.get(let get)):
                let typed = get.typedParameters(typeLookup: typeLookup)
                sync.parameters += typed.parameters
                sync.failures += get.failures
                if !typed.unrepresentable.isEmpty {
                    step.notes.append("\(typed.unrepresentable.count) values with paths the twin cannot hold skipped")
                }
            default:
                synchronisations[commandID] = nil
                if let result = USPCommandResults.result(for: message, command: sync.command, context: context(sync.attempt, now)) {
                    step.results.append(result)
                }
                return step
            }
        }
        let next = Int(sync.step)
        guard next >= sync.chunks.count else {
            sync.step += 1
            let msgID = USPCommandTranslator.messageID(for: sync.command, attempt: sync.attempt, step: sync.step).rawValue
            pending[msgID] = Pending(purpose: .command(sync.command, attempt: sync.attempt), deadline: deadline(now))
            step.messages.append(USPMessages.get(msgID: msgID, paths: sync.chunks[next].paths, maxDepth: sync.chunks[next].maxDepth))
            synchronisations[commandID] = sync
            return step
        }
        synchronisations[commandID] = nil
        if !sync.failures.isEmpty {
            // A partial read must not replace the twin's subtree: the whole Refresh fails.
            let result = USPCommandResults.failed(sync.command, context(sync.attempt, now), sync.failures, summary: "synchronisation of \(sync.root) incomplete")
            step.results.append(result)
            return step
        }
        let reportID = UUID().uuidString.lowercased()
        for report in USPDeviceEvents.parameterReports(sync.parameters, fullSyncRoot: sync.root, reportID: reportID, commandID: sync.command.commandID,
                                                       maxParametersPerChunk: configuration.maxParametersPerChunk) {
            step.events.append(event(.parameterReport(report), now: now))
        }
        step.results.append(base(sync.command, attempt: sync.attempt, status: .succeeded, now: now))
        return step
    }

    /// The first-level object under `root` that a supported object belongs to, as a Get path:
    /// `Device.DeviceInfo.` for `Device.DeviceInfo.`, `Device.WiFi.` for `Device.WiFi.SSID.{i}.`
    /// (agents need not list the intermediate objects), `Device.InterfaceStack.` for the table
    /// `Device.InterfaceStack.{i}.`; nil for the root itself and paths outside it.
    static func firstLevelObject(_ supportedPath: String, under root: String) -> String? {
        guard supportedPath.hasPrefix(root), supportedPath != root else { return nil }
        let rest = supportedPath.dropFirst(root.count).split(separator: ".", omittingEmptySubsequences: true)
        guard let first = rest.first, first != "{i}" else { return nil }
        return root + first + "."
    }

    // MARK: Helpers

    private mutating func learnTypes(_ supported: USPSupportedDataModel) {
        for requested in supported.results where requested.failure == nil {
            for object in requested.objects {
                for (path, type) in object.parameterTypes { types[path] = type }
            }
        }
    }

    /// Types learned from GetSupportedDM, looked up by the generic form of a path.
    private var typeLookup: USPTypeLookup {
        let types = self.types
        return { path in
            guard !types.isEmpty else { return nil }
            return types[Self.genericPath(path.rawValue)]
        }
    }

    /// `Device.WiFi.SSID.3.SSID` → `Device.WiFi.SSID.{i}.SSID`.
    static func genericPath(_ path: String) -> String {
        path.split(separator: ".", omittingEmptySubsequences: false)
            .map { part in !part.isEmpty && part.utf8.allSatisfy({ $0 >= 48 && $0 <= 57 }) ? "{i}" : String(part) }
            .joined(separator: ".")
    }

    private mutating func nextControllerID(_ purpose: String) -> String {
        requestCounter += 1
        return USPMessageID.controller(purpose: purpose, token: "\(connection.connectionID)/\(requestCounter)").rawValue
    }

    private func deadline(_ now: Date) -> Date {
        now.addingTimeInterval(configuration.requestTimeout.timeInterval)
    }

    private func context(_ attempt: UInt32, _ now: Date) -> USPResultContext {
        USPResultContext(instanceID: configuration.instanceID, attempt: attempt, occurredAtUs: now.unixMicroseconds)
    }

    private func base(_ command: Twinfleet_Bus_V1_Command, attempt: UInt32, status: Twinfleet_Bus_V1_CommandStatus, now: Date) -> Twinfleet_Bus_V1_CommandResult {
        USPCommandResults.base(command, context(attempt, now), status)
    }

    /// FAILED, retriable, with a Twinfleet code.
    private func failure(_ command: Twinfleet_Bus_V1_Command, attempt: UInt32, code: TwinfleetErrorCode, message: String, now: Date) -> Twinfleet_Bus_V1_CommandResult {
        USPCommandResults.failed(command, context(attempt, now), code: code.rawValue, message: message, retriable: true)
    }

    private func notDelivered(_ command: Twinfleet_Bus_V1_Command, attempt: UInt32, message: String, now: Date) -> Twinfleet_Bus_V1_CommandResult {
        Self.notDelivered(command, context: context(attempt, now), message: message)
    }

    /// NOT_DELIVERED (retriable, 1002): the dispatcher routes the command again.
    public static func notDelivered(_ command: Twinfleet_Bus_V1_Command, context: USPResultContext, message: String) -> Twinfleet_Bus_V1_CommandResult {
        var result = USPCommandResults.base(command, context, .notDelivered)
        result.error.code = TwinfleetErrorCode.sessionEnded.rawValue
        result.error.message = message
        result.error.retriable = true
        return result
    }

    private func presence(_ kind: Twinfleet_Bus_V1_Presence.Kind, reason: String, now: Date) -> Twinfleet_Bus_V1_DeviceEvent {
        var presence = Twinfleet_Bus_V1_Presence()
        presence.kind = kind
        presence.instanceID = configuration.instanceID
        presence.remoteAddress = connection.remoteAddress
        presence.mtp = connection.mtp
        presence.tls = connection.tls
        presence.reason = reason
        return event(.presence(presence), now: now)
    }

    private func event(_ body: Twinfleet_Bus_V1_DeviceEvent.OneOf_Body, now: Date) -> Twinfleet_Bus_V1_DeviceEvent {
        USPDeviceEvents.event(body, envelope: USPEventEnvelope(
            eventID: UUID().uuidString.lowercased(), deviceID: connection.endpointID, tenantID: configuration.tenantID,
            occurredAtUs: now.unixMicroseconds, sourceInstance: configuration.instanceID, sessionID: connection.connectionID))
    }
}

