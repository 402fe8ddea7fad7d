import AsyncHTTPClient
import APIAccess
import BusContracts
import DataModel
import Dispatcher
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdCore
import HummingbirdTLS
import Kafka
import Logging
import NIOSSL
import ServiceLifecycle
import Synchronization
import ServiceRuntime
import ShardedPostgres
import Twin
import TwinfleetConfig

extension ConfigKey {
    static let apiHost = ConfigKey("api.host", default: "127.0.0.1", "api: address of the public REST API; `0.0.0.0` in containers")
    static let apiPort = ConfigKey("api.port", default: "8000", "api: port of the public REST API")
    static let apiRootTenant = ConfigKey("api.root-tenant", default: "default", "api: the top tenant, created at start; its users see every device whatever its tenant")
    static let apiBootstrapKey = ConfigKey("api.bootstrap-key", default: "", "api: an API key (`tfk_<16 hex>_<secret>`) installed at start as a tenant-admin of the root tenant; empty for none")
    static let apiJWTSecret = ConfigKey("api.jwt-secret", default: "", "api: HS256 secret (32+ bytes) shared with the identity provider that signs bearer tokens; empty disables tokens")
    static let apiJWTIssuer = ConfigKey("api.jwt-issuer", default: "", "api: required `iss` of bearer tokens; empty: not checked")
    static let apiJWTAudience = ConfigKey("api.jwt-audience", default: "", "api: required `aud` of bearer tokens; empty: not checked")
    static let apiRatePerSecond = ConfigKey("api.rate-per-second", default: "50", "api: requests per second per API key (or token user) on each API pod")
    static let apiRateBurst = ConfigKey("api.rate-burst", default: "100", "api: requests a caller may send at once before the rate applies")
    static let apiMaxBodyBytes = ConfigKey("api.max-body-bytes", default: "1048576", "api: largest request body; larger ones get 413")
    static let apiDataModelDir = ConfigKey("api.data-model-dir", default: "", "api: directory of the Broadband Forum data-model XML files (tr-181-2-19-1-*-full.xml, tr-098, tr-106-types) that commands are checked against; required")
    static let apiCommandsTopic = ConfigKey("api.commands-topic", default: Topic.commands, "api: topic commands are queued on (changed only by tests)")
    static let apiIdempotencyHours = ConfigKey("api.idempotency-hours", default: "24", "api: hours an Idempotency-Key and its response are kept")
    static let apiTLSCertFile = ConfigKey("api.tls-cert-file", default: "", "api: PEM certificate chain; with the key file set, the API speaks HTTPS only")
    static let apiTLSKeyFile = ConfigKey("api.tls-key-file", default: "", "api: PEM private key of the API")
    static let apiWebhookGroup = ConfigKey("api.webhook-group", default: "api-webhooks", "api: consumer group of the webhook fan-out (twin changes and command results)")
    static let apiWebhookRetryBaseSeconds = ConfigKey("api.webhook-retry-base-seconds", default: "5", "api: wait before the first webhook retry, doubled per failed attempt")
    static let apiWebhookRetryCapSeconds = ConfigKey("api.webhook-retry-cap-seconds", default: "3600", "api: longest wait between webhook retries")
    static let apiWebhookMaxAttempts = ConfigKey("api.webhook-max-attempts", default: "12", "api: attempts after which a webhook delivery is given up (state failed)")
    static let apiWebhookTimeoutMs = ConfigKey("api.webhook-timeout-ms", default: "10000", "api: time a webhook receiver has to answer")
    static let apiWebhookAllowPrivate = ConfigKey("api.webhook-allow-private", default: "false", "api: allow webhook URLs on loopback, link-local and private addresses (development, tests)")
    static let apiTwinChangesTopic = ConfigKey("api.twin-changes-topic", default: Topic.twinChanges, "api: topic of twin changes for webhooks (changed only by tests)")
    static let apiResultsTopic = ConfigKey("api.results-topic", default: Topic.commandResults, "api: topic of command results for webhooks (changed only by tests)")
    static let apiKeys: [ConfigKey] = [
        .apiHost, .apiPort, .apiRootTenant, .apiBootstrapKey, .apiJWTSecret, .apiJWTIssuer, .apiJWTAudience, .apiRatePerSecond, .apiRateBurst,
        .apiMaxBodyBytes, .apiDataModelDir, .apiCommandsTopic, .apiIdempotencyHours, .apiTLSCertFile, .apiTLSKeyFile, .apiWebhookGroup,
        .apiWebhookRetryBaseSeconds, .apiWebhookRetryCapSeconds, .apiWebhookMaxAttempts, .apiWebhookTimeoutMs, .apiWebhookAllowPrivate,
        .apiTwinChangesTopic, .apiResultsTopic,
    ]
}

/// What the handlers share.
struct APIServices: Sendable {
    let postgres: ShardedPostgres
    let reader: TwinReader
    let store: ControlStore
    let bulk: BulkStore
    let planner: BulkPlanner
    let producer: KafkaProducer
    let commandsTopic: String
    let builder: CommandBuilder
    let maxBodyBytes: Int
    let webhooks: WebhookStore
    let allowPrivateWebhooks: Bool
}

