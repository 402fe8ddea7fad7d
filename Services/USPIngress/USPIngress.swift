import BusContracts
import Foundation
import Hummingbird
import HummingbirdCore
import HummingbirdTLS
import HummingbirdWebSocket
import Kafka
import Logging
import MQTT
import NIOSSL
import ServiceLifecycle
import ServiceRuntime
import TwinfleetConfig
import USPCodec
import USPSession

extension ConfigKey {
    static let uspHost = ConfigKey("usp.host", default: "0.0.0.0", "usp-ingress: address the WebSocket endpoint listens on")
    static let uspWSPort = ConfigKey("usp.ws-port", default: "8090", "usp-ingress: port of the WebSocket endpoint agents connect to")
    static let uspWSPath = ConfigKey("usp.ws-path", default: "/usp", "usp-ingress: path of the WebSocket endpoint")
    static let uspEndpointID = ConfigKey("usp.endpoint-id", default: "self::twinfleet-controller", "usp-ingress: this controller's USP endpoint ID (the agents' Controller.EndpointID)")
    static let uspTenant = ConfigKey("usp.tenant", default: "default", "usp-ingress: tenant of the agents this ingress serves")
    static let uspAllowedAgents = ConfigKey("usp.allowed-agents", default: "", "usp-ingress: comma-separated agent endpoint IDs allowed to connect; an entry ending in `*` is a prefix, `*` alone admits all (development). Empty: none")
    static let uspAllowedAgentsFile = ConfigKey("usp.allowed-agents-file", default: "", "usp-ingress: file with more allowed endpoint IDs or prefixes, one per line (`#` comments); read at start")
    static let uspRequestTimeoutMs = ConfigKey("usp.request-timeout-ms", default: "30000", "usp-ingress: how long a request to an agent may go unanswered before its command fails (retriable)")
    static let uspValueChangePaths = ConfigKey("usp.value-change-paths", default: "", "usp-ingress: comma-separated parameters or partial paths every agent is subscribed to for ValueChange")
    static let uspObjectPaths = ConfigKey("usp.object-paths", default: "Device.Hosts.Host.", "usp-ingress: comma-separated tables subscribed to for ObjectCreation and ObjectDeletion (one subscription each); empty for none")
    static let uspSyncPathsPerGet = ConfigKey("usp.sync-paths-per-get", default: "8", "usp-ingress: first-level objects read per Get during a data-model synchronisation")
    static let uspMaxRecordBytes = ConfigKey("usp.max-record-bytes", default: "4194304", "usp-ingress: largest USP record (WebSocket message) accepted")
    static let uspMaxInFlight = ConfigKey("usp.max-in-flight", default: "64", "usp-ingress: most unanswered requests per agent connection")
    static let uspPingSeconds = ConfigKey("usp.ping-seconds", default: "30", "usp-ingress: WebSocket ping interval; a connection without a pong is closed")
    static let uspTLSCertFile = ConfigKey("usp.tls-cert-file", default: "", "usp-ingress: PEM certificate chain; with the key file set, the WebSocket endpoint speaks wss only")
    static let uspTLSKeyFile = ConfigKey("usp.tls-key-file", default: "", "usp-ingress: PEM private key of the WebSocket endpoint")
    static let uspTLSClientCAFile = ConfigKey("usp.tls-client-ca-file", default: "", "usp-ingress: PEM CA certificates of agent certificates; when set, agents must present one naming their endpoint ID (subjectAltName URI urn:bbf:usp:id:<id>)")
    static let uspMQTTURL = ConfigKey("usp.mqtt-url", default: "", "usp-ingress: MQTT broker, `mqtt://host:1883` or `mqtts://host:8883`; empty disables the MQTT MTP")
    static let uspMQTTVersion = ConfigKey("usp.mqtt-version", default: "5", "usp-ingress: MQTT protocol version towards the broker, `5` or `3.1.1`")
    static let uspMQTTUsername = ConfigKey("usp.mqtt-username", default: "", "usp-ingress: username at the broker; empty for none")
    static let uspMQTTPassword = ConfigKey("usp.mqtt-password", default: "", "usp-ingress: password at the broker; never logged")
    static let uspMQTTTopic = ConfigKey("usp.mqtt-topic", default: "usp/controller/twinfleet", "usp-ingress: the controller's topic agents publish to (their Controller.{i}.MTP.{i}.MQTT.Topic)")
    static let uspMQTTShareGroup = ConfigKey("usp.mqtt-share-group", default: "twinfleet", "usp-ingress: shared-subscription group, so the pods split the agents' records; empty subscribes every pod to everything")
    static let uspMQTTCAFile = ConfigKey("usp.mqtt-ca-file", default: "", "usp-ingress: CA certificates (PEM) of the broker; with mqtts")
    static let uspMQTTCertFile = ConfigKey("usp.mqtt-cert-file", default: "", "usp-ingress: client certificate (PEM) for brokers that authenticate by certificate")
    static let uspMQTTKeyFile = ConfigKey("usp.mqtt-key-file", default: "", "usp-ingress: private key (PEM) of the client certificate")
    static let uspEventsTopic = ConfigKey("usp.events-topic", default: Topic.deviceEvents, "usp-ingress: topic device events are published to (changed only by tests)")
    static let uspResultsTopic = ConfigKey("usp.results-topic", default: Topic.commandResults, "usp-ingress: topic command results are published to (changed only by tests)")
}

