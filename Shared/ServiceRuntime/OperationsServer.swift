import Hummingbird
import Logging
import Metrics
import NIOCore
import Prometheus
import ServiceLifecycle

/// Process-wide metrics set-up.
public enum MetricsSetup {
    /// Bootstraps swift-metrics with a Prometheus registry and returns it for `/metrics`.
    public static func bootstrapPrometheus() -> PrometheusCollectorRegistry {
        let registry = PrometheusCollectorRegistry()
        MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: registry))
        return registry
    }
}

/// The operations endpoints every service serves: `/metrics`, `/health/live`, `/health/ready`.
public enum OperationsServer {
    /// Adds the operations routes to a router (services add their own routes next to them).
    public static func addRoutes<Context: RequestContext>(
        to router: Router<Context>, health: HealthState, registry: PrometheusCollectorRegistry?
    ) {
        router.get("/health/live") { _, _ in
            Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(string: "{\"status\":\"live\"}")))
        }
        router.get("/health/ready") { _, _ in
            let failing = health.failing
            let body = failing.isEmpty
                ? "{\"status\":\"ready\"}"
                : "{\"status\":\"not-ready\",\"failing\":[\(failing.map { "\"\($0)\"" }.joined(separator: ","))]}"
            return Response(
                status: failing.isEmpty ? .ok : .serviceUnavailable, headers: [.contentType: "application/json"],
                body: .init(byteBuffer: ByteBuffer(string: body)))
        }
        router.get("/metrics") { _, _ in
            let bytes = registry?.emitToBuffer() ?? []
            return Response(
                status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
        }
    }

    /// An application serving the operations routes plus whatever `extraRoutes` adds.
    ///
    /// `onListening` receives the bound port (useful with port 0 in tests and the dev broker).
    public static func application(
        runtime: RuntimeConfig, health: HealthState, registry: PrometheusCollectorRegistry?, logger: Logger,
        services: [any Service] = [],
        extraRoutes: (Router<BasicRequestContext>) -> Void = { _ in },
        onListening: @escaping @Sendable (Int) async -> Void = { _ in }
    ) -> some ApplicationProtocol {
        let router = Router()
        addRoutes(to: router, health: health, registry: registry)
        extraRoutes(router)
        return Application(
            router: router,
            configuration: .init(address: .hostname(runtime.httpHost, port: runtime.httpPort), serverName: "twinfleet"),
            services: services,
            onServerRunning: { channel in await onListening(channel.localAddress?.port ?? runtime.httpPort) },
            logger: logger)
    }
}
