import BusContracts
import Foundation
import Kafka
import Logging
import PostgresNIO
import ShardedPostgres
import SwiftProtobuf
import TwinfleetModel

/// The twin's view of commands: `device_commands` rows (what is queued, running and done, for
/// reads) and desired values on `parameters` while a queued Set will change them.
///
/// Commands and their results travel on two topics, so a result can be applied before its
/// request: every write here is order-independent. A request never moves a row out of a final
/// status; a result only moves a row forward (final beats non-final, later beats earlier); a
/// desired value is set only while the command is not final and cleared by its final result.
enum CommandTracking {
    /// A `cpe.commands.v1` record that passed validation.
    struct DecodedCommandRecord {
        let deviceID: String
        let envelope: Twinfleet_Bus_V1_CommandEnvelope
        let partition: Int32

        init(_ record: ConsumedRecord) throws(PoisonRecordError) {
            do {
                envelope = try Twinfleet_Bus_V1_CommandEnvelope(serializedBytes: record.value)
            } catch {
                throw PoisonRecordError(code: "undecodable", reason: "not a twinfleet.bus.v1.CommandEnvelope: \(error)")
            }
            let device: String, commandID: String
            switch envelope.event {
            case .requested(let requested):
                device = requested.command.deviceID
                commandID = requested.command.commandID
                guard requested.command.kind != nil else {
                    throw PoisonRecordError(code: "empty-command", reason: "command \(commandID) has no kind")
                }
                if case .setParameters(let set) = requested.command.kind {
                    guard !set.parameters.isEmpty else {
                        throw PoisonRecordError(code: "invalid-parameter", reason: "SetParameters \(commandID) has no parameters")
                    }
                    for parameter in set.parameters {
                        do { _ = try Parameter(parameter) } catch { throw PoisonRecordError(code: "invalid-parameter", reason: error.message) }
                    }
                }
            case .cancelled(let cancelled):
                device = cancelled.deviceID
                commandID = cancelled.commandID
            case .tagsChanged(let change):
                device = change.deviceID
                commandID = "tags"
                for tag in change.add + change.remove where tag.isEmpty || tag.utf8.count > 64 || tag.contains("\0") {
                    throw PoisonRecordError(code: "invalid-tag", reason: "tag \(tag.debugDescription) is empty, longer than 64 bytes or holds NUL")
                }
            case .forgotten(let forgotten):
                device = forgotten.deviceID
                commandID = "forget"
            case nil:
                throw PoisonRecordError(code: "empty-command", reason: "CommandEnvelope has no event")
            }
            guard !commandID.isEmpty else { throw PoisonRecordError(code: "missing-command-id", reason: "command without command_id") }
            deviceID = try DecodedKey.device(device, record: record)
            partition = record.partition
        }
    }

    /// A `cpe.command-results.v1` record that passed validation.
    struct DecodedResultRecord {
        let result: Twinfleet_Bus_V1_CommandResult
        let partition: Int32
        let outputs: [Parameter]

        init(_ record: ConsumedRecord) throws(PoisonRecordError) {
            do {
                result = try Twinfleet_Bus_V1_CommandResult(serializedBytes: record.value)
            } catch {
                throw PoisonRecordError(code: "undecodable", reason: "not a twinfleet.bus.v1.CommandResult: \(error)")
            }
            guard !result.commandID.isEmpty else { throw PoisonRecordError(code: "missing-command-id", reason: "result without command_id") }
            guard result.status != .unspecified, CommandStatusName(result.status) != nil else {
                throw PoisonRecordError(code: "invalid-status", reason: "result \(result.commandID) has status \(result.status.rawValue)")
            }
            _ = try DecodedKey.device(result.deviceID, record: record)
            var outputs: [Parameter] = []
            for parameter in result.outputs.parameters {
                do { outputs.append(try Parameter(parameter)) } catch { throw PoisonRecordError(code: "invalid-parameter", reason: error.message) }
            }
            self.outputs = outputs
            partition = record.partition
        }

        var occurredAt: Date { result.occurredAtUs > 0 ? Date(unixMicroseconds: result.occurredAtUs) : Date() }
    }

    // MARK: Requests