/// api: the public REST API (OpenAPI document in `Services/API/openapi.json`, served at
/// `/v1/openapi.json`). Reads twins from the shards and control rows from the control
/// database; queues commands on `cpe.commands.v1`.
@main
struct API {
    static func main() async throws {
        let boot = ServiceBootstrap.start(service: "twinfleet-api")
        let partitions = boot.require { Int32(try $0.int(.kafkaPartitions, in: 1...10_000)) }
        let databases = boot.require { try ShardedPostgresConfiguration(config: $0) }
        let kafka = boot.require { try KafkaConfiguration(config: $0, clientID: "api-\(boot.runtime.instanceID)") }
        let host = boot.require { try $0.string(.apiHost) }
        let port = boot.require { try $0.int(.apiPort, in: 0...65535) }
        let rootTenant = boot.require { config in
            let tenant = try config.string(.apiRootTenant)
            guard (try? AccessRoutes.identifier(tenant, field: "")) != nil else { throw ConfigError(key: .apiRootTenant, reason: "use lowercase letters, digits, '-', '.', '_'") }
            return tenant
        }
        let bootstrapKey = boot.require { config -> APIKey? in
            let text = try config.string(.apiBootstrapKey)
            if text.isEmpty { return nil }
            guard let key = APIKey(parsing: text) else { throw ConfigError(key: .apiBootstrapKey, reason: "not an API key (tfk_<16 hex digits>_<32+ base64url characters>)") }
            return key
        }
        let tokens = boot.require { config -> BearerTokenVerifier? in
            let secret = try config.string(.apiJWTSecret)
            if secret.isEmpty { return nil }
            let issuer = try config.string(.apiJWTIssuer), audience = try config.string(.apiJWTAudience)
            guard let verifier = BearerTokenVerifier(secret: secret, issuer: issuer.isEmpty ? nil : issuer, audience: audience.isEmpty ? nil : audience) else {
                throw ConfigError(key: .apiJWTSecret, reason: "must be at least 32 bytes")
            }
            return verifier
        }
        let limiter = boot.require { RateLimiter(perSecond: Double(try $0.int(.apiRatePerSecond, in: 1...1_000_000)), burst: try $0.int(.apiRateBurst, in: 1...1_000_000)) }
        let maxBody = boot.require { try $0.int(.apiMaxBodyBytes, in: 1024...(64 << 20)) }
        let schema = boot.require { config -> DataModelSchema in
            let directory = try config.string(.apiDataModelDir)
            guard !directory.isEmpty else { throw ConfigError(key: .apiDataModelDir, reason: "required: commands are checked against the data model") }
            do { return try DataModelSchema.load(directory: directory) } catch { throw ConfigError(key: .apiDataModelDir, reason: "\(error)") }
        }
        let idempotencyHours = boot.require { try $0.int(.apiIdempotencyHours, in: 1...8760) }
        let tls = boot.require { config -> TLSConfiguration? in
            let cert = try config.string(.apiTLSCertFile), key = try config.string(.apiTLSKeyFile)
            if cert.isEmpty && key.isEmpty { return nil }
            guard !cert.isEmpty, !key.isEmpty else { throw ConfigError(key: .apiTLSKeyFile, reason: "TLS needs both API_TLS_CERT_FILE and API_TLS_KEY_FILE") }
            do {
                let chain = try NIOSSLCertificate.fromPEMFile(cert).map { NIOSSLCertificateSource.certificate($0) }
                return TLSConfiguration.makeServerConfiguration(certificateChain: chain, privateKey: .privateKey(try NIOSSLPrivateKey(file: key, format: .pem)))
            } catch {
                throw ConfigError(key: .apiTLSCertFile, reason: "cannot load the certificate or key: \(error)")
            }
        }
        guard let document = OpenAPIDocument.bytes else {
            boot.logger.critical("openapi.json is missing from the executable's resources")
            exit(2)
        }

        let postgres = try ShardedPostgres(configuration: databases, partitionCount: partitions, backgroundLogger: boot.logger)
        let producer = try KafkaProducer(configuration: kafka, logger: boot.logger)
        let store = ControlStore(client: postgres.control, rootTenant: rootTenant)
        let services = APIServices(
            postgres: postgres, reader: TwinReader(postgres: postgres), store: store, bulk: BulkStore(postgres: postgres),
            planner: BulkPlanner(postgres: postgres), producer: producer, commandsTopic: boot.require { try $0.string(.apiCommandsTopic) },
            builder: CommandBuilder(schema: schema), maxBodyBytes: maxBody, webhooks: WebhookStore(client: postgres.control),
            allowPrivateWebhooks: boot.require { try $0.bool(.apiWebhookAllowPrivate) })
        let routes = APIRoutes(services: services, document: document)
        let differences = routes.differences(from: document)
        guard differences.isEmpty else {
            boot.logger.critical("the routes and openapi.json differ", metadata: ["differences": "\(differences.joined(separator: "; "))"])
            exit(3)
        }
        let router = Router(context: APIRequestContext.self)
        router.middlewares.add(AccessMiddleware(routes: routes, store: store, tokens: tokens, limiter: limiter, logger: boot.logger))
        for route in routes.all { router.on(RouterPath(route.routerPath), method: route.method, use: route.handler) }
        let server: HTTPServerBuilder = try tls.map { try .tls(.http1(), tlsConfiguration: $0) } ?? .http1()
        let api = Application(
            router: router, server: server, configuration: .init(address: .hostname(host, port: port), serverName: "twinfleet-api"),
            onServerRunning: { channel in boot.logger.info("API listening", metadata: ["api.port": "\(channel.localAddress?.port ?? 0)"]) },
            logger: boot.logger)
        boot.health.register("api")
        let setup = APISetup(postgres: postgres, store: store, bootstrapKey: bootstrapKey, idempotencyAge: TimeInterval(idempotencyHours * 3600),
                             health: boot.health, logger: boot.logger)
        let fanout = WebhookFanout(
            kafka: kafka, twinChangesTopic: boot.require { try $0.string(.apiTwinChangesTopic) }, resultsTopic: boot.require { try $0.string(.apiResultsTopic) },
            group: boot.require { try $0.string(.apiWebhookGroup) }, store: services.webhooks, control: store, logger: boot.logger)
        var clientConfiguration = HTTPClient.Configuration(redirectConfiguration: .disallow)
        clientConfiguration.connectionPool.idleTimeout = .seconds(30)
        let httpClient = HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: clientConfiguration)
        let sender = WebhookSender(
            store: services.webhooks, client: httpClient,
            retryBase: TimeInterval(boot.require { try $0.int(.apiWebhookRetryBaseSeconds, in: 1...86_400) }),
            retryCap: TimeInterval(boot.require { try $0.int(.apiWebhookRetryCapSeconds, in: 1...604_800) }),
            maxAttempts: boot.require { try $0.int(.apiWebhookMaxAttempts, in: 1...100) },
            timeout: .milliseconds(Int64(boot.require { try $0.int(.apiWebhookTimeoutMs, in: 100...120_000) })), logger: boot.logger)
        let operations = OperationsServer.application(runtime: boot.runtime, health: boot.health, registry: boot.registry, logger: boot.logger)
        do {
            try await boot.run([postgres, producer, setup, WebhookWorkers(setup: setup, fanout: fanout, sender: sender), api, operations])
        } catch {
            try? await httpClient.shutdown()
            throw error
        }
        try await httpClient.shutdown()
    }
}