/// usp-ingress: the TR-369 controller endpoint. Each agent connection runs a `USPAgentSession`;
/// notifications and results go to the bus, commands come from this instance's delivery inbox.
@main
struct USPIngress {
    static func main() async throws {
        let boot = ServiceBootstrap.start(service: "twinfleet-usp-ingress")
        let kafka = boot.require { try KafkaConfiguration(config: $0, clientID: "usp-ingress-\(boot.runtime.instanceID)") }
        let host = boot.require { try $0.string(.uspHost) }
        let port = boot.require { try $0.int(.uspWSPort, in: 0...65535) }
        let maxRecordBytes = boot.require { try $0.int(.uspMaxRecordBytes, in: 1024...(64 << 20)) }
        let policy = boot.require { config -> AgentPolicy in
            var entries = try config.list(.uspAllowedAgents)
            let file = try config.string(.uspAllowedAgentsFile)
            if !file.isEmpty {
                guard let text = try? String(contentsOfFile: file, encoding: .utf8) else {
                    throw ConfigError(key: .uspAllowedAgentsFile, reason: "cannot read \(file)")
                }
                entries += text.split(whereSeparator: \.isNewline).map(String.init)
            }
            return AgentPolicy(entries: entries)
        }
        if policy.admitsNone {
            boot.logger.warning("no agent is allowed to connect: set USP_ALLOWED_AGENTS or USP_ALLOWED_AGENTS_FILE")
        }
        let sessions = boot.require { config in
            USPSessionConfiguration(
                controllerEndpointID: try config.string(.uspEndpointID), instanceID: boot.runtime.instanceID, tenantID: try config.string(.uspTenant),
                requestTimeout: .milliseconds(try config.int(.uspRequestTimeoutMs, in: 100...3_600_000)),
                valueChangePaths: try config.list(.uspValueChangePaths), objectPaths: try config.list(.uspObjectPaths),
                syncPathsPerGet: try config.int(.uspSyncPathsPerGet, in: 1...1000),
                maxInFlight: try config.int(.uspMaxInFlight, in: 1...10_000),
                limits: USPLimits(maxRecordBytes: maxRecordBytes))
        }
        let tls = boot.require { config -> TLSConfiguration? in
            let cert = try config.string(.uspTLSCertFile), key = try config.string(.uspTLSKeyFile)
            if cert.isEmpty && key.isEmpty { return nil }
            guard !cert.isEmpty, !key.isEmpty else { throw ConfigError(key: .uspTLSKeyFile, reason: "TLS needs both USP_TLS_CERT_FILE and USP_TLS_KEY_FILE") }
            var configuration: TLSConfiguration
            do {
                let chain = try NIOSSLCertificate.fromPEMFile(cert).map { NIOSSLCertificateSource.certificate($0) }
                configuration = TLSConfiguration.makeServerConfiguration(certificateChain: chain, privateKey: .privateKey(try NIOSSLPrivateKey(file: key, format: .pem)))
            } catch {
                throw ConfigError(key: .uspTLSCertFile, reason: "cannot load the certificate or key: \(error)")
            }
            let clientCA = try config.string(.uspTLSClientCAFile)
            if !clientCA.isEmpty {
                guard FileManager.default.isReadableFile(atPath: clientCA) else { throw ConfigError(key: .uspTLSClientCAFile, reason: "cannot read \(clientCA)") }
                configuration.trustRoots = .file(clientCA)
                configuration.certificateVerification = .noHostnameVerification
            }
            return configuration
        }
        let topics = boot.require { (events: try $0.string(.uspEventsTopic), results: try $0.string(.uspResultsTopic)) }
        let ping = boot.require { try $0.int(.uspPingSeconds, in: 1...3600) }

        let producer = try KafkaProducer(configuration: kafka, logger: boot.logger)
        let publisher = HubPublisher(producer: producer, logger: boot.logger)
        let hub = AgentHub(configuration: sessions, topics: topics, logger: boot.logger)
        let webSocket = WebSocketMTP(
            hub: hub, publisher: publisher, path: boot.require { try $0.string(.uspWSPath) }, controllerEndpointID: sessions.controllerEndpointID,
            agents: policy, maxRecordBytes: maxRecordBytes, tls: tls != nil, bindsCertificates: tls?.certificateVerification == .noHostnameVerification, logger: boot.logger)
        let router = Router()
        router.get("**") { request, _ in webSocket.refuse(request) }
        let wsConfiguration = WebSocketServerConfiguration(maxFrameSize: maxRecordBytes, autoPing: .enabled(timePeriod: .seconds(ping)))
        let upgrade = HTTPServerBuilder.http1WebSocketUpgrade(configuration: .init(ws: wsConfiguration)) { request, channel, logger async in
            await webSocket.shouldUpgrade(request, channel: channel, logger: logger)
        }
        let server: HTTPServerBuilder = try tls.map { try .tls(upgrade, tlsConfiguration: $0) } ?? upgrade
        let endpoint = Application(
            router: router, server: server, configuration: .init(address: .hostname(host, port: port), serverName: "twinfleet-usp"),
            onServerRunning: { channel in
                boot.logger.info("USP WebSocket endpoint listening", metadata: ["usp.ws.port": "\(channel.localAddress?.port ?? 0)"])
            },
            logger: boot.logger)
        boot.health.register("usp-inbox")
        let inbox = AgentInbox(hub: hub, publisher: publisher, kafka: kafka, instanceID: boot.runtime.instanceID, health: boot.health, logger: boot.logger)
        let operations = OperationsServer.application(runtime: boot.runtime, health: boot.health, registry: boot.registry, logger: boot.logger)
        var services: [any Service] = [producer, inbox, endpoint, operations]
        if let mqtt = boot.require({ try mqttConfiguration($0, instanceID: boot.runtime.instanceID) }) {
            let client = try MQTTClient(configuration: mqtt.client, logger: boot.logger)
            boot.health.register("usp-mqtt")
            services.append(MQTTMTP(
                client: client, hub: hub, publisher: publisher, controllerTopic: mqtt.topic, instanceTopic: mqtt.topic + "-" + boot.runtime.instanceID,
                shareGroup: mqtt.shareGroup, controllerEndpointID: sessions.controllerEndpointID, agents: policy, tls: mqtt.client.tlsCAFile != nil,
                health: boot.health, logger: boot.logger))
        }
        try await boot.run(services)
    }

