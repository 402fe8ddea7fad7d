import BusContracts
import Foundation
import Kafka
import Logging
import PostgresNIO
import ShardedPostgres
import Twin

/// The topics the dispatcher consumes (and publishes its own results and commands to): the same
/// three as the twin-store's.
public typealias DispatchTopics = TwinTopics

/// One consumed record, as the dispatcher reads it.
enum DispatchInput: Sendable {
    case requested(Twinfleet_Bus_V1_Command)
    case cancelled(Twinfleet_Bus_V1_CommandCancelled)
    /// The device was forgotten: its unfinished commands are cancelled.
    case forgotten
    case result(Twinfleet_Bus_V1_CommandResult)
    case presence(Twinfleet_Bus_V1_Presence, sessionID: String, deviceProtocol: Twinfleet_Bus_V1_DeviceProtocol, tenantID: String)
    case informed(bootstrap: Bool, deviceProtocol: Twinfleet_Bus_V1_DeviceProtocol, tenantID: String)
    case booted(factoryReset: Bool, tenantID: String)
    case operationCompleted(Twinfleet_Bus_V1_OperationComplete)
    /// A USP agent created an object instance (an ObjectCreation notification).
    case objectCreated(path: String)

    /// Decodes a record; nil for device events the dispatcher has no use for. Throws a poison
    /// error for records that cannot be read or whose key is not their device.
    static func decode(_ record: ConsumedRecord, topics: DispatchTopics) throws(PoisonRecordError) -> (device: String, input: DispatchInput)? {
        let device: String
        let input: DispatchInput
        switch record.topic {
        case topics.commands:
            let envelope: Twinfleet_Bus_V1_CommandEnvelope
            do { envelope = try Twinfleet_Bus_V1_CommandEnvelope(serializedBytes: record.value) } catch {
                throw PoisonRecordError(code: "undecodable", reason: "not a twinfleet.bus.v1.CommandEnvelope: \(error)")
            }
            switch envelope.event {
            case .requested(let requested):
                let command = requested.command
                guard !command.commandID.isEmpty else { throw PoisonRecordError(code: "missing-command-id", reason: "command without command_id") }
                guard command.kind != nil else { throw PoisonRecordError(code: "empty-command", reason: "command \(command.commandID) has no kind") }
                device = command.deviceID
                input = .requested(command)
            case .cancelled(let cancelled):
                guard !cancelled.commandID.isEmpty else { throw PoisonRecordError(code: "missing-command-id", reason: "cancellation without command_id") }
                device = cancelled.deviceID
                input = .cancelled(cancelled)
            case .forgotten(let forgotten):
                device = forgotten.deviceID
                input = .forgotten
            case .tagsChanged:
                return nil
            case nil:
                throw PoisonRecordError(code: "empty-command", reason: "CommandEnvelope has no event")
            }
        case topics.commandResults:
            let result: Twinfleet_Bus_V1_CommandResult
            do { result = try Twinfleet_Bus_V1_CommandResult(serializedBytes: record.value) } catch {
                throw PoisonRecordError(code: "undecodable", reason: "not a twinfleet.bus.v1.CommandResult: \(error)")
            }
            guard !result.commandID.isEmpty else { throw PoisonRecordError(code: "missing-command-id", reason: "result without command_id") }
            device = result.deviceID
            input = .result(result)
        default:
            let event: Twinfleet_Bus_V1_DeviceEvent
            do { event = try Twinfleet_Bus_V1_DeviceEvent(serializedBytes: record.value) } catch {
                throw PoisonRecordError(code: "undecodable", reason: "not a twinfleet.bus.v1.DeviceEvent: \(error)")
            }
            switch event.body {
            case .presence(let presence)?:
                if presence.kind == .connected || presence.kind == .sessionOpened, Topic.instance(ofDeliveries: Topic.deliveriesPrefix + presence.instanceID) == nil {
                    throw PoisonRecordError(code: "invalid-instance", reason: "presence with instance ID \(presence.instanceID.debugDescription), which names no delivery inbox")
                }
                input = .presence(presence, sessionID: event.sessionID, deviceProtocol: event.protocol, tenantID: event.tenantID)
            case .inform(let inform)?:
                input = .informed(bootstrap: inform.events.contains { $0.code == "0 BOOTSTRAP" }, deviceProtocol: event.protocol, tenantID: event.tenantID)
            case .boot(let boot)?:
                // USP Boot! causes: LocalReboot, RemoteReboot, LocalFactoryReset, RemoteFactoryReset.
                input = .booted(factoryReset: boot.cause.hasSuffix("FactoryReset"), tenantID: event.tenantID)
            case .operationComplete(let completion)?:
                input = .operationCompleted(completion)
            case .objectCreated(let created)? where event.protocol == .usp:
                input = .objectCreated(path: created.path)
            default:
                return nil
            }
            device = event.deviceID
        }
        guard !device.isEmpty else { throw PoisonRecordError(code: "missing-device-id", reason: "record without a device ID") }
        if let key = record.key, String(decoding: key, as: UTF8.self) != device {
            throw PoisonRecordError(code: "key-mismatch", reason: "record key \(String(decoding: key, as: UTF8.self).debugDescription) is not its device \(device.debugDescription)")
        }
        return (device, input)
    }
}

