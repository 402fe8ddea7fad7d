#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import BusContracts
import TwinfleetModel

/// The dispatcher's limits and timings.
public struct DispatchPolicy: Sendable, Hashable {
    /// Retriable failures after which a command fails for good (default 5).
    public var maxFailures: Int
    /// Deliveries after which a command that keeps coming back undelivered fails (default 20).
    public var maxDispatches: Int
    /// Backoff after the first retriable failure; doubles per failure (default 30 s).
    public var retryBase: Duration
    /// Longest backoff (default 1 h).
    public var retryCap: Duration
    /// A delivery with no word from the ingress after this long goes back to the queue (the
    /// ingress may have died; default 10 min).
    public var deliveryTimeout: Duration
    /// Wait after a connection request before asking again; doubles per request (default 30 s).
    public var connectionRequestBase: Duration
    /// Longest wait between connection requests (default 15 min).
    public var connectionRequestCap: Duration
    /// A command sent to a session or connection that ended without its result goes back to
    /// the queue after this long (results may be read after the presence event that ended the
    /// session; default 30 s).
    public var orphanGrace: Duration
    /// A command the device reported IN_PROGRESS (a Download) that never completes fails after
    /// this long (default 24 h), so the dependent commands behind it move on.
    public var inProgressTimeout: Duration
    /// A device is re-synchronised (a Refresh of its whole data model) when its last full sync
    /// is older than this; nil: only new and factory-reset devices are (default 7 days).
    public var refreshInterval: Duration?
    /// The `instance_id` of results the dispatcher publishes itself.
    public var instanceID: String

    public init(maxFailures: Int = 5, maxDispatches: Int = 20, retryBase: Duration = .seconds(30), retryCap: Duration = .seconds(3600),
                deliveryTimeout: Duration = .seconds(600), orphanGrace: Duration = .seconds(30), inProgressTimeout: Duration = .seconds(86_400), connectionRequestBase: Duration = .seconds(30),
                connectionRequestCap: Duration = .seconds(900), refreshInterval: Duration? = .seconds(7 * 86_400),
                instanceID: String = "command-dispatcher") {
        self.maxFailures = max(1, maxFailures)
        self.maxDispatches = max(1, maxDispatches)
        self.retryBase = retryBase
        self.retryCap = retryCap
        self.deliveryTimeout = deliveryTimeout
        self.orphanGrace = orphanGrace
        self.inProgressTimeout = inProgressTimeout
        self.connectionRequestBase = connectionRequestBase
        self.connectionRequestCap = connectionRequestCap
        self.refreshInterval = refreshInterval
        self.instanceID = instanceID
    }

    /// Results whose `instance_id` starts with this came from a dispatcher (and are its own echo).
    public static let instancePrefix = "command-dispatcher"

    func retryDelay(afterFailures failures: Int) -> TimeInterval {
        Self.backoff(base: retryBase, cap: retryCap, step: failures)
    }

    func connectionRequestDelay(afterRequests requests: Int) -> TimeInterval {
        Self.backoff(base: connectionRequestBase, cap: connectionRequestCap, step: requests)
    }

    static func backoff(base: Duration, cap: Duration, step: Int) -> TimeInterval {
        let exponent = min(max(step - 1, 0), 30)
        return min(base.timeInterval * Double(1 << exponent), cap.timeInterval)
    }
}

/// What the dispatcher knows of a device: who holds it and how to reach it.
public struct DispatchDevice: Sendable, Equatable {
    public var deviceID: String
    public var partition: Int32
    public var tenantID: String
    public var deviceProtocol: Twinfleet_Bus_V1_DeviceProtocol
    /// The ingress instance that last held the device.
    public var instanceID: String?
    /// The CWMP session or USP connection it is in (or was last in).
    public var sessionID: String?
    /// A CWMP session is open or a USP connection is up.
    public var connected: Bool
    /// The current CWMP session has had its plan.
    public var planned: Bool
    public var connectionRequestURL: String?
    public var connectionRequestAt: Date?
    /// Connection requests since the device last opened a session.
    public var connectionRequests: Int
    /// The device needs its whole data model read (new, factory reset, or stale).
    public var needsRefresh: Bool
    public var lastFullSyncAt: Date?
    /// Next queue position.
    public var nextSequence: Int64