/// The webhook fan-out and sender, started once the tables exist.
struct WebhookWorkers: Service {
    let setup: APISetup
    let fanout: WebhookFanout
    let sender: WebhookSender

    func run() async throws {
        await setup.ready.wait()
        try await withThrowingDiscardingTaskGroup { group in
            group.addTask { try await fanout.run() }
            group.addTask { try await sender.run() }
        }
    }
}

/// Migrates, loads the shard map and installs the root tenant (and bootstrap key), then prunes
/// old idempotency records hourly.
struct APISetup: Service {
    let ready = ReadySignal()
    let postgres: ShardedPostgres
    let store: ControlStore
    let bootstrapKey: APIKey?
    let idempotencyAge: TimeInterval
    let health: HealthState
    let logger: Logger

    func run() async throws {
        try await postgres.migrate(
            [PlatformMigrations.control, PlatformMigrations.shard, Outbox.migrations, TwinMigrations.shard, DispatcherMigrations.shard,
             BulkMigrations.control, APIMigrations.control, WebhookMigrations.control],
            logger: logger)
        try await postgres.loadShardMap(logger: logger)
        try await store.bootstrap(key: bootstrapKey, logger: logger)
        health.set("api", ready: true)
        ready.signal()
        try? await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                do { try await store.pruneIdempotency(olderThan: idempotencyAge, logger: logger) } catch {
                    logger.warning("pruning idempotency keys failed", metadata: ["error": "\(error)"])
                }
                try await Task.sleep(for: .seconds(3600))
            }
        }
    }
}

/// The OpenAPI document, a resource of the executable.
enum OpenAPIDocument {
    static let bytes: [UInt8]? = {
        guard let url = Bundle.module.url(forResource: "openapi", withExtension: "json"), let data = try? Data(contentsOf: url) else { return nil }
        return Array(data)
    }()
}

/// A one-shot signal: `wait()` returns once `signal()` was called.
final class ReadySignal: Sendable {
    private let state = Mutex<(fired: Bool, waiters: [CheckedContinuation<Void, Never>])>((false, []))

    func signal() {
        let waiters = state.withLock { state -> [CheckedContinuation<Void, Never>] in
            state.fired = true
            defer { state.waiters = [] }
            return state.waiters
        }
        for waiter in waiters { waiter.resume() }
    }

    func wait() async {
        await withCheckedContinuation { continuation in
            let fired = state.withLock { state -> Bool in
                if !state.fired { state.waiters.append(continuation) }
                return state.fired
            }
            if fired { continuation.resume() }
        }
    }
}
