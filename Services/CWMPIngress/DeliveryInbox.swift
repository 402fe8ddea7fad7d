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
        let reader = DeliveryInboxReader(kafka: kafka, instanceID: instanceID, groupPrefix: "cwmp-ingress", logger: logger)
        try await reader.run(onAssigned: { [health] in health.set("cwmp-inbox", ready: true) }) { delivery in
            if case .connectionRequest(let request)? = delivery.body {
                // For an idle device; one already in a session here gets its plan there.
                if await hub.hasSession(ofDevice: delivery.deviceID) {
                    logger.debug("connection request for a device in session skipped", metadata: ["cpe.device.id": "\(delivery.deviceID)"])
                } else {
                    connectionRequests.start(request, deviceID: delivery.deviceID)
                }
                return
            }
            publisher.deliverInBackground(await hub.receive(delivery, now: Date()), logger: logger)
        }
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
