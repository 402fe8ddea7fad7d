import BusContracts
import Foundation
import Logging
import Metrics
import MQTT
import ServiceLifecycle
import ServiceRuntime
import USPCodec
import USPSession

/// The MQTT MTP (TR-369 R-MQTT): the controller is a client of the broker. It listens on its
/// topic through a shared subscription (`$share/<group>/…`), so several ingress pods split the
/// agents' records, and on a topic of its own instance, which it names as the Response Topic
/// of every request so answers come back to the pod that asked.
///
/// An agent's session on this pod starts with its MQTTConnectRecord (sent whenever it connects
/// to the broker) or its Boot! event; replies go to the topic the record names, else the
/// Response Topic (MQTT 5) or the `/reply-to=` suffix (MQTT 3.1.1). A record from an agent held
/// elsewhere (a shared subscription may bring any agent's notification here) is handled without
/// a session: notifications are published and acknowledged.
struct MQTTMTP: Service {
    let client: MQTTClient
    let hub: AgentHub
    let publisher: HubPublisher
    let controllerTopic: String
    let instanceTopic: String
    let shareGroup: String
    let controllerEndpointID: String
    let agents: AgentPolicy
    let tls: Bool
    let health: HealthState
    let logger: Logger

    static let contentType = "usp.msg"

    func run() async throws {
        let listen = shareGroup.isEmpty ? controllerTopic : "$share/\(shareGroup)/\(controllerTopic)"
        // `<topic>/#` also matches `<topic>` itself; a second subscription would deliver twice.
        try client.subscribe(listen + "/#")
        try client.subscribe(instanceTopic)
        try client.start()
        // One reader for every agent: it never waits for the broker's acknowledgements (one
        // agent's Boot! must not hold up the next agent's records); the answers wait in the lane.
        let lane = SendLane(publisher: publisher)
        await withGracefulShutdownHandler {
            for await event in client.events {
                switch event {
                case .connected:
                    logger.info("MQTT broker connected", metadata: ["usp.mqtt.topic": "\(controllerTopic)"])
                    Counter(label: "twinfleet_usp_mqtt_connects_total").increment()
                    health.set("usp-mqtt", ready: true)
                case .disconnected(let reason):
                    // Agents stay connected to the broker: their sessions here stay too; what is
                    // in flight may time out, and libmosquitto reconnects with backoff.
                    logger.warning("MQTT broker connection lost", metadata: ["reason": "\(reason)"])
                    health.set("usp-mqtt", ready: false)
                case .message(let message):
                    receive(message, lane: lane)
                }
            }
        } onGracefulShutdown: {
            client.stop()
        }
        await lane.drain()
        await publisher.perform(hub.endAll(now: Date()))
    }

    private func receive(_ message: MQTTClient.Message, lane: SendLane) {
        // Only the sender and the record type are needed here; the session checks the rest.
        guard let record = try? USPRecordDecoder(controllerEndpointID: controllerEndpointID).decode(message.payload) else {
            Counter(label: "twinfleet_usp_mqtt_records_dropped_total", dimensions: [("reason", "unreadable")]).increment()
            return
        }
        guard agents.allows(record.fromID) else {
            Counter(label: "twinfleet_usp_mqtt_records_dropped_total", dimensions: [("reason", "unknown-agent")]).increment()
            logger.info("MQTT record from an unknown agent dropped", metadata: ["usp.endpoint.id": "\(record.fromID)"])
            return
        }
        var replyTopic = message.responseTopic ?? Self.replyTo(in: message.topic, under: controllerTopic)
        if case .mqttConnect(_, let subscribed) = record.content, !subscribed.isEmpty { replyTopic = subscribed }
        guard let replyTopic, !replyTopic.isEmpty else {
            Counter(label: "twinfleet_usp_mqtt_records_dropped_total", dimensions: [("reason", "no-reply-topic")]).increment()
            logger.info("MQTT record without a topic to answer on dropped", metadata: ["usp.endpoint.id": "\(record.fromID)"])
            return
        }
        let link = MQTTLink(client: client, topic: replyTopic, responseTopic: instanceTopic)
        let now = Date()
        if case .mqttConnect = record.content {
            publisher.submit(hub.connect(connection(record.fromID), link: link, now: now), lane: lane)
            return
        }
        if let connectionID = hub.connectionID(ofEndpoint: record.fromID) {
            publisher.submit(hub.receive(message.payload, on: connectionID, now: now), lane: lane)
        } else {
            publisher.submit(hub.receiveUnattached(message.payload, connection: connection(record.fromID), link: link, now: now), lane: lane)
        }
    }

    private func connection(_ endpointID: String) -> USPConnection {
        USPConnection(connectionID: UUID().uuidString.lowercased(), endpointID: endpointID, mtp: .mqtt, remoteAddress: "", tls: tls)
    }

    /// The agent's topic from an MQTT 3.1.1 `…/reply-to=<topic>` suffix of `topic`.
    static func replyTo(in topic: String, under controllerTopic: String) -> String? {
        let prefix = controllerTopic + "/reply-to="
        guard topic.hasPrefix(prefix) else { return nil }
        let reply = String(topic.dropFirst(prefix.count))
        return reply.isEmpty ? nil : reply
    }
}

/// An agent reached through the broker: records are published to its topic with this
/// instance's topic as the Response Topic.
struct MQTTLink: AgentLink {
    let client: MQTTClient
    let topic: String
    let responseTopic: String

    func send(_ record: [UInt8]) async throws {
        try client.publish(topic, payload: record, qos: 1, responseTopic: responseTopic, contentType: MQTTMTP.contentType)
    }

    /// MQTT has no connection per agent to close.
    func close() async {}

    var isConnection: Bool { false }
}
