import BusContracts
import Foundation
import Logging
import ServiceLifecycle

/// Reads an ingress instance's delivery inbox (`cpe.deliveries.v1.<instance>`) and hands each
/// delivery to `handle`, in order, until graceful shutdown.
///
/// Deliveries only matter to the sessions and connections alive now, so the inbox is read from
/// its end, in a consumer group of this process alone: a restarted instance does not wait for its
/// previous member's session to expire before it gets the inbox.
public struct DeliveryInboxReader: Sendable {
    public let kafka: KafkaConfiguration
    public let instanceID: String
    /// Prefix of the consumer group (`cwmp-ingress`, `usp-ingress`).
    public let groupPrefix: String
    public let logger: Logger

    public init(kafka: KafkaConfiguration, instanceID: String, groupPrefix: String, logger: Logger) {
        self.kafka = kafka
        self.instanceID = instanceID
        self.groupPrefix = groupPrefix
        self.logger = logger
    }

    /// Runs until graceful shutdown. `onAssigned` runs once the inbox is this process's (from
    /// then on a delivery reaches it: the moment to report ready).
    public func run(onAssigned: @escaping @Sendable () -> Void, handle: (Twinfleet_Bus_V1_Delivery) async -> Void) async throws {
        let topic = try Topic.deliveries(instance: instanceID)
        let group = "\(groupPrefix)-\(instanceID)-\(UUID().uuidString.prefix(8).lowercased())"
        let consumer = try KafkaConsumer(
            configuration: kafka, options: .init(groupID: group, topics: [topic]), logger: logger,
            rebalanceHandler: { event in
                guard case .assigned(let partitions) = event else { return [:] }
                onAssigned()
                return Dictionary(uniqueKeysWithValues: partitions.map { ($0, KafkaConsumer.StartOffset.end) })
            })
        try await withGracefulShutdownHandler {
            for await batch in consumer.batches.cancelOnGracefulShutdown() {
                for record in batch {
                    guard let delivery = try? Twinfleet_Bus_V1_Delivery(serializedBytes: record.value) else {
                        logger.warning("undecodable delivery dropped", metadata: [KafkaLogKey.offset: "\(record.offset)"])
                        continue
                    }
                    await handle(delivery)
                }
                consumer.commitAsync(batch.nextOffsets)
            }
        } onGracefulShutdown: {
            consumer.requestShutdown()
        }
        await consumer.shutdown()
    }
}
