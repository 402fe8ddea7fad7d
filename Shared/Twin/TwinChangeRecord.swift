import BusContracts
import Foundation
import Kafka
import SwiftProtobuf
import TwinfleetModel

/// Builds the `cpe.twin-changes.v1` record of one applied event.
enum TwinChangeRecord {
    /// What changed in one twin.
    struct Change {
        let device: DeviceRow
        let cause: TwinUpdate.Cause
        let parameterChanges: [ParameterChangeRow]
        let fieldChanges: [(field: String, old: String?, new: String?)]
        let presenceChanged: Bool
    }

    static func make(_ twin: Change) throws -> OutgoingRecord {
        let device = twin.device
        var change = Twinfleet_Bus_V1_TwinChange()
        change.deviceID = device.deviceID
        change.tenantID = device.tenantID
        change.twinVersion = UInt64(device.twinVersion)
        change.committedAtUs = Date().unixMicroseconds
        change.cause.topic = twin.cause.topic
        change.cause.partition = twin.cause.partition
        change.cause.offset = twin.cause.offset
        change.cause.sourceID = twin.cause.sourceID
        change.parameterChanges = twin.parameterChanges.map { row in
            var item = Twinfleet_Bus_V1_ParameterChange()
            item.path = row.path
            if let value = typed(row.oldValue, row.oldType) { item.oldValue = value }
            if let value = typed(row.newValue, row.newType) { item.newValue = value }
            return item
        }
        change.deviceFieldChanges = twin.fieldChanges.map { field in
            var item = Twinfleet_Bus_V1_DeviceFieldChange()
            item.field = field.field
            if let old = field.old { item.oldValue = old }
            if let new = field.new { item.newValue = new }
            return item
        }
        if twin.presenceChanged {
            change.presence.online = device.online
            change.presence.instanceID = device.instanceID ?? ""
        }
        return try OutgoingRecord(message: change, topic: Topic.twinChanges, key: device.deviceID)
    }

    static func typed(_ text: String?, _ typeName: String?) -> Twinfleet_Bus_V1_ParameterValue? {
        storedValue(text, typeName).map(Twinfleet_Bus_V1_ParameterValue.init)
    }
}
