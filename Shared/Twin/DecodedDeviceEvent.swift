import BusContracts
import Foundation
import Kafka
import ShardedPostgres
import TwinfleetModel

/// A device event that passed validation: the protobuf decoded, the device ID valid and equal
/// to the record key, every parameter typed. Anything else is a poison record.
struct DecodedDeviceEvent {
    let deviceID: String
    let tenantID: String
    let protocolName: String
    let eventID: String
    let sourceInstance: String
    let occurredAt: Date
    let body: Twinfleet_Bus_V1_DeviceEvent.OneOf_Body
    /// The parameters the event carries (Inform, Boot!, reports, value changes), typed.
    let parameters: [Parameter]
    let topic: String
    let partition: Int32
    let offset: Int64

    init(_ record: ConsumedRecord) throws(PoisonRecordError) {
        let event: Twinfleet_Bus_V1_DeviceEvent
        do {
            event = try Twinfleet_Bus_V1_DeviceEvent(serializedBytes: record.value)
        } catch {
            throw PoisonRecordError(code: "undecodable", reason: "not a twinfleet.bus.v1.DeviceEvent: \(error)")
        }
        deviceID = try DecodedKey.device(event.deviceID, record: record)
        guard let body = event.body else {
            throw PoisonRecordError(code: "empty-event", reason: "DeviceEvent \(event.eventID) has no body")
        }
        let protos: [Twinfleet_Bus_V1_Parameter]
        switch body {
        case .inform(let inform): protos = inform.parameters
        case .boot(let boot): protos = boot.parameters
        case .parameterReport(let report): protos = report.parameters
        case .valueChange(let change): protos = change.parameters
        case .objectCreated(let object):
            // The new instance's unique keys (USP ObjectCreation) are the first of its
            // parameters the twin knows; a Get or the next sync brings the rest.
            guard (try? ParameterPath(validating: object.path))?.isObject == true else {
                throw PoisonRecordError(code: "invalid-parameter", reason: "created object \(object.path) is not an object path")
            }
            protos = object.uniqueKeys.sorted { $0.key < $1.key }.map { key, value in
                var parameter = Twinfleet_Bus_V1_Parameter()
                parameter.path = object.path + key
                parameter.value.stringValue = value
                return parameter
            }
        default: protos = []
        }
        var parameters: [Parameter] = []
        parameters.reserveCapacity(protos.count)
        for proto in protos {
            do {
                parameters.append(try Parameter(proto))
            } catch {
                throw PoisonRecordError(code: "invalid-parameter", reason: error.message)
            }
        }
        if case .parameterReport(let report) = body, !report.fullSyncRoot.isEmpty {
            guard (try? ParameterPath(validating: report.fullSyncRoot))?.isObject == true else {
                throw PoisonRecordError(code: "invalid-parameter", reason: "full_sync_root \(report.fullSyncRoot) is not an object path")
            }
        }
        if case .objectDeleted(let object) = body {
            guard (try? ParameterPath(validating: object.path))?.isObject == true else {
                throw PoisonRecordError(code: "invalid-parameter", reason: "deleted object \(object.path) is not an object path")
            }
        }
        self.body = body
        self.parameters = parameters
        tenantID = event.tenantID
        protocolName = event.protocol == .usp ? DeviceProtocol.usp.rawValue : DeviceProtocol.cwmp.rawValue
        eventID = event.eventID.isEmpty ? "\(record.topic)/\(record.partition)/\(record.offset)" : event.eventID
        sourceInstance = event.sourceInstance
        occurredAt = event.occurredAtUs > 0 ? Date(unixMicroseconds: event.occurredAtUs) : Date()
        topic = record.topic
        partition = record.partition
        offset = record.offset
    }
}
