import Foundation
import Kafka

/// Reads topics in the background from their beginning and keeps every record, so a test can
/// wait for records that may arrive in any order across topics.
public actor BusTap {
    public private(set) var records: [ConsumedRecord] = []
    private let consumer: KafkaConsumer
    private var task: Task<Void, Never>?

    public init(_ environment: TestEnvironment, topics: [String]) throws {
        consumer = try KafkaConsumer(
            configuration: environment.kafka(), options: .init(groupID: TestEnvironment.unique("tap"), topics: topics), logger: TestEnvironment.logger)
    }

    /// Starts reading.
    public func start() {
        let consumer = self.consumer
        task = Task {
            for await batch in consumer.batches {
                await self.append(batch)
            }
        }
    }

    private func append(_ batch: [ConsumedRecord]) { records += batch }

    /// Waits until `predicate` holds for the records read so far; returns them.
    @discardableResult
    public func wait(_ what: String, timeout: Duration = .seconds(20), until predicate: ([ConsumedRecord]) -> Bool) async throws -> [ConsumedRecord] {
        let deadline = ContinuousClock.now + timeout
        while !predicate(records) {
            guard ContinuousClock.now < deadline else { throw BusTapTimeout(what: what, seen: records.count) }
            try await Task.sleep(for: .milliseconds(25))
        }
        return records
    }

    /// Stops reading.
    public func stop() async {
        consumer.requestShutdown()
        await task?.value
        await consumer.shutdown()
    }
}

public struct BusTapTimeout: Error, CustomStringConvertible {
    public let what: String
    public let seen: Int
    public var description: String { "timed out waiting for \(what) (\(seen) records seen)" }
}
