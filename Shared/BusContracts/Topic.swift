/// The names of the Kafka topics Twinfleet services talk through. Every topic is keyed by the
/// device ID; names carry their contract version (`.v1`), and a breaking change gets new topics.
public enum Topic {
    /// `cpe.device-events.v1`: ``Twinfleet_Bus_V1_DeviceEvent`` from the ingresses.
    public static let deviceEvents = "cpe.device-events.v1"
    /// `cpe.commands.v1`: ``Twinfleet_Bus_V1_CommandEnvelope`` (requested / cancelled).
    public static let commands = "cpe.commands.v1"
    /// `cpe.command-results.v1`: ``Twinfleet_Bus_V1_CommandResult`` from the ingresses.
    public static let commandResults = "cpe.command-results.v1"
    /// `cpe.twin-changes.v1`: ``Twinfleet_Bus_V1_TwinChange`` from twin-store after each commit.
    public static let twinChanges = "cpe.twin-changes.v1"
    /// `cpe.anomalies.v1`: ``Twinfleet_Bus_V1_Anomaly`` from analytics.
    public static let anomalies = "cpe.anomalies.v1"
    /// `cpe.dead-letter.v1`: ``Twinfleet_Bus_V1_DeadLetter`` from any consumer.
    public static let deadLetter = "cpe.dead-letter.v1"
    /// Prefix of the per-instance inbox topics: `cpe.deliveries.v1.`.
    public static let deliveriesPrefix = "cpe.deliveries.v1."

    /// Every topic that does not depend on an instance, in pipeline order.
    public static let fixed: [String] = [deviceEvents, commands, commandResults, twinChanges, anomalies, deadLetter]

    /// Longest instance ID: Kafka topic names are at most 249 characters.
    public static let maxInstanceIDLength = 249 - deliveriesPrefix.utf8.count

    /// The inbox of one ingress instance, `cpe.deliveries.v1.<instance>`
    /// (``Twinfleet_Bus_V1_Delivery`` from the dispatcher). `instance` must match `[a-z0-9-]+`,
    /// as StatefulSet pod names such as `cwmp-ingress-0` do.
    public static func deliveries(instance: String) throws(ContractError) -> String {
        if instance.isEmpty {
            throw ContractError(.invalidInstanceID, "instance ID is empty")
        }
        if instance.utf8.count > maxInstanceIDLength {
            throw ContractError(.invalidInstanceID, "instance ID is \(instance.utf8.count) bytes long, more than \(maxInstanceIDLength)")
        }
        let allowed: (UInt8) -> Bool = { byte in
            (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte) || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) || byte == UInt8(ascii: "-")
        }
        if let bad = instance.utf8.firstIndex(where: { !allowed($0) }) {
            let offset = instance.utf8.distance(from: instance.utf8.startIndex, to: bad)
            throw ContractError(.invalidInstanceID, "instance ID \(instance.debugDescription) has a character other than a-z, 0-9 or '-' at byte \(offset)")
        }
        return deliveriesPrefix + instance
    }

    /// The instance ID of an inbox topic name, or nil when `topic` is not a valid inbox.
    public static func instance(ofDeliveries topic: String) -> String? {
        guard topic.hasPrefix(deliveriesPrefix) else { return nil }
        let instance = String(topic.dropFirst(deliveriesPrefix.count))
        return (try? deliveries(instance: instance)) == topic ? instance : nil
    }

    /// Every topic of a deployment: ``fixed`` followed by the inbox of each instance (duplicates
    /// removed, order kept). Throws when an instance ID is invalid.
    public static func all(instances: [String]) throws(ContractError) -> [String] {
        var names = fixed
        for instance in instances {
            let inbox = try deliveries(instance: instance)
            if !names.contains(inbox) { names.append(inbox) }
        }
        return names
    }
}
