import BusContracts
import Foundation
import TwinfleetModel

extension DecodedDeviceEvent {
    /// What the event does to the twin.
    var update: TwinUpdate {
        var update = TwinUpdate(
            deviceID: deviceID, partition: partition, occurredAt: occurredAt,
            cause: .init(topic: topic, partition: partition, offset: offset, sourceID: eventID),
            newDevice: .init(deviceID: deviceID, partition: partition, tenantID: tenantID, protocolName: protocolName, at: occurredAt))
        update.writes = parameters.lastPerPath
        let at = occurredAt
        func log(_ kind: String, _ detail: String) {
            update.log = .init(kind: kind, eventID: eventID, instanceID: sourceInstance, detail: detail)
        }
        switch body {
        case .presence(let presence):
            log("presence.\(presence.kind.name)", presence.reason)
            update.mutate = { device in
                switch presence.kind {
                case .connected, .sessionOpened: device.online = true
                case .disconnected: device.online = false
                default: break
                }
                if !presence.instanceID.isEmpty { device.instanceID = presence.instanceID }
                if !presence.connectionRequestURL.isEmpty { device.connectionRequestURL = presence.connectionRequestURL }
            }
        case .inform(let inform):
            log("inform", inform.events.map { $0.code }.joined(separator: ","))
            let booted = inform.events.contains { $0.code == "0 BOOTSTRAP" || $0.code == "1 BOOT" }
            update.mutate = { device in
                device.adopt(identity: inform.device)
                if booted { device.lastBoot = at }
            }
        case .boot(let boot):
            log("boot", boot.cause)
            update.mutate = { $0.lastBoot = at }
        case .parameterReport(let report):
            if !report.fullSyncRoot.isEmpty {
                let syncID = report.reportID.isEmpty ? eventID : report.reportID
                update.syncID = syncID
                // What the device no longer has is removed from the twin.
                if report.finalChunk { update.removals = [(report.fullSyncRoot, syncID)] }
            }
        case .valueChange:
            break
        case .objectCreated(let object):
            log("object.created", object.path)
        case .objectDeleted(let object):
            log("object.deleted", object.path)
            update.removals = [(object.path, nil)]
        case .transferComplete(let transfer):
            log(transfer.autonomous ? "transfer.autonomous-complete" : "transfer.complete",
                transfer.faultCode == 0 ? "ok \(transfer.commandKey)" : "fault \(transfer.faultCode) \(transfer.faultString)")
        case .operationComplete(let operation):
            log("operation.complete", operation.commandPath)
        case .telemetrySample:
            break
        }
        return update
    }
}

extension Twinfleet_Bus_V1_Presence.Kind {
    /// A short name for the event log.
    var name: String {
        switch self {
        case .connected: "connected"
        case .disconnected: "disconnected"
        case .sessionOpened: "session-opened"
        case .sessionClosed: "session-closed"
        default: "unknown"
        }
    }
}
