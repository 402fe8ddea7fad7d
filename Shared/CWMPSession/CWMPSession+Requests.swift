#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import BusContracts
import CWMPCodec
import TwinfleetModel

extension CWMPSession {
    /// A body the codec refused.
    mutating func undecodable(_ error: CWMPCodecError, now: Date, step: inout CWMPSessionStep) {
        step.notes.append("undecodable POST: \(error)")
        switch state {
        case .awaitingInform:
            step.reply = .respond(fault(error.fault, answering: nil))
            end(.notStarted, now: now, step: &step)
        case .awaitingResponse(let inFlight):
            // Most likely the answer to our RPC; it cannot be read, so the command fails and
            // the session moves on (a fault here would answer nothing the CPE asked).
            finish(inFlight.planned, .failed(BusConversion.commandError(.protocolError, "the response to \(inFlight.method) could not be decoded: \(error.message)")), now: now, step: &step)
            acsTurn(now: now, step: &step)
        default:
            state = .cpeRequests
            step.reply = .respond(fault(error.fault, answering: nil))
        }
    }

    /// An empty POST: the CPE has no (more) requests.
    mutating func emptyPOST(now: Date, step: inout CWMPSessionStep) {
        switch state {
        case .awaitingInform:
            step.notes.append("empty POST before an Inform")
            step.reply = .respond(CWMPHTTPResponse(status: 400))
            end(.notStarted, now: now, step: &step)
        case .awaitingPlan(let until):
            step.notes.append("empty POST while one was parked; parking the new one")
            step.reply = .hold(until: until)
        case .awaitingResponse(let inFlight):
            finish(inFlight.planned, .failed(BusConversion.commandError(.protocolError, "empty POST instead of \(inFlight.expectedResponse)")), now: now, step: &step)
            acsTurn(now: now, step: &step)
        default:
            acsTurn(now: now, step: &step)
        }
    }

    /// A decoded envelope.
    mutating func received(_ envelope: CWMPEnvelope, now: Date, step: inout CWMPSessionStep) {
        if case .awaitingInform = state {
            guard case .inform(let inform) = envelope.message else {
                step.notes.append("\(envelope.message.methodName) before an Inform")
                step.reply = .respond(fault(CWMPFault(code: .invalidArguments, string: "a session must begin with an Inform, not \(envelope.message.methodName)"), answering: envelope))
                end(.notStarted, now: now, step: &step)
                return
            }
            accept(inform, envelope: envelope, now: now, step: &step)
            return
        }
        if envelope.message.isResponse {
            guard case .awaitingResponse(let inFlight) = state else {
                // Nothing was asked; take it as "the CPE waits for the ACS".
                step.notes.append("unexpected \(envelope.message.methodName) with no RPC in flight")
                if case .awaitingPlan(let until) = state {
                    step.reply = .hold(until: until)
                } else {
                    acsTurn(now: now, step: &step)
                }
                return
            }
            answer(inFlight, with: envelope, now: now, step: &step)
            return
        }
        if case .inform = envelope.message {
            step.notes.append("second Inform in the session")
            step.reply = .respond(fault(CWMPFault(code: .invalidArguments, string: "Inform already received in this session"), answering: envelope))
            end(.protocolError, now: now, step: &step)
            return
        }
        switch state {
        case .awaitingPlan:
            // The CPE gave up on the parked POST and talks again: back to its requests.
            state = .cpeRequests
        case .awaitingResponse(let inFlight):
            step.notes.append("CPE sent \(envelope.message.methodName) while \(inFlight.method) was in flight (HoldRequests ignored); answered")
        default:
            break
        }
        step.reply = .respond(answer(request: envelope, now: now, step: &step))
    }

    /// Accepts the Inform: identity, events, then InformResponse.
    mutating func accept(_ inform: Inform, envelope: CWMPEnvelope, now: Date, step: inout CWMPSessionStep) {
        let deviceID: DeviceID
        do {
            deviceID = try inform.deviceId.deviceID()
        } catch {
            step.notes.append("Inform without a usable identity: \(error.message)")
            step.reply = .respond(fault(CWMPFault(code: .invalidArguments, string: "cannot identify the device: \(error.message)"), answering: envelope))
            end(.notStarted, now: now, step: &step)
            return
        }
        if let username = context.boundUsername, username != inform.deviceId.serialNumber, username != deviceID.rawValue {
            step.notes.append("Inform as \(deviceID.rawValue) refused: authenticated as \(username)")
            step.reply = .respond(fault(CWMPFault(code: .requestDenied, string: "the credentials are not those of this device"), answering: envelope))
            end(.notStarted, now: now, step: &step)
            return
        }
        // The root of the first parameter: TR-098 devices report under InternetGatewayDevice.
        let root = inform.parameterList.first?.name.hasPrefix("InternetGatewayDevice.") == true ? "InternetGatewayDevice." : "Device."
        let device = CWMPSessionDevice(
            deviceID: deviceID, identity: inform.deviceId, root: root,
            connectionRequestURL: BusConversion.value(endingWith: "ManagementServer.ConnectionRequestURL", in: inform.parameterList) ?? "",
            events: inform.events, namespace: envelope.namespace)
        self.device = device
        state = .cpeRequests
        step.deviceID = deviceID.rawValue

        let parameters = BusConversion.parameters(inform.parameterList, notes: &step.notes)
        var informEvent = Twinfleet_Bus_V1_Inform()
        informEvent.device = identity(inform)
        informEvent.events = inform.events.map { event in
            var proto = Twinfleet_Bus_V1_InformEvent()
            proto.code = event.eventCode.rawValue
            proto.commandKey = event.commandKey
            return proto
        }
        informEvent.retryCount = inform.retryCount
        informEvent.currentTimeUs = BusConversion.microseconds(inform.currentTime)
        informEvent.maxEnvelopes = inform.maxEnvelopes
        informEvent.parameters = parameters
        step.events.append(event(.inform(informEvent), now: now))
        if inform.events.contains(where: { $0.eventCode == .valueChange }), !parameters.isEmpty {
            var change = Twinfleet_Bus_V1_ValueChange()
            change.parameters = parameters
            step.events.append(event(.valueChange(change), now: now))
        }
        step.events.append(presence(.sessionOpened, reason: "", now: now))
        step.reply = .respond(.envelope(envelope.reply(with: .informResponse(InformResponse(maxEnvelopes: 1))), encoder: encoder))
    }

