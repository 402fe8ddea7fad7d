import Foundation
import NIOConcurrencyHelpers

/// Runs a blocking librdkafka call on a thread of its own so it never occupies one of Swift
/// concurrency's few cooperative threads (the rebalance callback itself needs one to run).
func runBlocking<T: Sendable>(_ work: @escaping @Sendable () -> T) async -> T {
    await withCheckedContinuation { continuation in
        let thread = Thread { continuation.resume(returning: work()) }
        thread.name = "kafka-blocking"
        thread.start()
    }
}
