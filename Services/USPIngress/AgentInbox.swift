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
        let reader = DeliveryInboxReader(kafka: kafka, instanceID: instanceID, groupPrefix: "usp-ingress", logger: logger)
        try await reader.run(onAssigned: { [health] in health.set("usp-inbox", ready: true) }) { delivery in
            await publisher.forward(hub.deliver(delivery, now: Date()))
        }
        await publisher.perform(hub.endAll(now: Date()))
    }

    private func tick() async {
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            try? await Task.sleep(for: .milliseconds(250))
            await publisher.perform(hub.tick(now: Date()))
        }
    }
}
