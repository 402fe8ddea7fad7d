import BusContracts
import Foundation
import Kafka
import Logging
import PostgresNIO
import ShardedPostgres

/// The topics the twin-store consumes.
public struct TwinTopics: Sendable {
    public var deviceEvents: String
    public var commands: String
    public var commandResults: String

    /// The platform's topics, or others (tests).
    public init(deviceEvents: String = Topic.deviceEvents, commands: String = Topic.commands, commandResults: String = Topic.commandResults) {
        self.deviceEvents = deviceEvents
        self.commands = commands
        self.commandResults = commandResults
    }

    /// Every topic, for the consumer's subscription.
    public var all: [String] { [deviceEvents, commands, commandResults] }
}

/// Applies device events, commands and command results to the twins of one shard, inside the
/// transactional consumer's transaction, and queues a twin change per changed twin in the
/// outbox.
///
/// Records are applied in batch order, which is partition order, so each device sees its events
/// in the order the ingress produced them. Consecutive device events for different devices are
/// written together (a run ends where a device repeats, or at a command record), which keeps the
/// statement count per transaction small whatever the batch size. Redelivered records never
/// reach this type (the consumer drops records below the stored offsets).
public struct TwinApplier: TransactionalHandler {
    private let topics: TwinTopics

    /// Creates the applier for `topics`.
    public init(topics: TwinTopics = TwinTopics()) {
        self.topics = topics
    }

    public func apply(_ records: [ConsumedRecord], shard: Int, connection: PostgresConnection, logger: Logger) async throws {
        var outbox: [(partition: Int32, record: OutgoingRecord)] = []
        var run: [TwinUpdate] = []
        var inRun: Set<String> = []

        func flush() async throws {
            let changes = try await TwinUpdateWriter.write(run, connection: connection, logger: logger)
            for (partition, change) in changes { outbox.append((partition, try TwinChangeRecord.make(change))) }
            run.removeAll(keepingCapacity: true)
            inRun.removeAll(keepingCapacity: true)
        }
        func add(_ update: TwinUpdate) async throws {
            if inRun.contains(update.deviceID) { try await flush() }
            inRun.insert(update.deviceID)
            run.append(update)
        }

        for record in records {
            switch record.topic {
            case topics.commands:
                let command = try CommandTracking.DecodedCommandRecord(record)
                if inRun.contains(command.deviceID) { try await flush() }
                try await CommandTracking.apply(command, connection: connection, logger: logger)
            case topics.commandResults:
                let result = try CommandTracking.DecodedResultRecord(record)
                if inRun.contains(result.result.deviceID) { try await flush() }
                let cause = TwinUpdate.Cause(topic: record.topic, partition: record.partition, offset: record.offset, sourceID: result.result.commandID)
                if let update = try await CommandTracking.apply(result, cause: cause, connection: connection, logger: logger) {
                    try await add(update)
                }
            default:
                try await add(try DecodedDeviceEvent(record).update)
            }
        }
        try await flush()
        try await Outbox.append(outbox, connection: connection, logger: logger)
    }
}
