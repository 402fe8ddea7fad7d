import CRdKafka
import Foundation
import Logging
import Metrics
import NIOConcurrencyHelpers
import ServiceLifecycle

/// An asynchronous Kafka producer over librdkafka.
///
/// `send` returns once the broker has acknowledged the record (its delivery report), so a caller
/// that awaits it knows the record is durable in Kafka. Records are partitioned by key with Kafka's
/// murmur2 partitioner. A background thread serves librdkafka's callbacks from the moment the
/// producer is created; as a `Service`, `run()` waits for graceful shutdown and then flushes.
public final class KafkaProducer: Service, @unchecked Sendable {
    private let handle: OpaquePointer
    private let logger: Logger
    private let state = NIOLockedValueBox(State())
    private let pollThreadDone = DispatchSemaphore(value: 0)
    private let flushTimeoutMilliseconds: Int32

    private struct State {
        var closed = false
        var stopPolling = false
    }

    /// Creates a producer and starts serving its delivery reports.
    ///
    /// - Parameters:
    ///   - configuration: broker list and librdkafka properties; `acks=all` and idempotence are
    ///     the defaults here unless overridden.
    ///   - flushTimeout: how long shutdown waits for outstanding deliveries.
    public init(configuration: KafkaConfiguration, flushTimeout: Duration = .seconds(10), logger: Logger) throws(KafkaError) {
        var configuration = configuration
        if configuration["acks"] == nil { configuration["acks"] = "all" }
        if configuration["enable.idempotence"] == nil { configuration["enable.idempotence"] = "true" }
        if configuration["linger.ms"] == nil { configuration["linger.ms"] = "2" }
        let conf = try configuration.makeConf()
        rd_kafka_conf_set_dr_msg_cb(conf, deliveryReportCallback)
        self.handle = try makeClient(type: RD_KAFKA_PRODUCER, conf: conf)
        var logger = logger
        logger[metadataKey: KafkaLogKey.client] = "\(String(cString: rd_kafka_name(handle)))"
        self.logger = logger
        self.flushTimeoutMilliseconds = Int32(flushTimeout.components.seconds * 1000)
        let thread = Thread { [self] in self.pollLoop() }
        thread.name = "kafka-producer-poll"
        thread.start()
    }

    deinit {
        // run()/shutdown() normally stop the thread first; this only guards against leaks in tests.
        rd_kafka_destroy(handle)
    }

    private func pollLoop() {
        while !state.withLockedValue({ $0.stopPolling }) {
            rd_kafka_poll(handle, 50)
        }
        pollThreadDone.signal()
    }

    /// Produces one record and waits for the broker's acknowledgement.
    @discardableResult
    public func send(_ record: OutgoingRecord) async throws(KafkaError) -> DeliveryReport {
        let start = DispatchTime.now()
        let result: Result<DeliveryReport, KafkaError> = await withCheckedContinuation { continuation in
            let box = DeliveryBox(target: .single(continuation))
            if let error = enqueue(record, opaque: Unmanaged.passRetained(box)) {
                continuation.resume(returning: .failure(error))
            }
        }
        switch result {
        case .success(let report):
            KafkaMetrics.produced(record.topic).increment()
            KafkaMetrics.deliveryLatency(record.topic).recordNanoseconds(Int64(DispatchTime.now().uptimeNanoseconds - start.uptimeNanoseconds))
            return report
        case .failure(let error):
            KafkaMetrics.errors("produce").increment()
            throw error
        }
    }

    /// Produces many records and waits for all acknowledgements; reports come back in input order.
    ///
    /// Records are enqueued in input order, so records with the same key keep their order.
    public func sendAll(_ records: [OutgoingRecord]) async throws(KafkaError) -> [DeliveryReport] {
        try await enqueueAll(records).reports()
    }

    /// Enqueues records now, in input order, without waiting: the ticket waits for the
    /// acknowledgements later. A caller reading a stream in order can enqueue each item as it
    /// comes (keeping per-key order) and wait only where an answer depends on durability.
    public func enqueueAll(_ records: [OutgoingRecord]) -> ProduceTicket {
        enqueueAll(records, onFailure: nil)
    }

    /// Enqueues records now, in input order, for callers that will not wait: `onFailure` runs
    /// (on the producer's poll thread) once for each record that is not acknowledged.
    public func enqueueAll(_ records: [OutgoingRecord], onFailure: (@Sendable (KafkaError) -> Void)?) -> ProduceTicket {
        let collector = BatchCollector(count: records.count, onFailure: onFailure)
        for (index, record) in records.enumerated() {
            let box = DeliveryBox(target: .batch(collector, index))
            if let error = enqueue(record, opaque: Unmanaged.passRetained(box)) {
                collector.complete(index, .failure(error))
            }
        }
        return ProduceTicket(collector: collector, topics: records.map(\.topic))
    }

