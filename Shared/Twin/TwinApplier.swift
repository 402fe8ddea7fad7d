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
/// Each device sees its records in partition order, the order the ingress produced them.
/// Device events and command results are written in waves: a segment of consecutive records is
/// split so that wave k holds the k-th update of each device in it, and the waves are written in
/// order, each with a handful of statements whatever its size. A periodic session's three events
/// (Inform, sessionOpened, and sessionClosed a little later) thus cost three waves per segment
/// rather than a write per record. Only a device's own order matters (twin changes are keyed and
/// published per device), so interleaving between devices is free. A command record ends the
/// segment when its device has updates in it, because it reads what they wrote. Redelivered
/// records never reach this type (the consumer drops records below the stored offsets).
public struct TwinApplier: TransactionalHandler {
    private let topics: TwinTopics

    /// Creates the applier for `topics`.
    public init(topics: TwinTopics = TwinTopics()) {
        self.topics = topics
    }

    public func apply(_ records: [ConsumedRecord], shard: Int, connection: PostgresConnection, logger: Logger) async throws {
        var outbox: [(partition: Int32, record: OutgoingRecord)] = []
        var segment: [TwinUpdate] = []
        var inSegment: Set<String> = []

        func flush() async throws {
            for wave in Self.waves(segment) {
                let changes = try await TwinUpdateWriter.write(wave, connection: connection, logger: logger)
                for (partition, change) in changes { outbox.append((partition, try TwinChangeRecord.make(change))) }
            }
            segment.removeAll(keepingCapacity: true)
            inSegment.removeAll(keepingCapacity: true)
        }
        func add(_ update: TwinUpdate) {
            inSegment.insert(update.deviceID)
            segment.append(update)
        }

        for record in records {
            switch record.topic {
            case topics.commands:
                let command = try CommandTracking.DecodedCommandRecord(record)
                if inSegment.contains(command.deviceID) { try await flush() }
                try await CommandTracking.apply(command, connection: connection, logger: logger)
            case topics.commandResults:
                let result = try CommandTracking.DecodedResultRecord(record)
                if inSegment.contains(result.result.deviceID) { try await flush() }
                let cause = TwinUpdate.Cause(topic: record.topic, partition: record.partition, offset: record.offset, sourceID: result.result.commandID)
                if let update = try await CommandTracking.apply(result, cause: cause, connection: connection, logger: logger) {
                    add(update)
                }
            default:
                add(try DecodedDeviceEvent(record).update)
            }
        }
        try await flush()
        try await Outbox.append(outbox, connection: connection, logger: logger)
    }

    /// `updates` split into waves: the k-th update of each device goes into wave k, so no wave
    /// holds a device twice and each device's updates stay in order across the waves.
    static func waves(_ updates: [TwinUpdate]) -> [[TwinUpdate]] {
        var waves: [[TwinUpdate]] = []
        var seen: [String: Int] = [:]
        for update in updates {
            let wave = seen[update.deviceID, default: 0]
            seen[update.deviceID] = wave + 1
            if wave == waves.count { waves.append([]) }
            waves[wave].append(update)
        }
        return waves
    }
}
