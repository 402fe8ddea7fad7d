import AsyncHTTPClient
import APIAccess
import BusContracts
import Foundation
import Kafka
import Logging
import Metrics
import NIOCore
import NIOHTTP1
import ServiceLifecycle
import TwinfleetModel

/// What a webhook receiver gets: one event per POST.
struct WebhookEventJSON: Codable, Sendable {
    struct Change: Codable, Sendable {
        var path: String
        var old: TypedValueJSON?
        var new: TypedValueJSON?
    }
    struct Data: Codable, Sendable {
        var instance: String?
        var changes: [Change]?
        var commandId: String?
        var status: String?
        var error: CommandJSON.ErrorJSON?
        var operationId: String?
        var state: String?
        var matched: Int?
        var queued: Int?
    }
    var id: String
    var type: String
    var occurredAt: Date
    var tenantId: String
    var deviceId: String?
    var data: Data
}

/// Turns twin changes, command results and finished bulk operations into queued deliveries for
/// the subscriptions that asked for them (their tenant or an ancestor owns the device).
/// Offsets are committed after the deliveries are stored; a redelivered record finds its
/// deliveries already queued (unique per subscription and event).
final class WebhookFanout: Service, Sendable {
    let kafka: KafkaConfiguration
    let topics: [String]
    let twinChangesTopic: String
    let store: WebhookStore
    let control: ControlStore
    let group: String
    let logger: Logger

    init(kafka: KafkaConfiguration, twinChangesTopic: String, resultsTopic: String, group: String, store: WebhookStore, control: ControlStore, logger: Logger) {
        self.kafka = kafka
        self.twinChangesTopic = twinChangesTopic
        topics = [twinChangesTopic, resultsTopic]
        self.store = store
        self.control = control
        var logger = logger
        logger[metadataKey: "kafka.group"] = "\(group)"
        self.logger = logger
        self.group = group
    }

    /// A subscription with the tenants whose devices it covers (nil: every tenant).
    struct Target: Sendable {
        var row: WebhookRow
        var tenants: Set<String>?
        func covers(_ tenant: String) -> Bool { tenants?.contains(tenant) ?? true }
        func wants(_ type: WebhookEventType) -> Bool { row.events.contains(type.rawValue) }
    }

    func targets() async throws -> [Target] {
        var result: [Target] = []
        for row in try await store.subscriptions(in: nil, activeOnly: true, logger: logger) {
            let tenants = row.tenantID == control.rootTenant ? nil : Set(try await control.subtree(of: row.tenantID, logger: logger))
            result.append(Target(row: row, tenants: tenants))
        }
        return result
    }

    func run() async throws {
        let consumer = try KafkaConsumer(configuration: kafka, options: .init(groupID: group, topics: topics), logger: logger)
        try await withGracefulShutdownHandler {
            try await withThrowingDiscardingTaskGroup { group in
                group.addTask { try await self.consume(consumer) }
                group.addTask { try await self.watchBulkOperations() }
            }
        } onGracefulShutdown: {
            consumer.requestShutdown()
        }
        await consumer.shutdown()
    }

    private func consume(_ consumer: KafkaConsumer) async throws {
        var cached: (targets: [Target], at: ContinuousClock.Instant)?
        for await batch in consumer.batches {
            if cached == nil || ContinuousClock.now - cached!.at > .seconds(2) {
                cached = (try await retrying { try await self.targets() }, .now)
            }
            let targets = cached!.targets
            var deliveries: [(subscription: String, eventID: String, type: String, payload: [UInt8])] = []
            var offsets: [TopicPartition: Int64] = [:]
            for record in batch {
                offsets[TopicPartition(topic: record.topic, partition: record.partition)] = record.offset + 1
                guard !targets.isEmpty else { continue }
                for (target, event) in events(in: record, targets: targets) {
                    deliveries.append((target.row.id, event.id, event.type, try APIJSON.bytes(event)))
                }
            }
            try await retrying { try await self.store.enqueue(deliveries, logger: self.logger) }
            if !deliveries.isEmpty { Counter(label: "twinfleet_api_webhook_events_total").increment(by: deliveries.count) }
            try? consumer.commit(offsets)
        }
    }

