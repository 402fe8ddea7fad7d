import BusContracts
import Foundation
import Kafka
import SwiftProtobuf
import TwinfleetModel

/// Builds the `cpe.twin-changes.v1` record of one applied event.
enum TwinChangeRecord {
    static func make(
        event: DecodedDeviceEvent, device: DeviceRow, parameterChanges: [ParameterChangeRow],
        fieldChanges: [(field: String, old: String?, new: String?)], presenceChanged: Bool
    ) throws -> OutgoingRecord {
        var change = Twinfleet_Bus_V1_TwinChange()
        change.deviceID = device.deviceID
        change.tenantID = device.tenantID
        change.twinVersion = UInt64(device.twinVersion)
        change.committedAtUs = Date().unixMicroseconds
        change.cause.topic = event.topic
        change.cause.partition = event.partition
        change.cause.offset = event.offset
        change.cause.sourceID = event.eventID
        change.parameterChanges = parameterChanges.map { row in
            var item = Twinfleet_Bus_V1_ParameterChange()
            item.path = row.path
            if let value = typed(row.oldValue, row.oldType) { item.oldValue = value }
            if let value = typed(row.newValue, row.newType) { item.newValue = value }
            return item
        }
        change.deviceFieldChanges = fieldChanges.map { field in
            var item = Twinfleet_Bus_V1_DeviceFieldChange()
            item.field = field.field
            if let old = field.old { item.oldValue = old }
            if let new = field.new { item.newValue = new }
            return item
        }
        if presenceChanged {
            change.presence.online = device.online
            change.presence.instanceID = device.instanceID ?? ""
        }
        return OutgoingRecord(
            topic: Topic.twinChanges, key: device.deviceID, value: try change.serializedBytes(),
            headers: RecordHeader.describing(Twinfleet_Bus_V1_TwinChange.self).map { KafkaHeader(key: $0.name, string: $0.value) })
    }

    static func typed(_ text: String?, _ typeName: String?) -> Twinfleet_Bus_V1_ParameterValue? {
        storedValue(text, typeName).map(Twinfleet_Bus_V1_ParameterValue.init)
    }
}
