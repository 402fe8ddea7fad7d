#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import BusContracts
import CWMPCodec
import TwinfleetModel

extension CWMPSession {
    /// Buffers a delivery for this session; runs the plan on if a POST is parked.
    mutating func accept(_ delivery: Twinfleet_Bus_V1_Delivery, now: Date, step: inout CWMPSessionStep) {
        guard !isEnded else {
            step.notes.append("delivery for an ended session ignored")
            return
        }
        guard delivery.sessionID == context.sessionID else {
            step.notes.append("delivery for session \(BusConversion.quote(delivery.sessionID)) ignored")
            return
        }
        guard let device, delivery.deviceID == device.deviceID.rawValue else {
            step.notes.append("delivery for device \(BusConversion.quote(delivery.deviceID)) ignored: not this session's device")
            return
        }
        switch delivery.body {
        case .command(let commandDelivery)?:
            let planned = PlannedCommand(command: commandDelivery.command, attempt: commandDelivery.attempt)
            guard !planned.command.commandID.isEmpty else {
                step.notes.append("command delivery without a command ID ignored")
                return
            }
            guard seenCommandIDs.insert(planned.command.commandID).inserted else {
                step.notes.append("command \(planned.command.commandID) delivered twice; the repeat is ignored")
                return
            }
            deliveredCommandCount += 1
            if queue.count >= configuration.maxQueuedCommands {
                let error = BusConversion.commandError(.sessionFull, "more than \(configuration.maxQueuedCommands) commands queued", retriable: true)
                step.results.append(result(planned, .notDelivered, error: error, now: now))
            } else {
                queue.append(planned)
            }
        case .endOfPlan(let end)?:
            endOfPlanReceived = true
            if Int(end.plannedCommands) != deliveredCommandCount {
                step.notes.append("end-of-plan announces \(end.plannedCommands) commands; \(deliveredCommandCount) arrived")
            }
        case .connectionRequest?:
            step.notes.append("connection request delivered to a live session ignored")
        case nil:
            step.notes.append("delivery without a body ignored (a newer producer?)")
        }
        if case .awaitingPlan(let until) = state {
            acsTurn(now: now, step: &step, holdUntil: until)
            // Still parked with the same deadline: the HTTP exchange is unaffected.
            if case .hold = step.reply { step.reply = nil }
        }
    }

    /// The ACS's turn: run the next queued command, end with 204, or park the POST.
    mutating func acsTurn(now: Date, step: inout CWMPSessionStep, holdUntil: Date? = nil) {
        while !queue.isEmpty {
            let planned = queue.removeFirst()
            let command = planned.command
            if command.expiresAtUs != 0, command.expiresAtUs < now.unixMicroseconds {
                // Only a dependent command holds the ones after it (the dispatcher's rule too).
                if !command.independent { predecessorFailed = true }
                step.results.append(result(planned, .expired, now: now))
                continue
            }
            if predecessorFailed, !command.independent {
                let error = BusConversion.commandError(.heldAfterFailure, "command \(command.commandID) waits for its predecessors", retriable: true)
                step.results.append(result(planned, .notDelivered, error: error, now: now))
                continue
            }
            let advance = CommandProgram.start(command, environment: environment)
            step.notes += advance.notes
            if !planned.isInternal { step.events += advance.events.map { event($0, now: now) } }
            switch advance.move {
            case .finish(let outcome):
                finish(planned, outcome, now: now, step: &step)
            case .send(let message, let stage):
                guard rpcCount < configuration.maxRPCs else {
                    queue.insert(planned, at: 0)
                    endAtRPCLimit(now: now, step: &step)
                    return
                }
                if !planned.isInternal { step.results.append(result(planned, .delivered, now: now)) }
                send(message, stage: stage, for: planned, now: now, step: &step)
                return
            }
        }
        if endOfPlanReceived {
            step.reply = .respond(.noContent)
            end(.completed, now: now, step: &step)
        } else {
            let until = holdUntil ?? now.addingTimeInterval(configuration.planWait.timeInterval)
            state = .awaitingPlan(until: until)
            step.reply = .hold(until: until)
        }
    }

    /// The CPE's answer to the RPC in flight: a response, a fault, or something else.
    mutating func answer(_ inFlight: CWMPInFlightRPC, with envelope: CWMPEnvelope, now: Date, step: inout CWMPSessionStep) {
        let planned = inFlight.planned
        if let id = envelope.header.id, id != inFlight.requestID {
            let error = BusConversion.commandError(.protocolError, "\(envelope.message.methodName) carries cwmp:ID \(BusConversion.quote(id)), not \(inFlight.requestID) of \(inFlight.method)")
            finish(planned, .failed(error), now: now, step: &step)
            acsTurn(now: now, step: &step)
            return
        }
        if case .fault(let fault) = envelope.message {
            finish(planned, .failed(BusConversion.commandError(fault, context: inFlight.stage.faultContext)), now: now, step: &step)
            acsTurn(now: now, step: &step)
            return
        }
        guard envelope.message.methodName == inFlight.expectedResponse else {
            let error = BusConversion.commandError(.protocolError, "expected \(inFlight.expectedResponse), got \(envelope.message.methodName)")
            finish(planned, .failed(error), now: now, step: &step)
            acsTurn(now: now, step: &step)
            return
        }
        let advance = CommandProgram.advance(inFlight.stage, command: planned.command, response: envelope.message,
                                             environment: environment, ids: &ids)
        step.notes += advance.notes
        if !planned.isInternal { step.events += advance.events.map { event($0, now: now) } }
        switch advance.move {
        case .finish(let outcome):
            finish(planned, outcome, now: now, step: &step)
            acsTurn(now: now, step: &step)
        case .send(let message, let stage):
            guard rpcCount < configuration.maxRPCs else {
                queue.insert(planned, at: 0)
                state = .cpeRequests
                endAtRPCLimit(now: now, step: &step)
                return
            }
            send(message, stage: stage, for: planned, now: now, step: &step)
        }
    }