    /// Retries store work until it succeeds or the service stops (a database restart must not lose events).
    private func retrying<T>(_ work: () async throws -> T) async throws -> T {
        var delay = Duration.milliseconds(200)
        while true {
            do { return try await work() } catch {
                if Task.isCancelled { throw error }
                logger.warning("webhook fan-out failed; retrying", metadata: ["error": "\(String(reflecting: error))"])
                try await Task.sleep(for: delay)
                delay = min(delay * 2, .seconds(10))
            }
        }
    }

    func events(in record: ConsumedRecord, targets: [Target]) -> [(Target, WebhookEventJSON)] {
        var result: [(Target, WebhookEventJSON)] = []
        if record.topic == twinChangesTopic {
            guard let change = try? Twinfleet_Bus_V1_TwinChange(serializedBytes: record.value) else { return [] }
            let at = Date(unixMicroseconds: change.committedAtUs)
            let base = "twin:\(change.deviceID):\(change.twinVersion)"
            for target in targets where target.covers(change.tenantID) {
                if change.hasPresence {
                    let type: WebhookEventType = change.presence.online ? .deviceOnline : .deviceOffline
                    if target.wants(type) {
                        result.append((target, WebhookEventJSON(id: "\(base):\(type.rawValue)", type: type.rawValue, occurredAt: at, tenantId: change.tenantID,
                                                                deviceId: change.deviceID, data: .init(instance: change.presence.instanceID.isEmpty ? nil : change.presence.instanceID))))
                    }
                }
                if target.wants(.parameterChanged) {
                    let changes = change.parameterChanges.filter { parameter in
                        target.row.paths.isEmpty || target.row.paths.contains { $0.hasSuffix(".") ? parameter.path.hasPrefix($0) : parameter.path == $0 }
                    }
                    if !changes.isEmpty {
                        result.append((target, WebhookEventJSON(
                            id: "\(base):parameter.changed", type: WebhookEventType.parameterChanged.rawValue, occurredAt: at, tenantId: change.tenantID,
                            deviceId: change.deviceID, data: .init(changes: changes.map { parameter in
                                WebhookEventJSON.Change(
                                    path: parameter.path,
                                    old: parameter.hasOldValue ? (try? ParameterValue(parameter.oldValue)).map(TypedValueJSON.init) : nil,
                                    new: parameter.hasNewValue ? (try? ParameterValue(parameter.newValue)).map(TypedValueJSON.init) : nil)
                            }))))
                    }
                }
            }
        } else {
            guard let outcome = try? Twinfleet_Bus_V1_CommandResult(serializedBytes: record.value) else { return [] }
            let status: String
            switch outcome.status {
            case .succeeded: status = "succeeded"
            case .expired: status = "expired"
            case .cancelled: status = "cancelled"
            case .failed where !outcome.error.retriable: status = "failed"
            default: return []
            }
            let event = WebhookEventJSON(
                id: "command:\(outcome.commandID):\(status)", type: WebhookEventType.commandCompleted.rawValue,
                occurredAt: outcome.occurredAtUs > 0 ? Date(unixMicroseconds: outcome.occurredAtUs) : Date(), tenantId: outcome.tenantID,
                deviceId: outcome.deviceID,
                data: .init(commandId: outcome.commandID, status: status,
                            error: outcome.hasError && outcome.error.code != 0 ? .init(code: Int(outcome.error.code), message: outcome.error.message) : nil))
            for target in targets where target.covers(outcome.tenantID) && target.wants(.commandCompleted) { result.append((target, event)) }
        }
        return result
    }

