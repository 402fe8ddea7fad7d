#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import BusContracts

extension CWMPSession {
    /// A device event of this session with a fresh event ID.
    mutating func event(_ body: Twinfleet_Bus_V1_DeviceEvent.OneOf_Body, now: Date) -> Twinfleet_Bus_V1_DeviceEvent {
        var event = Twinfleet_Bus_V1_DeviceEvent()
        event.eventID = ids.next()
        event.deviceID = device?.deviceID.rawValue ?? ""
        event.tenantID = context.tenantID
        event.protocol = .cwmp
        event.occurredAtUs = now.unixMicroseconds
        event.sourceInstance = context.instanceID
        event.sessionID = context.sessionID
        event.body = body
        return event
    }

    /// A presence event: this instance holds (or no longer holds) the device's session.
    mutating func presence(_ kind: Twinfleet_Bus_V1_Presence.Kind, reason: String, now: Date) -> Twinfleet_Bus_V1_DeviceEvent {
        var presence = Twinfleet_Bus_V1_Presence()
        presence.kind = kind
        presence.instanceID = context.instanceID
        presence.remoteAddress = context.remoteAddress
        presence.connectionRequestURL = device?.connectionRequestURL ?? ""
        presence.mtp = .http
        presence.tls = context.tls
        presence.reason = reason
        return event(.presence(presence), now: now)
    }

    /// A command result of this instance about `planned`.
    func result(_ planned: PlannedCommand, _ status: Twinfleet_Bus_V1_CommandStatus, error: Twinfleet_Bus_V1_CommandError? = nil,
                outputs: Twinfleet_Bus_V1_CommandOutputs? = nil, now: Date) -> Twinfleet_Bus_V1_CommandResult {
        var result = Twinfleet_Bus_V1_CommandResult()
        result.commandID = planned.command.commandID
        result.deviceID = device?.deviceID.rawValue ?? planned.command.deviceID
        result.tenantID = planned.command.tenantID.isEmpty ? context.tenantID : planned.command.tenantID
        result.instanceID = context.instanceID
        result.occurredAtUs = now.unixMicroseconds
        result.attempt = planned.attempt
        result.status = status
        if let error { result.error = error }
        if let outputs { result.outputs = outputs }
        return result
    }
}

extension CommandOutcome {
    /// The command status the outcome is published as.
    var status: Twinfleet_Bus_V1_CommandStatus {
        switch self {
        case .succeeded: .succeeded
        case .inProgress: .inProgress
        case .failed: .failed
        }
    }

    /// The error of a failure.
    var error: Twinfleet_Bus_V1_CommandError? {
        if case .failed(let error) = self { return error }
        return nil
    }

    /// The outputs of a success, when it returned something.
    var outputs: Twinfleet_Bus_V1_CommandOutputs? {
        if case .succeeded(let outputs) = self { return outputs }
        return nil
    }
}