    /// Records a requested or cancelled command; sets desired values for a queued Set.
    static func apply(_ record: DecodedCommandRecord, connection: PostgresConnection, logger: Logger) async throws {
        if case .forgotten = record.envelope.event {
            // Forgetting a device the twin no longer has (a redelivery, a second request) changes nothing.
            for table in ["device_commands", "parameter_history", "parameters", "device_events", "devices"] {
                try await connection.query(PostgresQuery(unsafeSQL: "DELETE FROM \(table) WHERE device_id = $1", binds: {
                    var binds = PostgresBindings()
                    binds.append(record.deviceID)
                    return binds
                }()), logger: logger)
            }
            return
        }
        // A command for a device the twin has not seen yet (pre-provisioning, or the
        // dispatcher's Refresh read here before the device's first event: the two come on
        // different topics) is kept in the command view, where it shows once the device appears.
        switch record.envelope.event {
        case .requested(let requested):
            let command = requested.command
            let created = command.createdAtUs > 0 ? Date(unixMicroseconds: command.createdAtUs) : Date()
            let expires = command.expiresAtUs > 0 ? Date(unixMicroseconds: command.expiresAtUs) : nil
            let stored = try redacted(command).serializedBytes() as [UInt8]
            let rows = try await connection.query("""
                INSERT INTO device_commands (command_id, device_id, partition, kind, status, final, priority, created_at,
                    expires_at, campaign_id, bulk_operation_id, requested_by, command, status_at)
                VALUES (\(command.commandID), \(record.deviceID), \(record.partition), \(command.kindName), 'queued', false,
                    \(Int(command.priority)), \(created), \(expires), \(command.correlation.campaignID.nonEmpty),
                    \(command.correlation.bulkOperationID.nonEmpty), \(command.correlation.userID.nonEmpty),
                    \(ByteBuffer(bytes: stored)), \(created))
                ON CONFLICT (command_id) DO UPDATE SET
                    kind = EXCLUDED.kind, priority = EXCLUDED.priority, created_at = EXCLUDED.created_at,
                    expires_at = EXCLUDED.expires_at, campaign_id = EXCLUDED.campaign_id,
                    bulk_operation_id = EXCLUDED.bulk_operation_id, requested_by = EXCLUDED.requested_by,
                    command = EXCLUDED.command
                RETURNING final
                """, logger: logger)
            var final = false
            for try await isFinal in rows.decode(Bool.self) { final = isFinal }
            if !final, case .setParameters(let set) = command.kind {
                let parameters = try set.parameters.map { try Parameter($0) }.lastPerPath
                try await connection.query("""
                    UPDATE parameters p SET desired_value = x.value, desired_type = x.type,
                        desired_command_id = \(command.commandID), desired_at = \(created)
                    FROM unnest(\(parameters.map(\.path.rawValue))::text[], \(parameters.map(\.value.wireString))::text[],
                                \(parameters.map(\.value.type.rawValue))::text[]) AS x(path, value, type)
                    WHERE p.device_id = \(record.deviceID) AND p.path = x.path
                      AND (p.desired_at IS NULL OR p.desired_at <= \(created))
                    """, logger: logger)
            }
        case .cancelled(let cancelled):
            let at = cancelled.cancelledAtUs > 0 ? Date(unixMicroseconds: cancelled.cancelledAtUs) : Date()
            try await connection.query("""
                INSERT INTO device_commands (command_id, device_id, partition, status, final, cancel_requested_at, status_at)
                VALUES (\(cancelled.commandID), \(record.deviceID), \(record.partition), 'queued', false, \(at), \(at))
                ON CONFLICT (command_id) DO UPDATE SET cancel_requested_at = EXCLUDED.cancel_requested_at
                """, logger: logger)
        case .tagsChanged(let change):
            try await connection.query("""
                UPDATE devices SET tags = coalesce((SELECT array_agg(DISTINCT t ORDER BY t) FROM unnest(tags || \(change.add)::text[]) AS t
                                                    WHERE NOT t = ANY(\(change.remove)::text[])), '{}'),
                    twin_version = twin_version + 1
                WHERE device_id = \(record.deviceID)
                """, logger: logger)
        case .forgotten, nil:
            break
        }
    }

