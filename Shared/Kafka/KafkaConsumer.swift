import CRdKafka
import Foundation
import Logging
import NIOConcurrencyHelpers
import ServiceLifecycle

/// A consumer-group member over librdkafka, exposing records as an `AsyncSequence` of batches.
///
/// Offsets are under the caller's control: auto-commit and auto-store are off, and on every
/// assignment the `rebalanceHandler` says where each partition starts (for example from offsets
/// stored in PostgreSQL next to the rows they produced). A background thread polls librdkafka,
/// serves rebalance callbacks and hands batches to the sequence with bounded buffering, so a slow
/// handler slows fetching instead of filling memory.
public final class KafkaConsumer: Service, @unchecked Sendable {
    /// Where an assigned partition starts.
    public enum StartOffset: Sendable, Hashable {
        /// The group's committed offset in Kafka, else `auto.offset.reset`.
        case committed
        /// The oldest retained record.
        case beginning
        /// Only records produced from now on.
        case end
        /// This exact offset (the next record to read).
        case offset(Int64)
    }

    /// A change of this member's partitions.
    public enum RebalanceEvent: Sendable, Hashable {
        /// These partitions are now ours.
        case assigned([TopicPartition])
        /// These partitions are no longer ours; records of theirs still in flight may arrive.
        case revoked([TopicPartition])
    }

    /// Decides start offsets on assignment (the result is ignored on revocation).
    public typealias RebalanceHandler = @Sendable (RebalanceEvent) async -> [TopicPartition: StartOffset]

    /// Options of a consumer.
    public struct Options: Sendable {
        /// The consumer group.
        public var groupID: String
        /// Topics to subscribe to.
        public var topics: [String]
        /// Largest batch handed to the sequence.
        public var maxBatchSize: Int = 500
        /// Fetched chunks (each up to `maxBatchSize` records) buffered ahead of the reader.
        public var bufferedBatches: Int = 4
        /// Creates options.
        public init(groupID: String, topics: [String]) {
            self.groupID = groupID
            self.topics = topics
        }
    }

    /// Batches of records in partition order, as the broker returns them. A batch is everything
    /// fetched since the reader last asked (up to `maxBatchSize`), so a reader that spends longer
    /// on a batch gets a larger next one rather than a queue of small ones.
    public let batches: KafkaBatchSequence

    private let handle: OpaquePointer
    private let options: Options
    private let logger: Logger
    private let context: RebalanceContext
    private let stopRequested = NIOLockedValueBox(false)

    /// How many chunks the poll thread has fetched so far. A reader that needs everything
    /// fetched before some moment (e.g. a seek) to have passed waits until `takenChunks` (after
    /// it handled what it took) reaches this.
    public var fetchedChunks: Int { buffer.appended }
    /// How many fetched chunks the reader has taken so far (in the batches it was handed).
    public var takenChunks: Int { buffer.taken }
    private let closed = DispatchSemaphore(value: 0)
    private let buffer: ChunkBuffer

    /// Creates the consumer, subscribes, and starts polling.
    public init(
        configuration: KafkaConfiguration, options: Options, logger: Logger,
        rebalanceHandler: RebalanceHandler? = nil
    ) throws(KafkaError) {
        var configuration = configuration
        configuration["group.id"] = options.groupID
        // A producer-only property; librdkafka warns when a consumer carries it.
        configuration["partitioner"] = nil
        configuration["enable.auto.commit"] = "false"
        configuration["enable.auto.offset.store"] = "false"
        if configuration["auto.offset.reset"] == nil { configuration["auto.offset.reset"] = "earliest" }
        var logger = logger
        logger[metadataKey: KafkaLogKey.group] = "\(options.groupID)"
        let context = RebalanceContext(handler: rebalanceHandler, logger: logger, group: options.groupID)
        let conf = try configuration.makeConf()
        rd_kafka_conf_set_rebalance_cb(conf, rebalanceCallback)
        rd_kafka_conf_set_opaque(conf, Unmanaged.passUnretained(context).toOpaque())
        let handle = try makeClient(type: RD_KAFKA_CONSUMER, conf: conf)
        rd_kafka_poll_set_consumer(handle)

        let list = rd_kafka_topic_partition_list_new(Int32(options.topics.count))!
        defer { rd_kafka_topic_partition_list_destroy(list) }
        for topic in options.topics {
            rd_kafka_topic_partition_list_add(list, topic, RD_KAFKA_PARTITION_UA)
        }
        let err = rd_kafka_subscribe(handle, list)
        if err != RD_KAFKA_RESP_ERR_NO_ERROR {
            rd_kafka_destroy(handle)
            throw .from(err, .subscribe, context: "subscribe to \(options.topics)")
        }
        self.handle = handle
        self.options = options
        self.logger = logger
        self.context = context
        // Created empty and then filled: libdispatch traps when a semaphore is freed below its
        // initial value, which happens whenever a reader stops before draining the buffer.
        let slots = DispatchSemaphore(value: 0)
        for _ in 0..<options.bufferedBatches { slots.signal() }
        let buffer = ChunkBuffer(slots: slots, maxBatchSize: options.maxBatchSize)
        self.buffer = buffer
        self.batches = KafkaBatchSequence(buffer: buffer)
        let thread = Thread { [self] in self.pollLoop(slots: slots) }
        thread.name = "kafka-consumer-poll"
        thread.start()
    }