    public init(deviceID: String, partition: Int32, tenantID: String = "") {
        self.deviceID = deviceID
        self.partition = partition
        self.tenantID = tenantID
        deviceProtocol = .unspecified
        connected = false
        planned = false
        connectionRequests = 0
        needsRefresh = true
        nextSequence = 1
    }
}

/// One state change of a command.
public struct Transition: Sendable, Equatable {
    public var commandID: String
    /// Nil when the command was just queued.
    public var from: CommandState?
    public var to: CommandState
}

/// What a transition asks the world to do, in order.
public enum DispatchEffect: Sendable, Equatable {
    /// A record for the instance's inbox `cpe.deliveries.v1.<instance>`.
    case deliver(instance: String, Twinfleet_Bus_V1_Delivery)
    /// A result the dispatcher itself decided (ACCEPTED, EXPIRED, CANCELLED, FAILED).
    case result(Twinfleet_Bus_V1_CommandResult)
    /// A command the dispatcher created (a Refresh), for the commands topic.
    case command(Twinfleet_Bus_V1_CommandEnvelope)
}

/// One device's queue and presence, and every transition of it, as a value type: records and
/// clock ticks go in, effects (deliveries, results) come out. The store loads it, the handler
/// feeds it, the store writes back what changed.
///
/// Rules:
/// - Run order is priority (higher first), then arrival. A command that is not `independent`
///   runs only after every command before it succeeded; an independent one runs as soon as it is
///   due. A final failure (or expiry) of a command fails the dependent commands queued behind it
///   (code 1008) rather than leaving them stuck; a cancelled command does not block anyone.
/// - CWMP: each session gets one plan when it opens: every runnable command (a dependent chain
///   included; the session stops the chain at a failure) and an end-of-plan marker. Commands
///   that become runnable while the device is idle trigger a connection request.
/// - USP: commands go to the instance holding the connection as they become runnable; of the
///   dependent chain only one is in flight at a time.
/// - Redelivery: a delivery that comes back NOT_DELIVERED, whose session closed, or that hears
///   nothing for `deliveryTimeout` goes back to the queue (without counting as a failure). A
///   retriable FAILED waits an exponential backoff; after `maxFailures` it is final.
public struct DeviceQueue: Sendable {
    public var device: DispatchDevice
    /// Open commands and those that changed in this transition (final ones are written, then
    /// dropped on the next load).
    public private(set) var commands: [QueuedCommand]
    /// IDs of commands whose row must be written.
    public private(set) var changed: Set<String> = []
    /// Every state change since the load, in order.
    public private(set) var transitions: [Transition] = []
    public private(set) var deviceChanged = false
    /// IDs and idempotency keys the device already used (final commands included).
    private var knownIDs: Set<String>
    private var knownKeys: Set<String>
    public let policy: DispatchPolicy

    public init(device: DispatchDevice, commands: [QueuedCommand], knownIDs: Set<String> = [], knownKeys: Set<String> = [],
                policy: DispatchPolicy, isNew: Bool = false) {
        self.device = device
        self.commands = commands.sorted(by: QueuedCommand.runsBefore)
        self.knownIDs = knownIDs.union(commands.map(\.id))
        self.knownKeys = knownKeys.union(commands.compactMap { $0.command.idempotencyKey.isEmpty ? nil : $0.command.idempotencyKey })
        self.policy = policy
        deviceChanged = isNew
    }

    public func command(_ id: String) -> QueuedCommand? { commands.first { $0.id == id } }

    /// Marks the device row for writing (its wake time is recomputed on save).
    public mutating func touch() { deviceChanged = true }

