import BusContracts
import Foundation
import Kafka
import Logging
import PostgresNIO
import ShardedPostgres
import SwiftProtobuf
import TwinfleetModel

/// Applies `cpe.device-events.v1` records to the twins of one shard, inside the transactional
/// consumer's transaction, and queues a `TwinChange` per changed twin in the outbox.
///
/// Events are applied one after another in partition order, so each device sees its events in
/// the order the ingress produced them. Redelivered records never reach this type (the consumer
/// drops records below the stored offsets), and every write is an idempotent upsert besides.
public struct TwinEventApplier: TransactionalHandler {
    /// Creates the applier.
    public init() {}

    public func apply(_ records: [ConsumedRecord], shard: Int, connection: PostgresConnection, logger: Logger) async throws {
        var outbox: [(partition: Int32, record: OutgoingRecord)] = []
        for record in records {
            let event = try DecodedDeviceEvent(record)
            var logger = logger
            logger[metadataKey: "cpe.device.id"] = "\(event.deviceID)"
            if let change = try await apply(event, connection: connection, logger: logger) {
                outbox.append((record.partition, change))
            }
        }
        try await Outbox.append(outbox, connection: connection, logger: logger)
    }

    /// Applies one event; returns the twin change to publish, if anything changed.
    func apply(_ event: DecodedDeviceEvent, connection: PostgresConnection, logger: Logger) async throws -> OutgoingRecord? {
        var device = try await DeviceRow.lockOrCreate(event, connection: connection, logger: logger)
        let before = device
        var parameterChanges: [ParameterChangeRow] = []
        var eventKind: String?
        var detail = ""
        let store = ParameterStore(event: event, version: before.twinVersion + 1)

        switch event.body {
        case .presence(let presence):
            eventKind = "presence.\(presence.kind.name)"
            detail = presence.reason
            switch presence.kind {
            case .connected, .sessionOpened: device.online = true
            case .disconnected: device.online = false
            default: break
            }
            if !presence.instanceID.isEmpty { device.instanceID = presence.instanceID }
            if !presence.connectionRequestURL.isEmpty { device.connectionRequestURL = presence.connectionRequestURL }
        case .inform(let inform):
            eventKind = "inform"
            detail = inform.events.map { $0.code }.joined(separator: ",")
            device.adopt(identity: inform.device)
            if inform.events.contains(where: { $0.code == "0 BOOTSTRAP" || $0.code == "1 BOOT" }) { device.lastBoot = event.occurredAt }
            parameterChanges += try await store.upsert(event.parameters, syncID: nil, connection: connection, logger: logger)
        case .boot(let boot):
            eventKind = "boot"
            detail = boot.cause
            device.lastBoot = event.occurredAt
            parameterChanges += try await store.upsert(event.parameters, syncID: nil, connection: connection, logger: logger)
        case .parameterReport(let report):
            let fullSync = !report.fullSyncRoot.isEmpty
            let syncID = fullSync ? (report.reportID.isEmpty ? event.eventID : report.reportID) : nil
            parameterChanges += try await store.upsert(event.parameters, syncID: syncID, connection: connection, logger: logger)
            if fullSync && report.finalChunk, let syncID {
                // What the device no longer has is removed from the twin.
                parameterChanges += try await store.removeStale(under: report.fullSyncRoot, syncID: syncID, connection: connection, logger: logger)
            }
        case .valueChange:
            parameterChanges += try await store.upsert(event.parameters, syncID: nil, connection: connection, logger: logger)
        case .objectCreated(let object):
            eventKind = "object.created"
            detail = object.path
        case .objectDeleted(let object):
            eventKind = "object.deleted"
            detail = object.path
            parameterChanges += try await store.remove(under: object.path, connection: connection, logger: logger)
        case .transferComplete(let transfer):
            eventKind = transfer.autonomous ? "transfer.autonomous-complete" : "transfer.complete"
            detail = transfer.faultCode == 0 ? "ok \(transfer.commandKey)" : "fault \(transfer.faultCode) \(transfer.faultString)"
        case .operationComplete(let operation):
            eventKind = "operation.complete"
            detail = operation.commandPath
        case .telemetrySample:
            break
        }
        device.adopt(parameters: event.parameters)

        let fieldChanges = device.fieldChanges(since: before)
        let changed = !parameterChanges.isEmpty || !fieldChanges.isEmpty
        if changed { device.twinVersion = before.twinVersion + 1 }
        try await device.save(lastContact: event.occurredAt, connection: connection, logger: logger)
        if let eventKind {
            try await connection.query("""
                INSERT INTO device_events (device_id, partition, occurred_at, kind, event_id, instance_id, detail)
                VALUES (\(event.deviceID), \(event.partition), \(event.occurredAt), \(eventKind), \(event.eventID), \(event.sourceInstance), \(detail))
                """, logger: logger)
        }
        guard changed else { return nil }
        return try TwinChangeRecord.make(
            event: event, device: device, parameterChanges: parameterChanges, fieldChanges: fieldChanges,
            presenceChanged: before.online != device.online || before.instanceID != device.instanceID)
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
