import AsyncHTTPClient
import BusContracts
import CWMPSession
import Foundation
import HTTPAuth
import Hummingbird
import HummingbirdCore
import HummingbirdTLS
import NIOSSL
import Kafka
import Logging
import ServiceLifecycle
import ServiceRuntime
import TwinfleetConfig

extension ConfigKey {
    static let cwmpHost = ConfigKey("cwmp.host", default: "0.0.0.0", "cwmp-ingress: address the ACS endpoint listens on")
    static let cwmpPort = ConfigKey("cwmp.port", default: "7547", "cwmp-ingress: port of the ACS endpoint CPEs POST to")
    static let cwmpAuth = ConfigKey("cwmp.auth", default: "digest", "cwmp-ingress: CPE authentication, `digest`, `digest+basic` (Basic allowed too: use with TLS only) or `none` (development)")
    static let cwmpUsername = ConfigKey("cwmp.username", default: "", "cwmp-ingress: the username CPEs authenticate with (one shared credential for now)")
    static let cwmpPassword = ConfigKey("cwmp.password", default: "", "cwmp-ingress: the password CPEs authenticate with; never logged")
    static let cwmpRealm = ConfigKey("cwmp.realm", default: "twinfleet-acs", "cwmp-ingress: Digest realm")
    static let cwmpNonceSecret = ConfigKey("cwmp.nonce-secret", default: "", "cwmp-ingress: secret signing Digest nonces, the same on every pod (32+ random bytes); required with Digest")
    static let cwmpTenant = ConfigKey("cwmp.tenant", default: "default", "cwmp-ingress: tenant of the devices this endpoint serves")
    static let cwmpMaxSessions = ConfigKey("cwmp.max-sessions", default: "10000", "cwmp-ingress: most live sessions; further CPEs get 503 with Retry-After")
    static let cwmpPlanWaitMs = ConfigKey("cwmp.plan-wait-ms", default: "5000", "cwmp-ingress: how long an empty POST waits for the dispatcher's plan before the session ends with 204")
    static let cwmpIdleTimeoutMs = ConfigKey("cwmp.idle-timeout-ms", default: "30000", "cwmp-ingress: a session without a request for this long ends")
    static let cwmpCRUsername = ConfigKey("cwmp.cr-username", default: "", "cwmp-ingress: username of the connection requests sent to CPEs (their ManagementServer.ConnectionRequestUsername)")
    static let cwmpCRPassword = ConfigKey("cwmp.cr-password", default: "", "cwmp-ingress: password of the connection requests sent to CPEs; never logged")
    static let cwmpCRCredentialSecret = ConfigKey("cwmp.cr-credential-secret", default: "", "cwmp-ingress: when set, each CPE has its own connection-request credentials: the username is its device ID (OUI-ProductClass-Serial) and the password is derived from it under this secret (16+ bytes; never logged), as the CPEs were provisioned")
    static let cwmpCRProvision = ConfigKey("cwmp.cr-provision", default: "bootstrap", "cwmp-ingress: `bootstrap` sets each CPE's ManagementServer.ConnectionRequestUsername/Password to the credentials above in its 0 BOOTSTRAP session (before the dispatcher's commands; the password is never published), `off` leaves them to the CPE's own provisioning")
    static let cwmpCRTimeoutMs = ConfigKey("cwmp.cr-timeout-ms", default: "5000", "cwmp-ingress: how long a connection request to a CPE may take")
    static let cwmpCRMaxInFlight = ConfigKey("cwmp.cr-max-in-flight", default: "256", "cwmp-ingress: most connection requests in flight; further ones are dropped (the dispatcher asks again)")
    static let cwmpEventsTopic = ConfigKey("cwmp.events-topic", default: Topic.deviceEvents, "cwmp-ingress: topic device events are published to (changed only by tests)")
    static let cwmpResultsTopic = ConfigKey("cwmp.results-topic", default: Topic.commandResults, "cwmp-ingress: topic command results are published to (changed only by tests)")
    static let cwmpCredentials = ConfigKey("cwmp.credentials", default: "shared", "cwmp-ingress: `shared` (every CPE uses CWMP_USERNAME/CWMP_PASSWORD) or `derived` (each CPE its own username, password = HMAC of it under CWMP_CREDENTIAL_SECRET)")
    static let cwmpCredentialSecret = ConfigKey("cwmp.credential-secret", default: "", "cwmp-ingress: secret the per-device passwords are derived from (16+ bytes; never logged)")
    static let cwmpBindUsername = ConfigKey("cwmp.bind-username", default: "true", "cwmp-ingress: with derived credentials, refuse (fault 8001) an Inform whose serial number or device ID is not the username the CPE authenticated with")
    static let cwmpCredentialPreviousSecrets = ConfigKey("cwmp.credential-previous-secrets", default: "", "cwmp-ingress: comma-separated older secrets still accepted while CPEs are re-provisioned")
    static let cwmpTLSCertFile = ConfigKey("cwmp.tls-cert-file", default: "", "cwmp-ingress: PEM certificate chain of the ACS endpoint; with the key file set, the endpoint speaks HTTPS only")
    static let cwmpTLSKeyFile = ConfigKey("cwmp.tls-key-file", default: "", "cwmp-ingress: PEM private key of the ACS endpoint")
    static let cwmpKeys: [ConfigKey] = [
        .cwmpHost, .cwmpPort, .cwmpAuth, .cwmpUsername, .cwmpPassword, .cwmpRealm, .cwmpNonceSecret, .cwmpTenant,
        .cwmpMaxSessions, .cwmpPlanWaitMs, .cwmpIdleTimeoutMs, .cwmpCRUsername, .cwmpCRPassword, .cwmpCRCredentialSecret, .cwmpCRProvision, .cwmpCRTimeoutMs, .cwmpCRMaxInFlight,
        .cwmpEventsTopic, .cwmpResultsTopic, .cwmpTLSCertFile, .cwmpTLSKeyFile,
        .cwmpCredentials, .cwmpCredentialSecret, .cwmpCredentialPreviousSecrets, .cwmpBindUsername,
    ]
}