    /// The earliest time after `now` something becomes due without a new record (expiry,
    /// not-before or backoff end, delivery timeout, orphan grace, connection-request retry); nil
    /// when nothing will. Times already past are left out: what could be done at `now` was done,
    /// and what could not (an unreachable device) waits for a record, so the clock never spins.
    public func wakeAt(after now: Date) -> Date? {
        var times: [Date] = []
        for command in commands where !command.state.isFinal {
            if let expiresAt = command.expiresAt, command.state == .queued || command.state == .inProgress { times.append(expiresAt) }
            if command.state == .queued {
                if let notBefore = command.notBefore { times.append(notBefore) }
                if let retryAt = command.retryAt { times.append(retryAt) }
            }
            if let at = command.dispatchedAt {
                switch command.state {
                case .dispatched: times.append(at.addingTimeInterval(policy.deliveryTimeout.timeInterval))
                case .inProgress: times.append(at.addingTimeInterval(policy.inProgressTimeout.timeInterval))
                default: break
                }
            }
            if command.state == .dispatched || command.state == .delivered, let orphaned = command.orphanedAt {
                times.append(orphaned.addingTimeInterval(policy.orphanGrace.timeInterval))
            }
        }
        if device.deviceProtocol == .cwmp, !device.connected, device.connectionRequestURL != nil, let last = device.connectionRequestAt,
           hasRunnable(at: now) {
            times.append(last.addingTimeInterval(policy.connectionRequestDelay(afterRequests: device.connectionRequests)))
        }
        return times.filter { $0 > now }.min()
    }

    // MARK: Inputs

    /// A CommandRequested. Duplicates (same ID, or same idempotency key) are ignored.
    public mutating func request(_ command: Twinfleet_Bus_V1_Command, now: Date) -> [DispatchEffect] {
        let before = commands.count
        let effects = enqueue(command, now: now)
        return commands.count == before ? effects : effects + pump(now: now)
    }

    /// Queues a command; a duplicate by idempotency key yields its CANCELLED result.
    private mutating func enqueue(_ command: Twinfleet_Bus_V1_Command, now: Date) -> [DispatchEffect] {
        let key = command.idempotencyKey
        // The same command again (a producer's retry): nothing to say.
        guard !knownIDs.contains(command.commandID) else { return [] }
        if !key.isEmpty, knownKeys.contains(key) {
            // Another command with a used key: dropped, and said so, so that the twin does not
            // show it (and its desired values) as pending for ever.
            var duplicate = QueuedCommand(command: command, sequence: 0, createdAt: now)
            duplicate.state = .cancelled
            var error = Twinfleet_Bus_V1_CommandError()
            error.code = TwinfleetErrorCode.duplicate.rawValue
            error.message = "idempotency key \(key.debugDescription) was already used by another command of the device"
            return [.result(result(for: duplicate, .cancelled, error: error, now: now))]
        }
        knownIDs.insert(command.commandID)
        if !key.isEmpty { knownKeys.insert(key) }
        if device.tenantID.isEmpty, !command.tenantID.isEmpty {
            device.tenantID = command.tenantID
        }
        let queued = QueuedCommand(command: command, sequence: device.nextSequence, createdAt: now)
        device.nextSequence += 1
        deviceChanged = true
        insert(queued)
        // No ACCEPTED result: the request on the commands topic already shows the command queued
        // to every reader (the twin marks it so), and a result per command would double the
        // outbox and the results topic for nothing. The transition is recorded.
        return []
    }

    /// A CommandCancelled: a queued command ends at once; one in flight ends as cancelled if it
    /// comes back undelivered or failing retriably.
    /// The device was forgotten: every unfinished command is cancelled (queued ones at once,
    /// delivered ones when they end, as with any cancellation).
    public mutating func forget(now: Date) -> [DispatchEffect] {
        var effects: [DispatchEffect] = []
        for id in commands.filter({ !$0.state.isFinal }).map(\.id) { effects += cancel(id, reason: "device forgotten", now: now) }
        return effects
    }

    public mutating func cancel(_ commandID: String, reason: String, now: Date) -> [DispatchEffect] {
        guard let index = commands.firstIndex(where: { $0.id == commandID }), !commands[index].state.isFinal else { return [] }
        if commands[index].state == .queued {
            var error = Twinfleet_Bus_V1_CommandError()
            error.message = reason
            return finish(at: index, .cancelled, error: reason.isEmpty ? nil : error, now: now) + pump(now: now)
        }
        commands[index].cancelRequested = true
        changed.insert(commandID)
        return []
    }