    /// Bulk operations that finished (completed or cancelled), polled from the control database.
    private func watchBulkOperations() async throws {
        while !Task.isCancelled {
            do {
                let finished = try await store.finishedBulkOperations(logger: logger)
                if !finished.isEmpty {
                    let targets = try await self.targets()
                    var deliveries: [(subscription: String, eventID: String, type: String, payload: [UInt8])] = []
                    for operation in finished {
                        let event = WebhookEventJSON(
                            id: "bulk:\(operation.id):\(operation.state)", type: WebhookEventType.bulkOperationFinished.rawValue,
                            occurredAt: operation.finishedAt, tenantId: operation.tenant, deviceId: nil,
                            data: .init(operationId: operation.id, state: operation.state, matched: operation.matched, queued: operation.queued))
                        for target in targets where target.covers(operation.tenant) && target.wants(.bulkOperationFinished) {
                            deliveries.append((target.row.id, event.id, event.type, try APIJSON.bytes(event)))
                        }
                    }
                    try await store.enqueue(deliveries, logger: logger)
                    try await store.advanceBulkCursor(to: finished.map(\.finishedAt).max()!, logger: logger)
                }
            } catch {
                logger.warning("bulk-operation watch failed", metadata: ["error": "\(String(reflecting: error))"])
            }
            try await Task.sleep(for: .seconds(1))
        }
    }
}

/// POSTs queued deliveries with an HMAC signature; retries with exponential backoff until a
/// 2xx, or gives up after `maxAttempts`.
struct WebhookSender: Service {
    let store: WebhookStore
    let client: HTTPClient
    let retryBase: TimeInterval
    let retryCap: TimeInterval
    let maxAttempts: Int
    let timeout: TimeAmount
    let logger: Logger

    func run() async throws {
        try await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                var claimed: [(DeliveryRow, url: String, secret: String)] = []
                do { claimed = try await store.claim(limit: 50, lease: 60, logger: logger) } catch {
                    logger.warning("claiming webhook deliveries failed", metadata: ["error": "\(String(reflecting: error))"])
                }
                await withTaskGroup(of: Void.self) { group in
                    for (delivery, url, secret) in claimed { group.addTask { await self.send(delivery, url: url, secret: secret) } }
                }
                if claimed.isEmpty { try await Task.sleep(for: .milliseconds(250)) }
            }
        }
    }

    func send(_ delivery: DeliveryRow, url: String, secret: String) async {
        var request = HTTPClientRequest(url: url)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        request.headers.add(name: "User-Agent", value: "Twinfleet-Webhooks/1")
        request.headers.add(name: "X-Twinfleet-Event", value: delivery.eventType)
        request.headers.add(name: "X-Twinfleet-Delivery", value: delivery.eventID)
        request.headers.add(name: "X-Twinfleet-Signature", value: WebhookSignature.header(body: delivery.payload, secret: secret, time: Date()))
        request.body = .bytes(ByteBuffer(bytes: delivery.payload))
        var status: Int?
        var failure = ""
        do {
            let response = try await client.execute(request, timeout: timeout)
            status = Int(response.status.code)
            _ = try? await response.body.collect(upTo: 64 * 1024)
            if (200..<300).contains(status!) {
                Counter(label: "twinfleet_api_webhook_deliveries_total", dimensions: [("outcome", "delivered")]).increment()
                try? await store.delivered(delivery.id, status: status!, logger: logger)
                return
            }
            failure = "HTTP \(status!)"
        } catch {
            failure = "\(error)"
        }
        let retry: TimeInterval? = delivery.attempts >= maxAttempts ? nil : min(retryCap, retryBase * pow(2, Double(delivery.attempts - 1)))
        Counter(label: "twinfleet_api_webhook_deliveries_total", dimensions: [("outcome", retry == nil ? "failed" : "retry")]).increment()
        logger.info("webhook delivery failed", metadata: ["webhook.delivery": "\(delivery.id)", "error": "\(failure)", "attempt": "\(delivery.attempts)"])
        try? await store.attemptFailed(delivery.id, status: status, error: String(failure.prefix(500)), retryAfter: retry, logger: logger)
    }
}