/// Applies commands, results and presence to the device queues of one shard inside the
/// transactional consumer's transaction; deliveries and the dispatcher's own results leave
/// through the outbox, so they exist exactly when the transition committed.
public struct DispatchHandler: TransactionalHandler {
    public let topics: DispatchTopics
    public let policy: DispatchPolicy
    private let clock: @Sendable () -> Date

    public init(topics: DispatchTopics = DispatchTopics(), policy: DispatchPolicy = DispatchPolicy(), clock: @escaping @Sendable () -> Date = { Date() }) {
        self.topics = topics
        self.policy = policy
        self.clock = clock
    }

    public func apply(_ records: [ConsumedRecord], shard: Int, connection: PostgresConnection, logger: Logger) async throws {
        var inputs: [(device: String, partition: Int32, input: DispatchInput)] = []
        for record in records {
            guard let (device, input) = try DispatchInput.decode(record, topics: topics) else { continue }
            inputs.append((device, record.partition, input))
        }
        guard !inputs.isEmpty else { return }
        var devices: [String: Int32] = [:]
        var commandIDs: [String] = [], keys: [String] = []
        for (device, partition, input) in inputs {
            devices[device] = partition
            if case .requested(let command) = input {
                commandIDs.append(command.commandID)
                if !command.idempotencyKey.isEmpty { keys.append(command.idempotencyKey) }
            }
        }
        let now = clock()
        var loaded = try await DispatchStore.load(devices: devices, commandIDs: commandIDs, keys: keys, policy: policy, connection: connection, logger: logger)
        var effects: [(partition: Int32, effect: DispatchEffect)] = []
        for (device, partition, input) in inputs {
            guard var queue = loaded.queues[device] else { continue }
            let produced: [DispatchEffect]
            switch input {
            case .requested(let command): produced = queue.request(command, now: now)
            case .cancelled(let cancelled): produced = queue.cancel(cancelled.commandID, reason: cancelled.reason, now: now)
            case .result(let result): produced = queue.result(result, now: now)
            case .presence(let presence, let session, let deviceProtocol, let tenant):
                produced = queue.presence(presence, sessionID: session, deviceProtocol: deviceProtocol, tenantID: tenant, now: now)
            case .informed(let bootstrap, let deviceProtocol, let tenant):
                queue.informed(bootstrap: bootstrap, deviceProtocol: deviceProtocol, tenantID: tenant)
                produced = []
            case .booted(let factoryReset, let tenant):
                queue.informed(bootstrap: false, deviceProtocol: .unspecified, tenantID: tenant)
                produced = queue.booted(factoryReset: factoryReset, now: now)
            case .operationCompleted(let completion):
                produced = queue.operationCompleted(completion, now: now)
            case .objectCreated(let path):
                produced = queue.objectCreated(path: path, now: now)
            case .forgotten:
                produced = queue.forget(now: now)
            }
            loaded.queues[device] = queue
            effects += produced.map { (partition, $0) }
        }
        try await DispatchStore.save(loaded, effects: effects, topics: topics, now: now, connection: connection, logger: logger)
    }
}