    /// A command result from an ingress.
    public mutating func result(_ result: Twinfleet_Bus_V1_CommandResult, now: Date) -> [DispatchEffect] {
        if result.instanceID.hasPrefix(DispatchPolicy.instancePrefix) { return [] }
        guard let index = commands.firstIndex(where: { $0.id == result.commandID && !$0.state.isFinal })
            ?? commands.firstIndex(where: { !$0.state.isFinal && $0.dispatches > 0 && $0.commandKey == result.commandID })
        else { return [] }
        let current = commands[index]
        // A result for an earlier delivery only counts when it is final news from the device.
        let sameAttempt = result.attempt == 0 || Int(result.attempt) == current.dispatches
        switch result.status {
        case .delivered:
            guard sameAttempt, current.state == .dispatched else { return [] }
            move(index, to: .delivered)
            return []
        case .inProgress:
            // Also after an orphan requeue: the device did take this delivery.
            guard sameAttempt, current.state != .inProgress, current.dispatches > 0 else { return [] }
            move(index, to: .inProgress)
            return []
        case .succeeded:
            var effects = finish(at: index, .succeeded, error: nil, now: now)
            if case .refresh(let refresh)? = current.command.kind, refresh.path.isEmpty || refresh.path == "Device." || refresh.path == "InternetGatewayDevice." {
                device.lastFullSyncAt = now
                device.needsRefresh = false
                deviceChanged = true
            }
            effects += pump(now: now)
            return effects
        case .failed:
            guard sameAttempt || !result.error.retriable else { return [] }
            commands[index].lastError = result.error
            if result.error.retriable, !current.cancelRequested, current.failures + 1 < policy.maxFailures {
                commands[index].failures += 1
                move(index, to: .queued)
                commands[index].retryAt = now.addingTimeInterval(policy.retryDelay(afterFailures: commands[index].failures))
                commands[index].sessionID = nil
                commands[index].dispatchedAt = nil
                commands[index].orphanedAt = nil
                return pump(now: now)
            }
            if current.cancelRequested, result.error.retriable { return finish(at: index, .cancelled, error: nil, now: now) + pump(now: now) }
            // A retriable failure made final here is the dispatcher's decision: published.
            let gaveUp = result.error.retriable
            var error = result.error
            if gaveUp {
                error.retriable = false
                error.message += " (gave up after \(current.failures + 1) failures)"
            }
            return finish(at: index, .failed, error: error, now: now, publish: gaveUp) + pump(now: now)
        case .notDelivered:
            guard sameAttempt, current.state.isInFlight else { return [] }
            return requeue(at: index, error: result.error, now: now) + pump(now: now)
        case .expired:
            // The session found it expired before sending it: final, already published.
            guard current.state != .inProgress else { return [] }
            return finish(at: index, .expired, error: nil, now: now, publish: false) + pump(now: now)
        case .accepted, .cancelled, .unspecified, .UNRECOGNIZED:
            return []
        }
    }

    /// A presence event of the device.
    public mutating func presence(_ presence: Twinfleet_Bus_V1_Presence, sessionID: String, deviceProtocol: Twinfleet_Bus_V1_DeviceProtocol,
                                  tenantID: String, now: Date) -> [DispatchEffect] {
        if deviceProtocol != .unspecified { device.deviceProtocol = deviceProtocol }
        if device.tenantID.isEmpty { device.tenantID = tenantID }
        if !presence.connectionRequestURL.isEmpty { device.connectionRequestURL = presence.connectionRequestURL }
        deviceChanged = true
        var effects: [DispatchEffect] = []
        switch presence.kind {
        case .sessionOpened, .connected:
            device.instanceID = presence.instanceID
            device.sessionID = sessionID
            device.connected = true
            device.planned = false
            device.connectionRequests = 0
            device.connectionRequestAt = nil
            // A device is in one session at a time: what was sent to an earlier one is orphaned
            // (its result may still be on its way on the results topic).
            for index in commands.indices where commands[index].state == .dispatched || commands[index].state == .delivered {
                if commands[index].sessionID != sessionID { orphan(at: index, now: now) }
            }
            if let interval = policy.refreshInterval, let last = device.lastFullSyncAt, now.timeIntervalSince(last) >= interval.timeInterval {
                device.needsRefresh = true
            }
            if device.needsRefresh { effects += planRefresh(now: now) }
            effects += pump(now: now, sessionOpened: true)
        case .sessionClosed, .disconnected:
            guard sessionID.isEmpty || device.sessionID == nil || device.sessionID == sessionID else { return [] }
            device.connected = false
            device.planned = false
            for index in commands.indices where commands[index].state == .dispatched || commands[index].state == .delivered {
                if commands[index].sessionID == sessionID || sessionID.isEmpty { orphan(at: index, now: now) }
            }
            effects += pump(now: now)
        case .unspecified, .UNRECOGNIZED:
            break
        }
        return effects
    }

