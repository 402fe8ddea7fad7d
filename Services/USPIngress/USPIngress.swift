import BusContracts
import Foundation
import Hummingbird
import HummingbirdCore
import HummingbirdTLS
import HummingbirdWebSocket
import Kafka
import Logging
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
    static let uspObjectPaths = ConfigKey("usp.object-paths", default: "Device.", "usp-ingress: comma-separated partial paths subscribed to for ObjectCreation and ObjectDeletion; empty for none")
    static let uspSyncPathsPerGet = ConfigKey("usp.sync-paths-per-get", default: "8", "usp-ingress: first-level objects read per Get during a data-model synchronisation")
    static let uspMaxRecordBytes = ConfigKey("usp.max-record-bytes", default: "4194304", "usp-ingress: largest USP record (WebSocket message) accepted")
    static let uspMaxInFlight = ConfigKey("usp.max-in-flight", default: "64", "usp-ingress: most unanswered requests per agent connection")
    static let uspPingSeconds = ConfigKey("usp.ping-seconds", default: "30", "usp-ingress: WebSocket ping interval; a connection without a pong is closed")
    static let uspTLSCertFile = ConfigKey("usp.tls-cert-file", default: "", "usp-ingress: PEM certificate chain; with the key file set, the WebSocket endpoint speaks wss only")
    static let uspTLSKeyFile = ConfigKey("usp.tls-key-file", default: "", "usp-ingress: PEM private key of the WebSocket endpoint")
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
            do {
                let chain = try NIOSSLCertificate.fromPEMFile(cert).map { NIOSSLCertificateSource.certificate($0) }
                return TLSConfiguration.makeServerConfiguration(certificateChain: chain, privateKey: .privateKey(try NIOSSLPrivateKey(file: key, format: .pem)))
            } catch {
                throw ConfigError(key: .uspTLSCertFile, reason: "cannot load the certificate or key: \(error)")
            }
        }
        let topics = boot.require { (events: try $0.string(.uspEventsTopic), results: try $0.string(.uspResultsTopic)) }
        let ping = boot.require { try $0.int(.uspPingSeconds, in: 1...3600) }

        let producer = try KafkaProducer(configuration: kafka, logger: boot.logger)
        let publisher = HubPublisher(producer: producer, logger: boot.logger)
        let hub = AgentHub(configuration: sessions, topics: topics, logger: boot.logger)
        let webSocket = WebSocketMTP(
            hub: hub, publisher: publisher, path: boot.require { try $0.string(.uspWSPath) }, controllerEndpointID: sessions.controllerEndpointID,
            agents: policy, maxRecordBytes: maxRecordBytes, tls: tls != nil, logger: boot.logger)
        let router = Router()
        router.get("**") { request, _ in webSocket.refuse(request) }
        let wsConfiguration = WebSocketServerConfiguration(maxFrameSize: maxRecordBytes, autoPing: .enabled(timePeriod: .seconds(ping)))
        let upgrade = HTTPServerBuilder.http1WebSocketUpgrade(configuration: .init(ws: wsConfiguration)) { request, channel, logger in
            webSocket.shouldUpgrade(request, channel: channel, logger: logger)
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
        try await boot.run([producer, inbox, endpoint, operations])
    }
}
