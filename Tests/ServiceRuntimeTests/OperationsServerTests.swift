import AsyncHTTPClient
import Foundation
import Hummingbird
import Logging
import NIOConcurrencyHelpers
import Prometheus
import ServiceRuntime
import Testing
import TestSupport
import TwinfleetConfig

@Suite struct OperationsServerTests {
    @Test func healthAndMetricsOverRealHTTP() async throws {
        let registry = PrometheusCollectorRegistry()
        registry.makeCounter(name: "twinfleet_test_events_total").increment(by: Int64(3))
        let health = HealthState()
        health.register("database")
        let runtime = try RuntimeConfig(config: ServiceConfig(environment: ["HTTP_PORT": "0"]))
        let port = NIOLockedValueBox(0)
        let app = OperationsServer.application(
            runtime: runtime, health: health, registry: registry, logger: TestEnvironment.logger,
            onListening: { bound in port.withLockedValue { $0 = bound } })
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await app.runService() }
            #expect(await eventually(timeout: .seconds(60)) { port.withLockedValue { $0 } != 0 })
            let base = "http://127.0.0.1:\(port.withLockedValue { $0 })"
            func get(_ path: String) async throws -> (Int, String) {
                let response = try await HTTPClient.shared.execute(HTTPClientRequest(url: base + path), timeout: .seconds(5))
                return (Int(response.status.code), String(buffer: try await response.body.collect(upTo: 1 << 20)))
            }
            #expect(try await get("/health/live").0 == 200)
            let notReady = try await get("/health/ready")
            #expect(notReady.0 == 503)
            #expect(notReady.1.contains("database"))
            health.set("database", ready: true)
            #expect(try await get("/health/ready").0 == 200)
            let metrics = try await get("/metrics")
            #expect(metrics.0 == 200)
            #expect(metrics.1.contains("twinfleet_test_events_total 3"))
            health.beginShutdown()
            #expect(try await get("/health/ready").0 == 503)
            #expect(try await get("/nope").0 == 404)
            group.cancelAll()
        }
    }
}

/// The dev broker executable: topics, admin errors, health, and a clean exit on SIGTERM.
@Suite struct DevKafkaProcessTests {
    @Test func devBrokerServesTopicsAndStopsCleanly() async throws {
        let environment = try TestEnvironment.current()
        let file = FileManager.default.temporaryDirectory.appendingPathComponent(TestEnvironment.unique("bootstrap")).path
        var variables = environment.childEnvironment()
        variables["HTTP_PORT"] = "0"
        variables["KAFKA_PARTITIONS"] = "5"
        variables["DEVKAFKA_BOOTSTRAP_FILE"] = file
        variables["DEVKAFKA_INSTANCES"] = "cwmp-7"
        let broker = try ChildProcess("twinfleet-dev-kafka", [], environment: environment, variables: variables)
        let announced = await eventually(timeout: .seconds(30)) { broker.output.contains { $0.contains("bootstrap=") } }
        #expect(announced, "no bootstrap line: \(broker.standardErrorTail)")
        let line = try #require(broker.output.first { $0.contains("bootstrap=") })
        let http = try #require(line.split(separator: " ").first { $0.hasPrefix("http=") }).dropFirst(5)
        let bootstrap = try String(contentsOfFile: file, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(line.contains("bootstrap=\(bootstrap)"))

        let topics = try await HTTPClient.shared.execute(HTTPClientRequest(url: "http://\(http)/topics"), timeout: .seconds(5))
        let listing = String(buffer: try await topics.body.collect(upTo: 1 << 20))
        #expect(listing.contains("{\"name\":\"cpe.device-events.v1\",\"partitions\":5}"))
        #expect(listing.contains("cpe.deliveries.v1.cwmp-7"))

        var bad = HTTPClientRequest(url: "http://\(http)/topics")
        bad.method = .POST
        bad.body = .bytes(.init(string: "{not json"))
        let refused = try await HTTPClient.shared.execute(bad, timeout: .seconds(5))
        #expect(refused.status == .badRequest)
        #expect(refused.headers.first(name: "content-type") == "application/problem+json")
        let ready = try await HTTPClient.shared.execute(HTTPClientRequest(url: "http://\(http)/health/ready"), timeout: .seconds(5))
        #expect(ready.status == .ok)

        broker.signal(SIGTERM)
        #expect(await broker.waitForExit(timeout: .seconds(20)) == 0)
    }
}