    /// An Inform or Boot!: BOOTSTRAP (a new or factory-reset device) asks for a full sync.
    public mutating func informed(bootstrap: Bool, deviceProtocol: Twinfleet_Bus_V1_DeviceProtocol, tenantID: String) {
        if deviceProtocol != .unspecified, device.deviceProtocol != deviceProtocol {
            device.deviceProtocol = deviceProtocol
            deviceChanged = true
        }
        if device.tenantID.isEmpty, !tenantID.isEmpty {
            device.tenantID = tenantID
            deviceChanged = true
        }
        if bootstrap, !device.needsRefresh {
            device.needsRefresh = true
            deviceChanged = true
        }
    }

    /// A USP OperationComplete: the asynchronous command whose key it names (the command's own
    /// key, else its ID, as the ingress sends it) ends. It may arrive on a later connection than
    /// the one that started the command (a firmware activation reboots the device), where no
    /// ingress knows the command any more; the dispatcher does, and publishes the outcome.
    public mutating func operationCompleted(_ completion: Twinfleet_Bus_V1_OperationComplete, now: Date) -> [DispatchEffect] {
        guard !completion.commandKey.isEmpty,
              // In flight, not only IN_PROGRESS: the completion may overtake the OperateResp's
              // result (another topic).
              let index = commands.firstIndex(where: { $0.state.isInFlight && $0.commandKey == completion.commandKey })
        else { return [] }
        switch completion.result {
        case .failure(let failure)?:
            var error = Twinfleet_Bus_V1_CommandError()
            error.code = Int32(clamping: failure.code)
            error.message = failure.message.isEmpty ? "the operation failed" : failure.message
            return finish(at: index, .failed, error: error, now: now, publish: true) + pump(now: now)
        case .outputArgs?, nil:
            var effects = finish(at: index, .succeeded, error: nil, now: now)
            var result = result(for: commands[index], .succeeded, error: nil, now: now)
            if case .outputArgs(let output)? = completion.result { result.outputs.outputArgs = output.args }
            effects.append(.result(result))
            return effects + pump(now: now)
        }
    }

    /// A USP agent's ObjectCreation: the notification carries only the new instance's unique
    /// keys, so the instance is read whole (a Refresh of its path) and its twin is complete.
    /// Nothing is queued when a Refresh that will read the instance is still waiting to be sent;
    /// one already sent may have read the table before the instance existed.
    public mutating func objectCreated(path: String, now: Date) -> [DispatchEffect] {
        guard device.deviceProtocol == .usp, path.hasPrefix("Device."), path.hasSuffix(".") else { return [] }
        let covered = commands.contains { queued in
            guard queued.state == .queued, case .refresh(let refresh)? = queued.command.kind else { return false }
            return refresh.path.isEmpty || path.hasPrefix(refresh.path)
        }
        guard !covered else { return [] }
        return queueRefresh(path: path, now: now) + pump(now: now)
    }

    /// A USP Boot! after a factory reset, on a live connection: the Refresh goes at once.
    public mutating func booted(factoryReset: Bool, now: Date) -> [DispatchEffect] {
        informed(bootstrap: factoryReset, deviceProtocol: .usp, tenantID: "")
        guard device.connected, device.deviceProtocol == .usp, device.needsRefresh else { return [] }
        return planRefresh(now: now) + pump(now: now)
    }

