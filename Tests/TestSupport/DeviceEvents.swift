import BusContracts
import Foundation
import Kafka
import SwiftProtobuf
import TwinfleetModel

/// Builds device events as the ingresses will.
public enum Events {
    public static func envelope(_ device: String, at time: Date, tenant: String = "tenant-a", protocol deviceProtocol: Twinfleet_Bus_V1_DeviceProtocol = .cwmp, _ fill: (inout Twinfleet_Bus_V1_DeviceEvent) -> Void) -> Twinfleet_Bus_V1_DeviceEvent {
        var event = Twinfleet_Bus_V1_DeviceEvent()
        event.eventID = UUID().uuidString
        event.deviceID = device
        event.tenantID = tenant
        event.protocol = deviceProtocol
        event.occurredAtUs = time.unixMicroseconds
        event.sourceInstance = "cwmp-0"
        fill(&event)
        return event
    }

    public static func parameter(_ path: String, _ value: ParameterValue, writable: Bool? = nil) -> Twinfleet_Bus_V1_Parameter {
        Twinfleet_Bus_V1_Parameter(Parameter(path: try! ParameterPath(validating: path), value: value, writable: writable))
    }

    public static func inform(_ device: String, at time: Date, software: String, tenant: String = "tenant-a", parameters: [Twinfleet_Bus_V1_Parameter] = []) -> Twinfleet_Bus_V1_DeviceEvent {
        envelope(device, at: time, tenant: tenant) { event in
            var inform = Twinfleet_Bus_V1_Inform()
            inform.device.oui = "00D09E"
            inform.device.productClass = "HGW"
            inform.device.serialNumber = device
            inform.device.manufacturer = "Acme"
            inform.device.softwareVersion = software
            var code = Twinfleet_Bus_V1_InformEvent()
            code.code = "1 BOOT"
            inform.events = [code]
            inform.parameters = parameters
            event.inform = inform
        }
    }

    public static func report(_ device: String, at time: Date, tenant: String = "tenant-a", root: String? = nil, reportID: String = "", final: Bool = true, _ parameters: [Twinfleet_Bus_V1_Parameter]) -> Twinfleet_Bus_V1_DeviceEvent {
        envelope(device, at: time, tenant: tenant) { event in
            var report = Twinfleet_Bus_V1_ParameterReport()
            report.parameters = parameters
            if let root { report.fullSyncRoot = root }
            report.reportID = reportID
            report.finalChunk = final
            event.parameterReport = report
        }
    }

    public static func valueChange(_ device: String, at time: Date, tenant: String = "tenant-a", _ parameters: [Twinfleet_Bus_V1_Parameter]) -> Twinfleet_Bus_V1_DeviceEvent {
        envelope(device, at: time, tenant: tenant) { event in
            var change = Twinfleet_Bus_V1_ValueChange()
            change.parameters = parameters
            event.valueChange = change
        }
    }

    public static func presence(_ device: String, at time: Date, _ kind: Twinfleet_Bus_V1_Presence.Kind, instance: String) -> Twinfleet_Bus_V1_DeviceEvent {
        envelope(device, at: time) { event in
            var presence = Twinfleet_Bus_V1_Presence()
            presence.kind = kind
            presence.instanceID = instance
            event.presence = presence
        }
    }

    public static func record(_ event: Twinfleet_Bus_V1_DeviceEvent, topic: String) -> OutgoingRecord {
        OutgoingRecord(topic: topic, key: event.deviceID, value: try! event.serializedBytes())
    }
}