    // MARK: Results

    /// Records a result; a final one clears the command's desired values. Returns the twin update
    /// a successful result implies (values read or written, a deleted object), if any.
    static func apply(
        _ record: DecodedResultRecord, cause: TwinUpdate.Cause, connection: PostgresConnection, logger: Logger
    ) async throws -> TwinUpdate? {
        let result = record.result
        let known = try await twinExists(result.deviceID, connection: connection, logger: logger)
        let status = CommandStatusName(result.status)!
        let final = status.isFinal(retriable: result.error.retriable)
        let at = record.occurredAt
        let outputs = try result.outputs.serializedBytes() as [UInt8]
        let rows = try await connection.query("""
            INSERT INTO device_commands (command_id, device_id, partition, status, final, attempt, error_code, error_message,
                outputs, status_at)
            VALUES (\(result.commandID), \(result.deviceID), \(record.partition), \(status.rawValue), \(final), \(Int(result.attempt)),
                \(result.hasError ? Int(result.error.code) : nil), \(result.hasError ? result.error.message : nil),
                \(ByteBuffer(bytes: outputs)), \(at))
            ON CONFLICT (command_id) DO UPDATE SET
                status = EXCLUDED.status, final = EXCLUDED.final, attempt = GREATEST(device_commands.attempt, EXCLUDED.attempt),
                error_code = EXCLUDED.error_code, error_message = EXCLUDED.error_message, outputs = EXCLUDED.outputs,
                status_at = EXCLUDED.status_at, updated_at = now()
            WHERE NOT device_commands.final AND (EXCLUDED.final OR device_commands.status_at <= EXCLUDED.status_at)
            RETURNING kind, command
            """, logger: logger)
        var stored: Twinfleet_Bus_V1_Command?
        var moved = false
        for try await (_, bytes) in rows.decode((String?, ByteBuffer?).self) {
            moved = true
            if let bytes, bytes.readableBytes > 0 { stored = try? Twinfleet_Bus_V1_Command(serializedBytes: Array(buffer: bytes)) }
        }
        // Without a twin there are no desired values to clear and nothing to report into.
        guard moved, final, known else { return nil }
        var cleared: [String] = []
        for try await path in try await connection.query("""
            UPDATE parameters SET desired_value = NULL, desired_type = NULL, desired_command_id = NULL, desired_at = NULL
            WHERE device_id = \(result.deviceID) AND desired_command_id = \(result.commandID)
            RETURNING path
            """, logger: logger).decode(String.self) {
            cleared.append(path)
        }
        if !cleared.isEmpty, status != .succeeded {
            try await restoreDesired(device: result.deviceID, paths: Set(cleared), connection: connection, logger: logger)
        }

        var update = TwinUpdate(deviceID: result.deviceID, partition: record.partition, occurredAt: at, cause: cause, newDevice: nil)
        update.isContact = false
        update.authoritative = false
        let kind = stored?.kindName ?? "unknown"
        let failure = result.hasError ? " \(result.error.code) \(result.error.message)" : ""
        update.log = .init(kind: "command.\(status.rawValue)", eventID: result.commandID, instanceID: result.instanceID,
                           detail: "\(kind) \(result.commandID)\(failure)")
        if status == .succeeded {
            // What the device confirmed becomes reported state (a later report wins: the values
            // are second-hand, see `ParameterWrite.authoritative`).
            var values = record.outputs
            if case .setParameters(let set)? = stored?.kind {
                values += set.parameters.compactMap { try? Parameter($0) }
            }
            update.writes = values.lastPerPath
            if case .deleteObject(let delete)? = stored?.kind, (try? ParameterPath(validating: delete.objectPath))?.isObject == true {
                update.removals = [(delete.objectPath, nil)]
            }
        }
        return update
    }