    /// The clock: expiry, backoff ends, lost deliveries, connection-request retries.
    public mutating func tick(now: Date) -> [DispatchEffect] {
        var effects: [DispatchEffect] = []
        for index in commands.indices where commands[index].state == .dispatched || commands[index].state == .delivered {
            let command = commands[index]
            // Only an unanswered delivery times out: a delivered command may run long (its
            // orphan grace covers a session that ended).
            let timedOut = command.state == .dispatched
                && (command.dispatchedAt.map { now.timeIntervalSince($0) >= policy.deliveryTimeout.timeInterval } ?? false)
            let abandoned = command.orphanedAt.map { now.timeIntervalSince($0) >= policy.orphanGrace.timeInterval } ?? false
            if timedOut || abandoned { effects += requeue(at: index, error: nil, now: now) }
            // A CWMP session whose delivery heard nothing for so long is gone (its ingress died
            // without saying so): the device is idle again, and may get a connection request.
            if timedOut, device.deviceProtocol == .cwmp, device.connected, command.sessionID == device.sessionID {
                device.connected = false
                device.planned = false
                deviceChanged = true
            }
        }
        for index in commands.indices where commands[index].state == .inProgress {
            let command = commands[index]
            if command.isExpired(at: now) {
                effects += finish(at: index, .expired, error: nil, now: now)
            } else if let at = command.dispatchedAt, now.timeIntervalSince(at) >= policy.inProgressTimeout.timeInterval {
                var error = Twinfleet_Bus_V1_CommandError()
                error.code = TwinfleetErrorCode.sessionEnded.rawValue
                error.message = "no completion reported within \(Int(policy.inProgressTimeout.timeInterval)) s of the delivery"
                effects += finish(at: index, .failed, error: error, now: now)
            }
        }
        return effects + pump(now: now)
    }

    // MARK: Planning

    /// Expires what is past its time, then delivers what may run (USP connection, CWMP session
    /// being planned) or asks for a connection request (idle CWMP device).
    private mutating func pump(now: Date, sessionOpened: Bool = false) -> [DispatchEffect] {
        var effects: [DispatchEffect] = []
        for index in commands.indices where commands[index].state == .queued && commands[index].isExpired(at: now) {
            effects += finish(at: index, .expired, error: nil, now: now)
        }
        guard let instance = device.instanceID else { return effects }
        switch device.deviceProtocol {
        case .usp where device.connected:
            for index in runnable(at: now, chain: false) {
                effects.append(dispatch(at: index, instance: instance, now: now))
            }
        case .cwmp where sessionOpened && device.connected:
            let planned = runnable(at: now, chain: true)
            for index in planned {
                effects.append(dispatch(at: index, instance: instance, now: now))
            }
            var end = Twinfleet_Bus_V1_EndOfPlan()
            end.plannedCommands = UInt32(planned.count)
            effects.append(.deliver(instance: instance, delivery(.endOfPlan(end), instance: instance, now: now)))
            device.planned = true
        case .cwmp where !device.connected:
            if let request = connectionRequestIfDue(now: now) { effects.append(.deliver(instance: instance, request)) }
        default:
            break
        }
        return effects
    }

    /// Indices of the commands that may be delivered now, in run order. `chain`: dependent
    /// commands may follow each other in one delivery (a CWMP session runs them in order and
    /// stops at a failure); otherwise one dependent command is in flight at a time.
    private func runnable(at now: Date, chain: Bool) -> [Int] {
        var picked: [Int] = []
        // A dependent command in flight anywhere in the queue holds every other dependent one
        // (priority may have put it behind commands that arrived later).
        var blocked = commands.contains { !$0.independent && $0.state.isInFlight }
        for index in commands.indices {
            let command = commands[index]
            if command.state.isFinal { continue }
            if command.independent {
                if command.state == .queued, command.isDue(at: now) { picked.append(index) }
                continue
            }
            if blocked { continue }
            if command.state != .queued || !command.isDue(at: now) {
                blocked = true
                continue
            }
            picked.append(index)
            // A transfer completes after the session (TransferComplete): nothing dependent may
            // follow it in the same plan.
            if !chain || command.isTransfer { blocked = true }
        }
        return picked
    }