/// cwmp-ingress: the TR-069 ACS endpoint. Each CPE session runs in a `CWMPSession`; Informs,
/// reports and results go to the bus, commands come from this instance's delivery inbox.
@main
struct CWMPIngress {
    static func main() async throws {
        let boot = ServiceBootstrap.start(service: "twinfleet-cwmp-ingress")
        let kafka = boot.require { try KafkaConfiguration(config: $0, clientID: "cwmp-ingress-\(boot.runtime.instanceID)") }
        let host = boot.require { try $0.string(.cwmpHost) }
        let port = boot.require { try $0.int(.cwmpPort, in: 0...65535) }
        let tenant = boot.require { try $0.string(.cwmpTenant) }
        let capacity = boot.require { try $0.int(.cwmpMaxSessions, in: 1...1_000_000) }
        var sessions = CWMPSessionConfiguration.default
        sessions.planWait = .milliseconds(boot.require { try $0.int(.cwmpPlanWaitMs, in: 10...600_000) })
        sessions.idleTimeout = .milliseconds(boot.require { try $0.int(.cwmpIdleTimeoutMs, in: 100...3_600_000) })
        let authentication = boot.require { config -> ACSAuthentication in
            let mode = try config.string(.cwmpAuth)
            if mode == "none" { return .none }
            guard mode == "digest" || mode == "digest+basic" else { throw ConfigError(key: .cwmpAuth, reason: "must be digest, digest+basic or none") }
            let secret = try config.string(.cwmpNonceSecret), username = try config.string(.cwmpUsername)
            guard secret.utf8.count >= 16 else { throw ConfigError(key: .cwmpNonceSecret, reason: "needs at least 16 bytes with Digest") }
            let authenticator = ServerAuthenticator(configuration: .init(realm: try config.string(.cwmpRealm), nonceSecret: Array(secret.utf8)))
            switch try config.string(.cwmpCredentials) {
            case "shared": break
            case "derived":
                let previous = try config.list(.cwmpCredentialPreviousSecrets).map { Array($0.utf8) }
                do {
                    let credentials = try DerivedCredentials(secret: Array(try config.string(.cwmpCredentialSecret).utf8), previous: previous)
                    return .derived(authenticator: authenticator, credentials: credentials, basicAllowed: mode == "digest+basic")
                } catch {
                    throw ConfigError(key: .cwmpCredentialSecret, reason: "\(error)")
                }
            default:
                throw ConfigError(key: .cwmpCredentials, reason: "must be shared or derived")
            }
            guard !username.isEmpty else { throw ConfigError(key: .cwmpUsername, reason: "is required with Digest") }
            return .shared(authenticator: authenticator, username: username, password: try config.string(.cwmpPassword), basicAllowed: mode == "digest+basic")
        }

        let crSecret = boot.require { try $0.string(.cwmpCRCredentialSecret) }
        let crCredentials: ConnectionRequester.Credentials = crSecret.isEmpty
            ? .shared(username: boot.require { try $0.string(.cwmpCRUsername) }, password: boot.require { try $0.string(.cwmpCRPassword) })
            : .derived(boot.require { _ in try DerivedCredentials(secret: Array(crSecret.utf8)) })
        let provisioned: (@Sendable (String) -> (username: String, password: String)?)? = boot.require { config in
            switch try config.string(.cwmpCRProvision) {
            case "off": return nil
            case "bootstrap":
                return { deviceID in
                    let pair = crCredentials.pair(deviceID: deviceID, username: "")
                    return pair.username.isEmpty ? nil : pair
                }
            default: throw ConfigError(key: .cwmpCRProvision, reason: "must be bootstrap or off")
            }
        }

        let producer = try KafkaProducer(configuration: kafka, logger: boot.logger)
        let publisher = RecordPublisher(producer: producer)
        let topics = boot.require { (events: try $0.string(.cwmpEventsTopic), results: try $0.string(.cwmpResultsTopic)) }
        let hub = SessionHub(capacity: capacity, configuration: sessions, topics: topics, connectionRequestCredentials: provisioned, logger: boot.logger)
        let tls = boot.require { config -> TLSConfiguration? in
            let cert = try config.string(.cwmpTLSCertFile), key = try config.string(.cwmpTLSKeyFile)
            if cert.isEmpty && key.isEmpty { return nil }
            guard !cert.isEmpty, !key.isEmpty else { throw ConfigError(key: .cwmpTLSKeyFile, reason: "TLS needs both CWMP_TLS_CERT_FILE and CWMP_TLS_KEY_FILE") }
            do {
                let chain = try NIOSSLCertificate.fromPEMFile(cert).map { NIOSSLCertificateSource.certificate($0) }
                return TLSConfiguration.makeServerConfiguration(certificateChain: chain, privateKey: .privateKey(try NIOSSLPrivateKey(file: key, format: .pem)))
            } catch {
                throw ConfigError(key: .cwmpTLSCertFile, reason: "cannot load the certificate or key: \(error)")
            }
        }
        let endpoint = ACSEndpoint(
            hub: hub, publisher: publisher, authentication: authentication, instanceID: boot.runtime.instanceID,
            tenantID: tenant, tls: tls != nil, bindsUsername: boot.require { try $0.bool(.cwmpBindUsername) }, logger: boot.logger)
        let router = Router(context: ACSRequestContext.self)
        endpoint.addRoutes(to: router)
        let server: HTTPServerBuilder = try tls.map { try .tls(.http1(), tlsConfiguration: $0) } ?? .http1()
        let acs = Application(
            router: router, server: server, configuration: .init(address: .hostname(host, port: port), serverName: "twinfleet-acs"),
            onServerRunning: { channel in
                boot.logger.info("ACS endpoint listening", metadata: ["cwmp.port": "\(channel.localAddress?.port ?? 0)"])
            },
            logger: boot.logger)
        // Connection requests: our own client, so that redirects are never followed.
        var clientConfiguration = HTTPClient.Configuration(redirectConfiguration: .disallow)
        clientConfiguration.connectionPool.idleTimeout = .seconds(5)
        let httpClient = HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: clientConfiguration)
        let requester = ConnectionRequester(
            client: httpClient, credentials: crCredentials,
            timeout: .milliseconds(boot.require { try $0.int(.cwmpCRTimeoutMs, in: 100...60_000) }),
            maxInFlight: boot.require { try $0.int(.cwmpCRMaxInFlight, in: 1...100_000) }, logger: boot.logger)
        boot.health.register("cwmp-inbox")
        let inbox = DeliveryInbox(
            hub: hub, publisher: publisher, kafka: kafka, instanceID: boot.runtime.instanceID, connectionRequests: requester,
            health: boot.health, logger: boot.logger)
        let operations = OperationsServer.application(runtime: boot.runtime, health: boot.health, registry: boot.registry, logger: boot.logger)
        do {
            try await boot.run([producer, inbox, acs, operations])
        } catch {
            try? await httpClient.shutdown()
            throw error
        }
        try await httpClient.shutdown()
    }
}