    deinit {
        rd_kafka_destroy(handle)
    }

    private func pollLoop(slots: DispatchSemaphore) {
        var lastLagUpdate = ContinuousClock.now
        while !stopRequested.withLockedValue({ $0 }) {
            guard slots.wait(timeout: .now() + .milliseconds(100)) == .success else {
                // The reader is behind: fetch nothing more. Heartbeats run on librdkafka's own
                // threads; rd_kafka_poll must not be called here, since the main queue is
                // redirected to the consumer queue and serving it would hit fetched messages.
                continue
            }
            var batch: [ConsumedRecord] = []
            if let first = poll(timeoutMilliseconds: 100) {
                batch.append(first)
                while batch.count < options.maxBatchSize, let next = poll(timeoutMilliseconds: 0) {
                    batch.append(next)
                }
            }
            if batch.isEmpty {
                slots.signal()
            } else {
                for record in batch { KafkaMetrics.consumed(record.topic).increment() }
                buffer.append(batch)
            }
            if ContinuousClock.now - lastLagUpdate > .seconds(2) {
                updateLag()
                lastLagUpdate = .now
            }
        }
        // Leaves the group (serving the revocation) before the stream ends.
        rd_kafka_consumer_close(handle)
        buffer.finish()
        closed.signal()
    }

    /// One record, or nil when none arrived in time or the poll returned an event/error.
    private func poll(timeoutMilliseconds: Int32) -> ConsumedRecord? {
        guard let message = rd_kafka_consumer_poll(handle, timeoutMilliseconds) else { return nil }
        defer { rd_kafka_message_destroy(message) }
        let m = message.pointee
        if m.err != RD_KAFKA_RESP_ERR_NO_ERROR {
            if m.err != RD_KAFKA_RESP_ERR__PARTITION_EOF {
                KafkaMetrics.errors("consume").increment()
                logger.warning("consumer error", metadata: [KafkaLogKey.error: "\(String(cString: rd_kafka_err2str(m.err)))"])
            }
            return nil
        }
        let topic = String(cString: rd_kafka_topic_name(m.rkt))
        let value = m.payload.map { Array(UnsafeRawBufferPointer(start: $0, count: m.len)) } ?? []
        let key = m.key.map { Array(UnsafeRawBufferPointer(start: $0, count: m.key_len)) }
        var headers: [KafkaHeader] = []
        var headerList: OpaquePointer?
        if rd_kafka_message_headers(message, &headerList) == RD_KAFKA_RESP_ERR_NO_ERROR, let headerList {
            var index = 0
            var name: UnsafePointer<CChar>?
            var valuePointer: UnsafeRawPointer?
            var size = 0
            while rd_kafka_header_get_all(headerList, index, &name, &valuePointer, &size) == RD_KAFKA_RESP_ERR_NO_ERROR {
                let bytes = valuePointer.map { Array(UnsafeRawBufferPointer(start: $0, count: size)) } ?? []
                headers.append(KafkaHeader(key: name.map { String(cString: $0) } ?? "", value: bytes))
                index += 1
            }
        }
        var timestampType = RD_KAFKA_TIMESTAMP_NOT_AVAILABLE
        let timestamp = rd_kafka_message_timestamp(message, &timestampType)
        return ConsumedRecord(
            topic: topic, partition: m.partition, offset: m.offset, key: key, value: value,
            headers: headers, timestampMilliseconds: timestampType == RD_KAFKA_TIMESTAMP_NOT_AVAILABLE ? nil : timestamp)
    }