    /// Enqueues a record; on failure releases the opaque box and returns the error.
    private func enqueue(_ record: OutgoingRecord, opaque: Unmanaged<DeliveryBox>) -> KafkaError? {
        if state.withLockedValue({ $0.closed }) {
            opaque.release()
            return KafkaError(.shutdown, message: "producer is shut down")
        }
        var attempts = 0
        while true {
            let error: OpaquePointer? = record.topic.withCString { topic in
                record.value.withUnsafeBytes { value in
                    withKey(record.key) { keyPointer, keyLength in
                        produce(topic: topic, value: value, key: keyPointer, keyLength: keyLength, record: record, opaque: opaque)
                    }
                }
            }
            guard let error else { return nil }
            let code = rd_kafka_error_code(error)
            if code == RD_KAFKA_RESP_ERR__QUEUE_FULL && attempts < 200 {
                // Backpressure: the local queue is full; let the poll thread drain it.
                rd_kafka_error_destroy(error)
                attempts += 1
                usleep(5_000)
                continue
            }
            opaque.release()
            return KafkaError.consuming(error, .produce, context: "produce to \(record.topic)")
        }
    }

    private func produce(
        topic: UnsafePointer<CChar>, value: UnsafeRawBufferPointer, key: UnsafeRawPointer?, keyLength: Int,
        record: OutgoingRecord, opaque: Unmanaged<DeliveryBox>
    ) -> OpaquePointer? {
        let headerNames: [UnsafeMutablePointer<CChar>] = record.headers.map { strdup($0.key)! }
        defer { headerNames.forEach { free($0) } }
        var vus: [rd_kafka_vu_t] = []
        vus.reserveCapacity(6 + record.headers.count)
        var vu = rd_kafka_vu_t()
        vu.vtype = RD_KAFKA_VTYPE_TOPIC
        vu.u.cstr = topic
        vus.append(vu)
        vu = rd_kafka_vu_t()
        vu.vtype = RD_KAFKA_VTYPE_VALUE
        vu.u.mem.ptr = UnsafeMutableRawPointer(mutating: value.baseAddress)
        vu.u.mem.size = value.count
        vus.append(vu)
        if let key {
            vu = rd_kafka_vu_t()
            vu.vtype = RD_KAFKA_VTYPE_KEY
            vu.u.mem.ptr = UnsafeMutableRawPointer(mutating: key)
            vu.u.mem.size = keyLength
            vus.append(vu)
        }
        if let partition = record.partition {
            vu = rd_kafka_vu_t()
            vu.vtype = RD_KAFKA_VTYPE_PARTITION
            vu.u.i32 = partition
            vus.append(vu)
        }
        vu = rd_kafka_vu_t()
        vu.vtype = RD_KAFKA_VTYPE_MSGFLAGS
        vu.u.i = RD_KAFKA_MSG_F_COPY
        vus.append(vu)
        vu = rd_kafka_vu_t()
        vu.vtype = RD_KAFKA_VTYPE_OPAQUE
        vu.u.ptr = opaque.toOpaque()
        vus.append(vu)
        // Header values are copied by librdkafka; keep the arrays alive for the call.
        return withHeaderValues(record.headers) { valuePointers in
            for (index, header) in record.headers.enumerated() {
                var h = rd_kafka_vu_t()
                h.vtype = RD_KAFKA_VTYPE_HEADER
                h.u.header.name = UnsafePointer(headerNames[index])
                h.u.header.val = valuePointers[index]
                h.u.header.size = header.value.count
                vus.append(h)
            }
            return rd_kafka_produceva(handle, vus, vus.count)
        }
    }

    /// Waits for outstanding deliveries (up to the flush timeout), then stops the client.
    public func shutdown() async {
        await runBlocking { self.shutdownBlocking() }
    }

    private func shutdownBlocking() {
        let alreadyClosed = state.withLockedValue { state -> Bool in
            defer { state.closed = true }
            return state.closed
        }
        guard !alreadyClosed else { return }
        let err = rd_kafka_flush(handle, flushTimeoutMilliseconds)
        if err != RD_KAFKA_RESP_ERR_NO_ERROR {
            logger.error("flush incomplete at shutdown", metadata: [KafkaLogKey.error: "\(String(cString: rd_kafka_err2str(err)))"])
        }
        state.withLockedValue { $0.stopPolling = true }
        pollThreadDone.wait()
        // Fail whatever is still queued so no caller waits forever.
        rd_kafka_purge(handle, Int32(RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT))
        rd_kafka_poll(handle, 0)
    }

    /// Runs until graceful shutdown, then flushes and stops.
    public func run() async throws {
        try? await gracefulShutdown()
        await shutdown()
    }

    /// Number of records enqueued locally but not yet acknowledged.
    public var outstanding: Int { Int(rd_kafka_outq_len(handle)) }
}

/// Carries a waiting `send` (or one record of a `sendAll`) through librdkafka's per-message
/// opaque pointer.
final class DeliveryBox: @unchecked Sendable {
    enum Target {
        case single(CheckedContinuation<Result<DeliveryReport, KafkaError>, Never>)
        case batch(BatchCollector, Int)
    }
    let target: Target
    init(target: Target) {
        self.target = target
    }