    private func hasRunnable(at now: Date) -> Bool { !runnable(at: now, chain: false).isEmpty }

    private mutating func connectionRequestIfDue(now: Date) -> Twinfleet_Bus_V1_Delivery? {
        guard let url = device.connectionRequestURL, let instance = device.instanceID, hasRunnable(at: now) else { return nil }
        if let last = device.connectionRequestAt,
           now < last.addingTimeInterval(policy.connectionRequestDelay(afterRequests: device.connectionRequests)) {
            return nil
        }
        device.connectionRequestAt = now
        device.connectionRequests += 1
        deviceChanged = true
        var request = Twinfleet_Bus_V1_ConnectionRequest()
        request.url = url
        request.requestedAtUs = now.unixMicroseconds
        return delivery(.connectionRequest(request), instance: instance, now: now)
    }

    private mutating func dispatch(at index: Int, instance: String, now: Date) -> DispatchEffect {
        move(index, to: .dispatched)
        commands[index].dispatches += 1
        commands[index].instanceID = instance
        commands[index].sessionID = device.sessionID
        commands[index].dispatchedAt = now
        commands[index].retryAt = nil
        commands[index].orphanedAt = nil
        changed.insert(commands[index].id)
        var body = Twinfleet_Bus_V1_CommandDelivery()
        body.command = commands[index].command
        body.attempt = UInt32(commands[index].dispatches)
        return .deliver(instance: instance, delivery(.command(body), instance: instance, now: now))
    }

    private func delivery(_ body: Twinfleet_Bus_V1_Delivery.OneOf_Body, instance: String, now: Date) -> Twinfleet_Bus_V1_Delivery {
        var delivery = Twinfleet_Bus_V1_Delivery()
        delivery.deviceID = device.deviceID
        delivery.instanceID = instance
        delivery.sessionID = device.sessionID ?? ""
        delivery.createdAtUs = now.unixMicroseconds
        delivery.body = body
        return delivery
    }

    /// A Refresh of the whole data model, first in line, unless one is already open.
    private mutating func planRefresh(now: Date) -> [DispatchEffect] {
        if commands.contains(where: { !$0.state.isFinal && $0.kind == "refresh" && $0.command.refresh.path.isEmpty }) { return [] }
        return queueRefresh(path: "", now: now)
    }

    /// Queues a Refresh of `path` (empty: the whole data model) first in line, and announces it
    /// on the commands topic so the twin shows it pending.
    private mutating func queueRefresh(path: String, now: Date) -> [DispatchEffect] {
        var command = Twinfleet_Bus_V1_Command()
        command.commandID = Self.refreshID(device: device.deviceID, session: (device.sessionID ?? "") + path, sequence: device.nextSequence)
        command.deviceID = device.deviceID
        command.tenantID = device.tenantID
        command.priority = Int32.max
        command.independent = true
        command.createdAtUs = now.unixMicroseconds
        command.correlation.userID = "command-dispatcher"
        command.refresh = Twinfleet_Bus_V1_Refresh()
        command.refresh.path = path
        var envelope = Twinfleet_Bus_V1_CommandEnvelope()
        envelope.requested.command = command
        return [.command(envelope)] + enqueue(command, now: now)
    }

    /// A deterministic ID, so that re-applying the same record creates the same command.
    static func refreshID(device: String, session: String, sequence: Int64) -> String {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in "\(device)|\(session)|\(sequence)".utf8 {
            hash ^= UInt64(byte)
            hash = hash &* 0x100_0000_01b3
        }
        return "refresh-" + String(hash, radix: 16)
    }

    // MARK: Transitions

    private mutating func insert(_ command: QueuedCommand) {
        let position = commands.firstIndex { QueuedCommand.runsBefore(command, $0) } ?? commands.endIndex
        commands.insert(command, at: position)
        changed.insert(command.id)
        transitions.append(Transition(commandID: command.id, from: nil, to: command.state))
    }