    /// The DeviceIdentity of an Inform: its DeviceIdStruct plus the DeviceInfo basics it carries.
    private func identity(_ inform: Inform) -> Twinfleet_Bus_V1_DeviceIdentity {
        var identity = Twinfleet_Bus_V1_DeviceIdentity()
        identity.oui = inform.deviceId.oui
        identity.productClass = inform.deviceId.productClass
        identity.serialNumber = inform.deviceId.serialNumber
        identity.manufacturer = inform.deviceId.manufacturer
        identity.modelName = BusConversion.value(endingWith: "DeviceInfo.ModelName", in: inform.parameterList) ?? ""
        identity.hardwareVersion = BusConversion.value(endingWith: "DeviceInfo.HardwareVersion", in: inform.parameterList) ?? ""
        identity.softwareVersion = BusConversion.value(endingWith: "DeviceInfo.SoftwareVersion", in: inform.parameterList) ?? ""
        return identity
    }

    /// The answer to a CPE request other than Inform.
    mutating func answer(request envelope: CWMPEnvelope, now: Date, step: inout CWMPSessionStep) -> CWMPHTTPResponse {
        switch envelope.message {
        case .transferComplete(let transfer):
            var complete = Twinfleet_Bus_V1_TransferComplete()
            complete.commandKey = transfer.commandKey
            complete.faultCode = transfer.fault.code.rawValue
            complete.faultString = transfer.fault.string
            complete.startTimeUs = BusConversion.microseconds(transfer.startTime)
            complete.completeTimeUs = BusConversion.microseconds(transfer.completeTime)
            step.events.append(event(.transferComplete(complete), now: now))
            if !transfer.commandKey.isEmpty {
                let planned = PlannedCommand(command: transferCommand(id: transfer.commandKey), attempt: 0)
                let outcome: CommandOutcome = transfer.fault.isSuccess
                    ? .succeeded(nil)
                    : .failed(BusConversion.commandError(CWMPFault(code: transfer.fault.code, string: transfer.fault.string)))
                step.results.append(result(planned, outcome.status, error: outcome.error, outputs: nil, now: now))
            } else {
                step.notes.append("TransferComplete without a CommandKey: published as an event only")
            }
            return .envelope(envelope.reply(with: .transferCompleteResponse), encoder: encoder)
        case .autonomousTransferComplete(let transfer):
            var complete = Twinfleet_Bus_V1_TransferComplete()
            complete.autonomous = true
            complete.faultCode = transfer.fault.code.rawValue
            complete.faultString = transfer.fault.string
            complete.startTimeUs = BusConversion.microseconds(transfer.startTime)
            complete.completeTimeUs = BusConversion.microseconds(transfer.completeTime)
            complete.fileType = transfer.fileType
            complete.announceURL = transfer.announceURL
            complete.transferURL = transfer.transferURL
            complete.isDownload = transfer.isDownload
            complete.fileSize = UInt64(transfer.fileSize)
            complete.targetFileName = transfer.targetFileName
            step.events.append(event(.transferComplete(complete), now: now))
            return .envelope(envelope.reply(with: .autonomousTransferCompleteResponse), encoder: encoder)
        case .getRPCMethods:
            return .envelope(envelope.reply(with: .getRPCMethodsResponse(GetRPCMethodsResponse(methodList: configuration.acsMethods))), encoder: encoder)
        case .requestDownload(let request):
            step.notes.append("RequestDownload for file type \(BusConversion.quote(request.fileType)) acknowledged; no event body exists for it")
            return .envelope(envelope.reply(with: .requestDownloadResponse), encoder: encoder)
        default:
            step.notes.append("CPE request \(envelope.message.methodName) is not supported; answered 8000")
            return fault(CWMPFault(code: .methodNotSupported, string: "\(envelope.message.methodName) is not supported by this ACS"), answering: envelope)
        }
    }

    /// A command standing for the Download/Upload a TransferComplete reports on.
    private func transferCommand(id: String) -> Twinfleet_Bus_V1_Command {
        var command = Twinfleet_Bus_V1_Command()
        command.commandID = id
        return command
    }

    /// A SOAP fault answering `envelope` (its cwmp:ID and namespace), or standing alone.
    func fault(_ fault: CWMPFault, answering envelope: CWMPEnvelope?) -> CWMPHTTPResponse {
        let reply = envelope?.reply(with: .fault(fault))
            ?? CWMPEnvelope(message: .fault(fault), namespace: device?.namespace ?? .v1_0)
        return .envelope(reply, status: configuration.faultHTTPStatus, encoder: encoder)
    }
}