    func complete(_ result: Result<DeliveryReport, KafkaError>) {
        switch target {
        case .single(let continuation): continuation.resume(returning: result)
        case .batch(let collector, let index): collector.complete(index, result)
        }
    }
}

/// The acknowledgements of records enqueued by ``KafkaProducer/enqueueAll(_:)``.
public struct ProduceTicket: Sendable {
    let collector: BatchCollector
    let topics: [String]

    /// Waits for every acknowledgement; reports come back in input order. Throws the first
    /// failure.
    @discardableResult
    public func reports() async throws(KafkaError) -> [DeliveryReport] {
        let results = await collector.wait()
        var reports: [DeliveryReport] = []
        reports.reserveCapacity(results.count)
        for (topic, result) in zip(topics, results) {
            switch result {
            case .success(let report):
                KafkaMetrics.produced(topic).increment()
                reports.append(report)
            case .failure(let error):
                KafkaMetrics.errors("produce").increment()
                throw error
            }
        }
        return reports
    }
}

/// Gathers the delivery reports of a batch; a waiter is resumed after the last one (at once when
/// it comes later).
final class BatchCollector: @unchecked Sendable {
    private let lock = NIOLock()
    private var results: [Result<DeliveryReport, KafkaError>?]
    private var remaining: Int
    private var finished: [Result<DeliveryReport, KafkaError>]?
    private var continuation: CheckedContinuation<[Result<DeliveryReport, KafkaError>], Never>?
    private let onFailure: (@Sendable (KafkaError) -> Void)?

    init(count: Int, onFailure: (@Sendable (KafkaError) -> Void)? = nil) {
        results = Array(repeating: nil, count: count)
        remaining = count
        self.onFailure = onFailure
        if count == 0 { finished = [] }
    }

    func complete(_ index: Int, _ result: Result<DeliveryReport, KafkaError>) {
        let resume: (CheckedContinuation<[Result<DeliveryReport, KafkaError>], Never>, [Result<DeliveryReport, KafkaError>])? = lock.withLock {
            results[index] = result
            remaining -= 1
            guard remaining == 0 else { return nil }
            let all = results.map { $0! }
            finished = all
            defer { continuation = nil }
            return continuation.map { ($0, all) }
        }
        if let (continuation, all) = resume { continuation.resume(returning: all) }
        if let onFailure, case .failure(let error) = result { onFailure(error) }
    }

    func wait() async -> [Result<DeliveryReport, KafkaError>] {
        await withCheckedContinuation { continuation in
            let ready: [Result<DeliveryReport, KafkaError>]? = lock.withLock {
                if let finished { return finished }
                self.continuation = continuation
                return nil
            }
            if let ready { continuation.resume(returning: ready) }
        }
    }
}

private func withKey<R>(_ key: [UInt8]?, _ body: (UnsafeRawPointer?, Int) -> R) -> R {
    guard let key else { return body(nil, 0) }
    return key.withUnsafeBytes { body($0.baseAddress ?? UnsafeRawPointer(bitPattern: 1), key.count) }
}

private func withHeaderValues<R>(_ headers: [KafkaHeader], _ body: ([UnsafeRawPointer?]) -> R) -> R {
    // Copy into one contiguous buffer so every pointer stays valid during `body`.
    let total = headers.reduce(0) { $0 + $1.value.count }
    let buffer = UnsafeMutableRawPointer.allocate(byteCount: max(total, 1), alignment: 1)
    defer { buffer.deallocate() }
    var pointers: [UnsafeRawPointer?] = []
    var offset = 0
    for header in headers {
        let start = buffer + offset
        header.value.withUnsafeBytes { start.copyMemory(from: $0.baseAddress ?? UnsafeRawPointer(buffer), byteCount: header.value.count) }
        pointers.append(header.value.isEmpty ? nil : UnsafeRawPointer(start))
        offset += header.value.count
    }
    return body(pointers)
}

/// librdkafka's delivery report callback: resumes the waiting `send`.
private func deliveryReportCallback(
    _ handle: OpaquePointer?, _ message: UnsafePointer<rd_kafka_message_t>?, _ opaque: UnsafeMutableRawPointer?
) {
    guard let message, let privatePointer = message.pointee._private else { return }
    let box = Unmanaged<DeliveryBox>.fromOpaque(privatePointer).takeRetainedValue()
    let topic = message.pointee.rkt.map { String(cString: rd_kafka_topic_name($0)) } ?? "?"
    if message.pointee.err == RD_KAFKA_RESP_ERR_NO_ERROR {
        box.complete(.success(DeliveryReport(
            topicPartition: TopicPartition(topic: topic, partition: message.pointee.partition),
            offset: message.pointee.offset)))
    } else {
        box.complete(.failure(.from(message.pointee.err, .delivery, context: "delivery to \(topic)")))
    }
}