    private func updateLag() {
        let assigned = assignment
        guard !assigned.isEmpty else { return }
        let list = makeList(assigned.map { ($0, nil) })
        defer { rd_kafka_topic_partition_list_destroy(list) }
        guard rd_kafka_position(handle, list) == RD_KAFKA_RESP_ERR_NO_ERROR else { return }
        for i in 0..<Int(list.pointee.cnt) {
            let element = list.pointee.elems[i]
            var low: Int64 = 0
            var high: Int64 = 0
            guard rd_kafka_get_watermark_offsets(handle, element.topic, element.partition, &low, &high) == RD_KAFKA_RESP_ERR_NO_ERROR,
                  element.offset >= 0, high >= 0 else { continue }
            let tp = TopicPartition(topic: String(cString: element.topic), partition: element.partition)
            KafkaMetrics.lag(tp, group: options.groupID).record(max(0, high - element.offset))
        }
    }

    /// The partitions currently assigned to this member.
    public var assignment: Set<TopicPartition> { context.assigned.withLockedValue { $0 } }

    /// Commits "next offset to read" per partition to the group in Kafka, asynchronously.
    ///
    /// Twinfleet's exactly-once consumers keep their real offsets in PostgreSQL; committing to Kafka
    /// as well keeps lag visible to standard Kafka tooling.
    public func commitAsync(_ offsets: [TopicPartition: Int64]) {
        guard !offsets.isEmpty else { return }
        let list = makeList(offsets.map { ($0.key, $0.value) })
        defer { rd_kafka_topic_partition_list_destroy(list) }
        let err = rd_kafka_commit(handle, list, 1)
        if err != RD_KAFKA_RESP_ERR_NO_ERROR && err != RD_KAFKA_RESP_ERR__NO_OFFSET {
            KafkaMetrics.errors("commit").increment()
            logger.warning("offset commit failed", metadata: [KafkaLogKey.error: "\(String(cString: rd_kafka_err2str(err)))"])
        }
    }

    /// Commits offsets and waits for the broker's answer.
    public func commit(_ offsets: [TopicPartition: Int64]) throws(KafkaError) {
        guard !offsets.isEmpty else { return }
        let list = makeList(offsets.map { ($0.key, $0.value) })
        defer { rd_kafka_topic_partition_list_destroy(list) }
        let err = rd_kafka_commit(handle, list, 0)
        if err != RD_KAFKA_RESP_ERR_NO_ERROR {
            KafkaMetrics.errors("commit").increment()
            throw .from(err, .commit, context: "commit")
        }
    }

    /// Stops fetching from these partitions (other partitions keep flowing).
    public func pause(_ partitions: [TopicPartition]) throws(KafkaError) {
        try setPaused(partitions, paused: true)
    }

    /// Resumes fetching from paused partitions.
    public func resume(_ partitions: [TopicPartition]) throws(KafkaError) {
        try setPaused(partitions, paused: false)
    }

    private func setPaused(_ partitions: [TopicPartition], paused: Bool) throws(KafkaError) {
        let list = makeList(partitions.map { ($0, nil) })
        defer { rd_kafka_topic_partition_list_destroy(list) }
        let err = paused ? rd_kafka_pause_partitions(handle, list) : rd_kafka_resume_partitions(handle, list)
        if err != RD_KAFKA_RESP_ERR_NO_ERROR {
            throw .from(err, .assignment, context: paused ? "pause" : "resume")
        }
    }

    /// Moves the read position of an assigned partition.
    public func seek(_ partition: TopicPartition, to offset: Int64, timeout: Duration = .seconds(5)) throws(KafkaError) {
        let list = makeList([(partition, offset)])
        defer { rd_kafka_topic_partition_list_destroy(list) }
        if let error = rd_kafka_seek_partitions(handle, list, Int32(timeout.components.seconds * 1000)) {
            throw .consuming(error, .assignment, context: "seek \(partition) to \(offset)")
        }
    }

