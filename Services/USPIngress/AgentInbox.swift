import BusContracts
import Foundation
import Kafka
import Logging
import ServiceLifecycle
import ServiceRuntime

/// Reads this instance's delivery inbox (`cpe.deliveries.v1.<instance>`) into the live agent
/// connections, and ticks their request timeouts. A delivery for a connection that is not here
/// goes back NOT_DELIVERED, so the dispatcher routes it again.
struct AgentInbox: Service {
    let hub: AgentHub
    let publisher: HubPublisher
    let kafka: KafkaConfiguration
    let instanceID: String
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
        // Deliveries only matter to connections alive now: a restarted instance starts at the end.
        let consumer = try KafkaConsumer(
            configuration: kafka, options: .init(groupID: "usp-ingress-\(instanceID)-\(UUID().uuidString.prefix(8).lowercased())", topics: [topic]), logger: logger,
            rebalanceHandler: { [health] event in
                guard case .assigned(let partitions) = event else { return [:] }
                health.set("usp-inbox", ready: true)
                return Dictionary(uniqueKeysWithValues: partitions.map { ($0, KafkaConsumer.StartOffset.end) })
            })
        try await withGracefulShutdownHandler {
            for await batch in consumer.batches.cancelOnGracefulShutdown() {
                for record in batch {
                    guard let delivery = try? Twinfleet_Bus_V1_Delivery(serializedBytes: record.value) else {
                        logger.warning("undecodable delivery dropped", metadata: [KafkaLogKey.offset: "\(record.offset)"])
                        continue
                    }
                    await publisher.perform(hub.deliver(delivery, now: Date()))
                }
                consumer.commitAsync(batch.nextOffsets)
            }
        } onGracefulShutdown: {
            consumer.requestShutdown()
        }
        await consumer.shutdown()
        await publisher.perform(hub.endAll(now: Date()))
    }

    private func tick() async {
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            try? await Task.sleep(for: .milliseconds(250))
            await publisher.perform(hub.tick(now: Date()))
        }
    }
}
