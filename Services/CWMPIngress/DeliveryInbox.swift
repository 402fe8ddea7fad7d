import BusContracts
import Foundation
import Kafka
import Logging
import ServiceLifecycle
import ServiceRuntime

/// Reads this instance's delivery inbox (`cpe.deliveries.v1.<instance>`) into the live sessions,
/// and ticks the sessions' deadlines. A delivery for a session that has ended is dropped: the
/// dispatcher plans again on the device's next session.
struct DeliveryInbox: Service {
    let hub: SessionHub
    let publisher: RecordPublisher
    let kafka: KafkaConfiguration
    let instanceID: String
    let connectionRequests: ConnectionRequester
    let health: HealthState
    let logger: Logger

    func run() async throws {
        try await withThrowingDiscardingTaskGroup { group in
            group.addTask { try await consume() }
            group.addTask { await tick() }
        }
    }

    private func consume() async throws {
        let topic = try Topic.deliveries(instance: instanceID)
        // A group of this process alone: a restart need not wait for the previous member's
        // session to expire before it gets the inbox (it starts at the end anyway).
        // Deliveries only matter to sessions alive now: a restarted instance starts at the end.
        let consumer = try KafkaConsumer(
            configuration: kafka, options: .init(groupID: "cwmp-ingress-\(instanceID)-\(UUID().uuidString.prefix(8).lowercased())", topics: [topic]), logger: logger,
            rebalanceHandler: { [health] event in
                guard case .assigned(let partitions) = event else { return [:] }
                // Ready once the inbox is ours: a delivery sent from now on reaches its session.
                health.set("cwmp-inbox", ready: true)
                return Dictionary(uniqueKeysWithValues: partitions.map { ($0, KafkaConsumer.StartOffset.end) })
            })
        try await withGracefulShutdownHandler {
            for await batch in consumer.batches.cancelOnGracefulShutdown() {
                for record in batch {
                    guard let delivery = try? Twinfleet_Bus_V1_Delivery(serializedBytes: record.value) else {
                        logger.warning("undecodable delivery dropped", metadata: [KafkaLogKey.offset: "\(record.offset)"])
                        continue
                    }
                    if case .connectionRequest(let request)? = delivery.body {
                        // For an idle device; one already in a session here gets its plan there.
                        if await hub.hasSession(ofDevice: delivery.deviceID) {
                            logger.debug("connection request for a device in session skipped", metadata: ["cpe.device.id": "\(delivery.deviceID)"])
                        } else {
                            connectionRequests.start(request, deviceID: delivery.deviceID)
                        }
                        continue
                    }
                    let outcome = await hub.receive(delivery, now: Date())
                    do { try await publisher.deliver(outcome) } catch {
                        logger.error("publishing after a delivery failed", metadata: ["error": "\(error)"])
                    }
                }
                consumer.commitAsync(batch.nextOffsets)
            }
        } onGracefulShutdown: {
            consumer.requestShutdown()
        }
        await consumer.shutdown()
        // Sessions still open get their commands reported NOT_DELIVERED.
        try? await publisher.deliver(await hub.endAll(now: Date()))
    }

    private func tick() async {
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            try? await Task.sleep(for: .milliseconds(250))
            let outcome = await hub.tick(now: Date())
            do { try await publisher.deliver(outcome) } catch {
                logger.error("publishing after a timeout failed", metadata: ["error": "\(error)"])
            }
        }
    }
}
