import TwinfleetConfig
import Foundation
import Logging
import Prometheus
import ServiceLifecycle

/// What every executable does before building its own parts: read the runtime keys, set up
/// logging and metrics, and create the health state.
public struct ServiceBootstrap: Sendable {
    /// The configuration reader.
    public let config: ServiceConfig
    /// Runtime settings.
    public let runtime: RuntimeConfig
    /// The process logger, labelled with the service name and instance.
    public let logger: Logger
    /// The Prometheus registry behind `/metrics`.
    public let registry: PrometheusCollectorRegistry
    /// Readiness checks.
    public let health: HealthState

    /// Bootstraps the process. Exits with status 2 and a clear message on bad configuration.
    public static func start(service name: String, environment: [String: String] = ProcessEnvironment.current) -> ServiceBootstrap {
        let config = ServiceConfig(environment: environment)
        let runtime: RuntimeConfig
        do {
            runtime = try RuntimeConfig(config: config)
        } catch {
            FileHandle.standardError.write(Data("\(name): \(error)\n".utf8))
            exit(2)
        }
        LoggingSetup.bootstrap(level: runtime.logLevel, json: runtime.jsonLogs)
        var logger = Logger(label: name)
        logger[metadataKey: "instance"] = "\(runtime.instanceID)"
        return ServiceBootstrap(
            config: config, runtime: runtime, logger: logger, registry: MetricsSetup.bootstrapPrometheus(),
            health: HealthState())
    }

    /// Reads a value or exits with status 2 naming the variable at fault.
    public func require<T>(_ read: (ServiceConfig) throws -> T) -> T {
        do {
            return try read(config)
        } catch {
            logger.critical("invalid configuration", metadata: ["error": "\(error)"])
            exit(2)
        }
    }

    /// Runs services in order (clients first, HTTP last) until SIGTERM or SIGINT, then shuts them
    /// down in reverse order; readiness fails as soon as shutdown begins.
    public func run(_ services: [any Service]) async throws {
        let health = self.health
        var configuration = ServiceGroupConfiguration(
            services: services.map { .init(service: $0) },
            gracefulShutdownSignals: [.sigterm, .sigint],
            logger: logger)
        // Kubernetes sends SIGKILL 30 s after SIGTERM by default: finish before that.
        configuration.maximumGracefulShutdownDuration = .seconds(25)
        configuration.maximumCancellationDuration = .seconds(3)
        let group = ServiceGroup(configuration: configuration)
        try await withGracefulShutdownHandler {
            try await group.run()
        } onGracefulShutdown: {
            health.beginShutdown()
        }
    }
}