    /// Asks the poll thread to leave the group and end the batch sequence; returns at once.
    public func requestShutdown() {
        stopRequested.withLockedValue { $0 = true }
    }

    /// Leaves the group and ends the batch sequence; returns once librdkafka has closed, or after
    /// `timeout` (leaving a group needs the coordinator, which may be unreachable).
    public func shutdown(timeout: Duration = .seconds(15)) async {
        requestShutdown()
        let closed = self.closed
        let logger = self.logger
        await runBlocking {
            let seconds = Double(timeout.components.seconds)
            if closed.wait(timeout: .now() + seconds) == .timedOut {
                logger.warning("consumer did not close in time; abandoning it")
                return
            }
            closed.signal()  // later callers return at once
        }
    }

    /// Runs until graceful shutdown, then leaves the group.
    public func run() async throws {
        try? await gracefulShutdown()
        await shutdown()
    }
}

/// The records of a `KafkaConsumer`, in batches; iterating frees buffer space for the poller.
/// Meant for one reader: a batch ends the sequence (nil) when its task is cancelled.
public struct KafkaBatchSequence: AsyncSequence, Sendable {
    public typealias Element = [ConsumedRecord]
    let buffer: ChunkBuffer

    public struct AsyncIterator: AsyncIteratorProtocol {
        let buffer: ChunkBuffer
        public mutating func next() async -> [ConsumedRecord]? {
            await buffer.next()
        }
    }

    public func makeAsyncIterator() -> AsyncIterator {
        AsyncIterator(buffer: buffer)
    }
}

/// The hand-off between the poll thread and the reader: chunks fetched ahead (at most as many
/// as `slots` allows), joined into one batch of up to `maxBatchSize` records when the reader
/// asks. Each chunk taken frees its slot.
final class ChunkBuffer: Sendable {
    private struct State {
        var chunks: [[ConsumedRecord]] = []
        var waiter: CheckedContinuation<[ConsumedRecord]?, Never>?
        var finished = false
        var appended = 0
        var taken = 0
    }

    private let state = NIOLockedValueBox(State())
    private let slots: DispatchSemaphore
    private let maxBatchSize: Int

    init(slots: DispatchSemaphore, maxBatchSize: Int) {
        self.slots = slots
        self.maxBatchSize = maxBatchSize
    }

    var appended: Int { state.withLockedValue { $0.appended } }
    var taken: Int { state.withLockedValue { $0.taken } }

    /// Called by the poll thread after taking a slot.
    func append(_ chunk: [ConsumedRecord]) {
        let waiter = state.withLockedValue { state -> CheckedContinuation<[ConsumedRecord]?, Never>? in
            state.appended += 1
            guard let waiter = state.waiter else {
                state.chunks.append(chunk)
                return nil
            }
            state.waiter = nil
            state.taken += 1
            return waiter
        }
        guard let waiter else { return }
        slots.signal()
        waiter.resume(returning: chunk)
    }

    /// Ends the sequence once the buffered chunks are taken.
    func finish() {
        let waiter = state.withLockedValue { state -> CheckedContinuation<[ConsumedRecord]?, Never>? in
            state.finished = true
            defer { state.waiter = nil }
            return state.waiter
        }
        waiter?.resume(returning: nil)
    }

    func next() async -> [ConsumedRecord]? {
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<[ConsumedRecord]?, Never>) in
                let (batch, freed) = state.withLockedValue { state -> ([ConsumedRecord]??, Int) in
                    if !state.chunks.isEmpty {
                        var batch = state.chunks.removeFirst()
                        var count = 1
                        while let next = state.chunks.first, batch.count + next.count <= maxBatchSize {
                            batch += next
                            state.chunks.removeFirst()
                            count += 1
                        }
                        state.taken += count
                        return (.some(batch), count)
                    }
                    if state.finished || Task.isCancelled { return (.some(nil), 0) }
                    state.waiter = continuation
                    return (nil, 0)
                }
                for _ in 0..<freed { slots.signal() }
                if let batch { continuation.resume(returning: batch) }
            }
        } onCancel: {
            let waiter = state.withLockedValue { state -> CheckedContinuation<[ConsumedRecord]?, Never>? in
                defer { state.waiter = nil }
                return state.waiter
            }
            waiter?.resume(returning: nil)
        }
    }
}