    /// After a Set ends without effect (failed, expired, cancelled), the paths it desired show
    /// the newest Set still pending for them, if any.
    private static func restoreDesired(device: String, paths: Set<String>, connection: PostgresConnection, logger: Logger) async throws {
        var latest: [String: (value: String, type: String, commandID: String, at: Date)] = [:]
        let rows = try await connection.query("""
            SELECT command_id, command, created_at FROM device_commands
            WHERE device_id = \(device) AND NOT final AND kind = 'set-parameters' AND command IS NOT NULL
            ORDER BY created_at, command_id
            """, logger: logger)
        for try await (commandID, bytes, created) in rows.decode((String, ByteBuffer, Date).self) {
            guard let command = try? Twinfleet_Bus_V1_Command(serializedBytes: Array(buffer: bytes)),
                  case .setParameters(let set)? = command.kind else { continue }
            for parameter in set.parameters.compactMap({ try? Parameter($0) }) where paths.contains(parameter.path.rawValue) {
                latest[parameter.path.rawValue] = (parameter.value.wireString, parameter.value.type.rawValue, commandID, created)
            }
        }
        for (path, desired) in latest.sorted(by: { $0.key < $1.key }) {
            try await connection.query("""
                UPDATE parameters SET desired_value = \(desired.value), desired_type = \(desired.type),
                    desired_command_id = \(desired.commandID), desired_at = \(desired.at)
                WHERE device_id = \(device) AND path = \(path) AND desired_command_id IS NULL
                """, logger: logger)
        }
    }

    /// Whether the twin has the device.
    private static func twinExists(_ deviceID: String, connection: PostgresConnection, logger: Logger) async throws -> Bool {
        let rows = try await connection.query("SELECT 1 FROM devices WHERE device_id = \(deviceID)", logger: logger)
        for try await _ in rows { return true }
        return false
    }

    /// The command without secrets (file-server credentials are never stored).
    static func redacted(_ command: Twinfleet_Bus_V1_Command) -> Twinfleet_Bus_V1_Command {
        var command = command
        switch command.kind {
        case .download(var download):
            download.password = ""
            command.kind = .download(download)
        case .upload(var upload):
            upload.password = ""
            command.kind = .upload(upload)
        default:
            break
        }
        return command
    }
}

/// The stored name of a command status.
enum CommandStatusName: String {
    case accepted, delivered, succeeded, failed, expired, cancelled
    case inProgress = "in-progress"
    case notDelivered = "not-delivered"

    init?(_ status: Twinfleet_Bus_V1_CommandStatus) {
        switch status {
        case .accepted: self = .accepted
        case .delivered: self = .delivered
        case .inProgress: self = .inProgress
        case .succeeded: self = .succeeded
        case .failed: self = .failed
        case .notDelivered: self = .notDelivered
        case .expired: self = .expired
        case .cancelled: self = .cancelled
        default: return nil
        }
    }

    /// Final statuses end the command (a retriable failure does not).
    func isFinal(retriable: Bool) -> Bool {
        switch self {
        case .succeeded, .expired, .cancelled: true
        case .failed: !retriable
        case .accepted, .delivered, .inProgress, .notDelivered: false
        }
    }
}

/// The device ID of a record: valid, and equal to the record key.
enum DecodedKey {
    static func device(_ deviceID: String, record: ConsumedRecord) throws(PoisonRecordError) -> String {
        let valid: String
        do { valid = try DeviceID(validating: deviceID).rawValue } catch {
            throw PoisonRecordError(code: "invalid-device-id", reason: error.message)
        }
        guard record.keyString == nil || record.keyString == valid else {
            throw PoisonRecordError(code: "key-mismatch", reason: "record key \(record.keyString ?? "") is not the device \(valid)")
        }
        return valid
    }
}

extension Twinfleet_Bus_V1_Command {
    /// The command kind's name, as stored and logged.
    public var kindName: String {
        switch kind {
        case .getParameters: "get-parameters"
        case .setParameters: "set-parameters"
        case .addObject: "add-object"
        case .deleteObject: "delete-object"
        case .reboot: "reboot"
        case .factoryReset: "factory-reset"
        case .download: "download"
        case .upload: "upload"
        case .operate: "operate"
        case .refresh: "refresh"
        case .scheduleInform: "schedule-inform"
        case .setParameterAttributes: "set-parameter-attributes"
        case nil: "unknown"
        }
    }
}

extension String {
    /// nil for the empty string (protobuf's "not set").
    var nonEmpty: String? { isEmpty ? nil : self }
}