    /// Sends an RPC with a fresh cwmp:ID and HoldRequests, and waits for its response.
    private mutating func send(_ message: CWMPMessage, stage: CommandStage, for planned: PlannedCommand, now: Date, step: inout CWMPSessionStep) {
        rpcCount += 1
        let requestID = "acs-\(rpcCount)"
        let envelope = CWMPEnvelope(header: CWMPHeader(id: requestID, holdRequests: true), message: message,
                                    namespace: device?.namespace ?? .v1_0)
        state = .awaitingResponse(CWMPInFlightRPC(method: message.methodName, requestID: requestID, sentAt: now, planned: planned, stage: stage))
        step.reply = .respond(.envelope(envelope, encoder: encoder))
    }

    /// Publishes a command's outcome. A failure (or expiry) holds back later dependent commands.
    mutating func finish(_ planned: PlannedCommand, _ outcome: CommandOutcome, now: Date, step: inout CWMPSessionStep) {
        if planned.isInternal {
            let taken = outcome.status == .succeeded
            step.credentialsProvisioned = taken
            step.notes.append(taken ? "the CPE took its connection-request credentials"
                : "the CPE refused its connection-request credentials: \(outcome.error?.message ?? "no answer")")
        } else {
            if case .failed = outcome, !planned.command.independent { predecessorFailed = true }
            step.results.append(result(planned, outcome.status, error: outcome.error, outputs: outcome.outputs, now: now))
        }
        if case .awaitingResponse(let inFlight) = state, inFlight.planned.command.commandID == planned.command.commandID {
            // The RPC is answered; the caller's acsTurn decides the next state.
            state = .cpeRequests
        }
    }

    /// The RPC limit is reached: 204 and the end; what remains is NOT_DELIVERED.
    private mutating func endAtRPCLimit(now: Date, step: inout CWMPSessionStep) {
        step.notes.append("RPC limit of \(configuration.maxRPCs) reached")
        step.reply = .respond(.noContent)
        end(.rpcLimit, now: now, step: &step)
    }

    /// Ends the session: NOT_DELIVERED for the command in flight and those queued,
    /// `session-closed` if it had opened.
    mutating func end(_ reason: CWMPSessionEndReason, now: Date, step: inout CWMPSessionStep) {
        if case .awaitingResponse(let inFlight) = state {
            // Its RPC reached the device, which may have acted on it (a Reboot that restarted
            // before answering): a retriable failure, which the dispatcher backs off and counts,
            // not "not delivered", which it would send again at once.
            let error = BusConversion.commandError(.sessionEnded, "session ended (\(reason.rawValue)) before the answer to \(inFlight.method)", retriable: true)
            if inFlight.planned.isInternal {
                step.credentialsProvisioned = false
            } else {
                step.results.append(result(inFlight.planned, .failed, error: error, now: now))
            }
        }
        var unfinished: [PlannedCommand] = []
        unfinished += queue
        queue.removeAll()
        for planned in unfinished where !planned.isInternal {
            let error = BusConversion.commandError(.sessionEnded, "session ended (\(reason.rawValue))", retriable: true)
            step.results.append(result(planned, .notDelivered, error: error, now: now))
        }
        if device != nil {
            step.events.append(presence(.sessionClosed, reason: reason.rawValue, now: now))
        }
        state = .ended(reason)
        step.sessionEnded = true
    }

    /// What command programs need to know about this session.
    var environment: ProgramEnvironment {
        ProgramEnvironment(deviceRoot: device?.root ?? "Device.", refreshChunkSize: configuration.refreshChunkSize,
                           reportChunkSize: configuration.reportChunkSize)
    }
}

extension CWMPSession {
    /// Sets the credentials the ACS's connection requests will carry on the CPE
    /// (`ManagementServer.ConnectionRequestUsername` and `…Password` under its root), first of
    /// everything the session runs. Call after the Inform was accepted and before the CPE's empty
    /// POST; returns false (and does nothing) otherwise. See the decisions in ``CWMPSession``.
    @discardableResult
    public mutating func provisionConnectionRequestCredentials(username: String, password: String) -> Bool {
        guard let device, state == .cpeRequests, rpcCount == 0, !queue.contains(where: \.isInternal) else { return false }
        var command = Twinfleet_Bus_V1_Command()
        command.commandID = "\(sessionID)-cr-credentials"
        command.deviceID = device.deviceID.rawValue
        command.independent = true
        for (name, value) in [("ConnectionRequestUsername", username), ("ConnectionRequestPassword", password)] {
            var parameter = Twinfleet_Bus_V1_Parameter()
            parameter.path = device.root + "ManagementServer." + name
            parameter.value.stringValue = value
            command.setParameters.parameters.append(parameter)
        }
        queue.insert(PlannedCommand(command: command, attempt: 0, isInternal: true), at: 0)
        return true
    }
}