    /// Moves a command to another state and records the transition.
    private mutating func move(_ index: Int, to state: CommandState) {
        let from = commands[index].state
        commands[index].state = state
        changed.insert(commands[index].id)
        if from != state { transitions.append(Transition(commandID: commands[index].id, from: from, to: state)) }
    }

    /// The session or connection a command was sent to is gone and its result has not come:
    /// it goes back to the queue after `orphanGrace`, unless the result arrives first (results
    /// travel on another topic than presence, so they may be read after the session's end).
    private mutating func orphan(at index: Int, now: Date) {
        guard commands[index].orphanedAt == nil else { return }
        commands[index].orphanedAt = now
        changed.insert(commands[index].id)
    }

    /// Back to the queue after a delivery that did not reach the device.
    private mutating func requeue(at index: Int, error: Twinfleet_Bus_V1_CommandError?, now: Date) -> [DispatchEffect] {
        if let error { commands[index].lastError = error }
        changed.insert(commands[index].id)
        if commands[index].cancelRequested { return finish(at: index, .cancelled, error: nil, now: now) }
        if commands[index].dispatches >= policy.maxDispatches {
            var failure = Twinfleet_Bus_V1_CommandError()
            failure.code = TwinfleetErrorCode.sessionEnded.rawValue
            failure.message = "not delivered after \(commands[index].dispatches) deliveries"
            return finish(at: index, .failed, error: failure, now: now)
        }
        move(index, to: .queued)
        commands[index].sessionID = nil
        commands[index].dispatchedAt = nil
        commands[index].orphanedAt = nil
        return []
    }

    /// Ends a command. A failure or expiry of a dependent chain fails the dependent commands
    /// queued behind it.
    private mutating func finish(at index: Int, _ state: CommandState, error: Twinfleet_Bus_V1_CommandError?, now: Date,
                                 publish: Bool = true) -> [DispatchEffect] {
        let command = commands[index]
        move(index, to: state)
        commands[index].finishedAt = now
        if let error { commands[index].lastError = error }
        changed.insert(command.id)
        var effects: [DispatchEffect] = []
        // Ingress results are already on the topic; the dispatcher publishes only its own decisions
        // (and a failure it made final itself).
        let status: Twinfleet_Bus_V1_CommandStatus? = switch state {
        case .expired: publish ? .expired : nil
        case .cancelled: .cancelled
        case .failed: publish ? .failed : nil
        default: nil
        }
        if let status { effects.append(.result(result(for: commands[index], status, error: error, now: now))) }
        if (state == .failed || state == .expired), !command.independent {
            var followers: [Int] = []
            for later in commands.indices where later != index && !commands[later].state.isFinal && !commands[later].independent
                && (commands[later].state == .queued || commands[later].state == .dispatched)
                && QueuedCommand.runsBefore(command, commands[later]) {
                followers.append(later)
            }
            for later in followers {
                var failure = Twinfleet_Bus_V1_CommandError()
                failure.code = TwinfleetErrorCode.predecessorFailed.rawValue
                failure.message = "command \(command.id) before it \(state == .expired ? "expired" : "failed")"
                move(later, to: .failed)
                commands[later].finishedAt = now
                commands[later].lastError = failure
                changed.insert(commands[later].id)
                effects.append(.result(result(for: commands[later], .failed, error: failure, now: now)))
            }
        }
        return effects
    }

    private func result(for command: QueuedCommand, _ status: Twinfleet_Bus_V1_CommandStatus, error: Twinfleet_Bus_V1_CommandError? = nil,
                        now: Date) -> Twinfleet_Bus_V1_CommandResult {
        var result = Twinfleet_Bus_V1_CommandResult()
        result.commandID = command.id
        result.deviceID = device.deviceID
        result.tenantID = command.command.tenantID.isEmpty ? device.tenantID : command.command.tenantID
        result.instanceID = policy.instanceID
        result.occurredAtUs = now.unixMicroseconds
        result.attempt = UInt32(command.dispatches)
        result.status = status
        if let error { result.error = error }
        return result
    }
}