    /// The MQTT MTP's settings; nil when USP_MQTT_URL is empty.
    static func mqttConfiguration(_ config: ServiceConfig, instanceID: String) throws -> (client: MQTTClient.Configuration, topic: String, shareGroup: String)? {
        let url = try config.string(.uspMQTTURL)
        if url.isEmpty { return nil }
        guard let components = URLComponents(string: url), let scheme = components.scheme, ["mqtt", "mqtts"].contains(scheme),
              let host = components.host, !host.isEmpty else {
            throw ConfigError(key: .uspMQTTURL, reason: "must be mqtt://host[:port] or mqtts://host[:port]")
        }
        let secure = scheme == "mqtts"
        var client = MQTTClient.Configuration(host: host, port: components.port ?? (secure ? 8883 : 1883), clientID: "twinfleet-\(instanceID)")
        switch try config.string(.uspMQTTVersion) {
        case "5": client.version5 = true
        case "3.1.1": client.version5 = false
        default: throw ConfigError(key: .uspMQTTVersion, reason: "must be 5 or 3.1.1")
        }
        let username = try config.string(.uspMQTTUsername)
        if !username.isEmpty {
            client.username = username
            client.password = try config.string(.uspMQTTPassword)
        }
        if secure {
            let ca = try config.string(.uspMQTTCAFile)
            client.tlsCAFile = ca.isEmpty ? "/etc/ssl/certs/ca-certificates.crt" : ca
            let cert = try config.string(.uspMQTTCertFile), key = try config.string(.uspMQTTKeyFile)
            if !cert.isEmpty || !key.isEmpty {
                guard !cert.isEmpty, !key.isEmpty else { throw ConfigError(key: .uspMQTTKeyFile, reason: "a client certificate needs both USP_MQTT_CERT_FILE and USP_MQTT_KEY_FILE") }
                client.tlsCertFile = cert
                client.tlsKeyFile = key
            }
        }
        let topic = try config.string(.uspMQTTTopic)
        guard !topic.isEmpty, !topic.contains("#"), !topic.contains("+") else { throw ConfigError(key: .uspMQTTTopic, reason: "must be a topic name without wildcards") }
        return (client, topic, try config.string(.uspMQTTShareGroup))
    }
}