/// State shared with the C rebalance callback.
final class RebalanceContext: @unchecked Sendable {
    let handler: KafkaConsumer.RebalanceHandler?
    let logger: Logger
    let group: String
    let assigned = NIOLockedValueBox(Set<TopicPartition>())

    init(handler: KafkaConsumer.RebalanceHandler?, logger: Logger, group: String) {
        self.handler = handler
        self.logger = logger
        self.group = group
    }

    /// Runs the async handler from librdkafka's poll thread (never a Swift concurrency thread).
    func callHandler(_ event: KafkaConsumer.RebalanceEvent) -> [TopicPartition: KafkaConsumer.StartOffset] {
        guard let handler else { return [:] }
        let done = DispatchSemaphore(value: 0)
        let result = NIOLockedValueBox<[TopicPartition: KafkaConsumer.StartOffset]>([:])
        Task {
            let offsets = await handler(event)
            result.withLockedValue { $0 = offsets }
            done.signal()
        }
        done.wait()
        return result.withLockedValue { $0 }
    }
}

func makeList(_ entries: [(TopicPartition, Int64?)]) -> UnsafeMutablePointer<rd_kafka_topic_partition_list_t> {
    let list = rd_kafka_topic_partition_list_new(Int32(max(entries.count, 1)))!
    for (tp, offset) in entries {
        let element = rd_kafka_topic_partition_list_add(list, tp.topic, tp.partition)!
        if let offset { element.pointee.offset = offset }
    }
    return list
}

private func partitions(of list: UnsafeMutablePointer<rd_kafka_topic_partition_list_t>) -> [TopicPartition] {
    (0..<Int(list.pointee.cnt)).map {
        TopicPartition(topic: String(cString: list.pointee.elems[$0].topic), partition: list.pointee.elems[$0].partition)
    }
}

private func rebalanceCallback(
    _ handle: OpaquePointer?, _ err: rd_kafka_resp_err_t,
    _ list: UnsafeMutablePointer<rd_kafka_topic_partition_list_t>?, _ opaque: UnsafeMutableRawPointer?
) {
    guard let handle, let list, let opaque else { return }
    let context = Unmanaged<RebalanceContext>.fromOpaque(opaque).takeUnretainedValue()
    let cooperative = String(cString: rd_kafka_rebalance_protocol(handle)) == "COOPERATIVE"
    let tps = partitions(of: list)
    switch err {
    case RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS:
        let starts = context.callHandler(.assigned(tps))
        for i in 0..<Int(list.pointee.cnt) {
            let tp = tps[i]
            switch starts[tp] ?? .committed {
            case .committed: list.pointee.elems[i].offset = Int64(RD_KAFKA_OFFSET_INVALID)
            case .beginning: list.pointee.elems[i].offset = Int64(RD_KAFKA_OFFSET_BEGINNING)
            case .end: list.pointee.elems[i].offset = Int64(RD_KAFKA_OFFSET_END)
            case .offset(let value): list.pointee.elems[i].offset = value
            }
        }
        if cooperative {
            if let error = rd_kafka_incremental_assign(handle, list) { rd_kafka_error_destroy(error) }
        } else {
            rd_kafka_assign(handle, list)
        }
        context.assigned.withLockedValue { $0.formUnion(tps) }
        context.logger.info("partitions assigned", metadata: ["kafka.partitions": "\(tps.map(\.description))"])
    case RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS:
        context.assigned.withLockedValue { $0.subtract(tps) }
        _ = context.callHandler(.revoked(tps))
        if cooperative {
            if let error = rd_kafka_incremental_unassign(handle, list) { rd_kafka_error_destroy(error) }
        } else {
            rd_kafka_assign(handle, nil)
        }
        context.logger.info("partitions revoked", metadata: ["kafka.partitions": "\(tps.map(\.description))"])
    default:
        context.logger.error("rebalance error", metadata: [KafkaLogKey.error: "\(String(cString: rd_kafka_err2str(err)))"])
        rd_kafka_assign(handle, nil)
        context.assigned.withLockedValue { $0.removeAll() }
    }
}
