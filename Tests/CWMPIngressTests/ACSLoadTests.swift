import AsyncHTTPClient
import BusContracts
import Foundation
import HTTPAuth
import Kafka
import NIOCore
import SwiftProtobuf
import Testing
import TestSupport

/// The real cwmp-ingress under concurrent sessions, and its timeouts: many CPEs at once each get
/// their own session to the end, and sessions whose plan never comes or whose CPE goes quiet
/// end on time with the reason on the bus.
@Suite struct ACSLoadTests {
    struct Ingress {
        let process: ChildProcess
        let instance: String
        let acs: String
        let opsPort: Int
        let events: String
    }

    static func start(_ environment: TestEnvironment, planWaitMs: Int, idleTimeoutMs: Int = 30_000) async throws -> Ingress {
        let instance = TestEnvironment.unique("cwmp")
        try await environment.createTopic(try Topic.deliveries(instance: instance), partitions: 1)
        let events = TestEnvironment.unique("load-events")
        try await environment.createTopic(events, partitions: environment.partitionCount)
        let port = freeLocalPort(), opsPort = freeLocalPort()
        var variables = ACSSessionTests.ingressVariables(environment, instance: instance, port: port, opsPort: opsPort, planWaitMs: planWaitMs)
        variables["CWMP_IDLE_TIMEOUT_MS"] = String(idleTimeoutMs)
        variables["CWMP_EVENTS_TOPIC"] = events
        variables["CWMP_RESULTS_TOPIC"] = events
        let process = try ChildProcess("twinfleet-cwmp-ingress", [], environment: environment, variables: variables)
        let ready = await waitUntilReady(opsPort: opsPort, timeout: .seconds(60))
        #expect(ready, "cwmp-ingress did not become ready: \(process.standardErrorTail)")
        return Ingress(process: process, instance: instance, acs: "http://127.0.0.1:\(port)/acs", opsPort: opsPort, events: events)
    }

    /// Inform with Digest; returns the session cookie.
    static func inform(_ ingress: Ingress, serial: String) async throws -> String {
        func post(_ authorization: String?) async throws -> (UInt, [(String, String)], String) {
            var request = HTTPClientRequest(url: ingress.acs)
            request.method = .POST
            request.headers.add(name: "content-type", value: "text/xml")
            if let authorization { request.headers.add(name: "authorization", value: authorization) }
            request.body = .bytes(ByteBuffer(string: ACSSessionTests.inform(serial: serial)))
            let response = try await HTTPClient.shared.execute(request, timeout: .seconds(30))
            let body = try await response.body.collect(upTo: 1 << 20)
            return (response.status.code, response.headers.map { ($0.name.lowercased(), $0.value) }, String(buffer: body))
        }
        let challenged = try await post(nil)
        let authorization = try ClientAuthorizer.authorization(
            answering: challenged.1.filter { $0.0 == "www-authenticate" }.map(\.1), username: "cpe", password: "s3cret",
            method: "POST", uri: "/acs", cnonce: String(UInt32.random(in: 0...UInt32.max), radix: 16), allowBasic: false)
        let informed = try await post(authorization.headerValue)
        #expect(informed.0 == 200 && informed.2.contains("InformResponse"))
        let cookie = try #require(informed.1.first { $0.0 == "set-cookie" }?.1.split(separator: ";").first)
        return String(cookie)
    }

    static func emptyPOST(_ ingress: Ingress, cookie: String) async throws -> UInt {
        var request = HTTPClientRequest(url: ingress.acs)
        request.method = .POST
        request.headers.add(name: "cookie", value: cookie)
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(60))
        _ = try await response.body.collect(upTo: 1 << 20)
        return response.status.code
    }

    static func presences(_ records: [ConsumedRecord], _ kind: Twinfleet_Bus_V1_Presence.Kind) -> [Twinfleet_Bus_V1_DeviceEvent] {
        records.compactMap { try? Twinfleet_Bus_V1_DeviceEvent(serializedBytes: $0.value) }.filter { $0.presence.kind == kind }
    }

    @Test func concurrentSessionsEachRunToTheirEndOfPlan() async throws {
        let environment = try TestEnvironment.current()
        let ingress = try await Self.start(environment, planWaitMs: 30_000)
        defer { ingress.process.signal(SIGTERM) }
        let tap = try BusTap(environment, topics: [ingress.events])
        await tap.start()
        // A stand-in dispatcher: every session-opened gets its end of plan through the inbox.
        let producer = try KafkaProducer(configuration: environment.kafka(), logger: TestEnvironment.logger)
        let inbox = try Topic.deliveries(instance: ingress.instance)
        let planner = Task {
            var planned = Set<String>()
            while !Task.isCancelled {
                for event in Self.presences(await tap.records, .sessionOpened) where planned.insert(event.sessionID).inserted {
                    var delivery = Twinfleet_Bus_V1_Delivery()
                    delivery.deviceID = event.deviceID
                    delivery.instanceID = ingress.instance
                    delivery.sessionID = event.sessionID
                    delivery.endOfPlan.plannedCommands = 0
                    _ = try? await producer.send(try OutgoingRecord(message: delivery, topic: inbox, key: event.deviceID))
                }
                try? await Task.sleep(for: .milliseconds(20))
            }
        }
        let count = 40
        let statuses = try await withThrowingTaskGroup(of: UInt.self) { group in
            for index in 0..<count {
                group.addTask {
                    let cookie = try await Self.inform(ingress, serial: "L\(index)-" + UUID().uuidString.prefix(6))
                    return try await Self.emptyPOST(ingress, cookie: cookie)
                }
            }
            return try await group.reduce(into: [UInt]()) { $0.append($1) }
        }
        #expect(statuses.count == count)
        #expect(statuses.allSatisfy { $0 == 204 }, "\(statuses)")
        let records = try await tap.wait("every session closed") { Self.presences($0, .sessionClosed).count >= count }
        #expect(Set(Self.presences(records, .sessionOpened).map(\.sessionID)).count == count)
        #expect(Self.presences(records, .sessionClosed).allSatisfy { $0.presence.reason == "completed" })
        #expect(Set(records.compactMap { try? Twinfleet_Bus_V1_DeviceEvent(serializedBytes: $0.value) }.filter { if case .inform? = $0.body { true } else { false } }.map(\.deviceID)).count == count)
        planner.cancel()
        await producer.shutdown()
        await tap.stop()
    }

    @Test func sessionsEndWhenThePlanNeverComesOrTheCPEGoesQuiet() async throws {
        let environment = try TestEnvironment.current()
        let ingress = try await Self.start(environment, planWaitMs: 500, idleTimeoutMs: 1500)
        defer { ingress.process.signal(SIGTERM) }
        let tap = try BusTap(environment, topics: [ingress.events])
        await tap.start()
        // No dispatcher: the parked empty POST ends with 204 after the plan wait.
        let waiting = try await Self.inform(ingress, serial: "W" + UUID().uuidString.prefix(8))
        let started = ContinuousClock.now
        #expect(try await Self.emptyPOST(ingress, cookie: waiting) == 204)
        #expect(ContinuousClock.now - started >= .milliseconds(450))
        // A CPE that goes quiet after its Inform: the session ends after the idle timeout.
        let quiet = try await Self.inform(ingress, serial: "Q" + UUID().uuidString.prefix(8))
        let records = try await tap.wait("both sessions closed") { Self.presences($0, .sessionClosed).count >= 2 }
        let reasons = Dictionary(Self.presences(records, .sessionClosed).map { ($0.sessionID, $0.presence.reason) }, uniquingKeysWith: { first, _ in first })
        // The cookie's value is the session ID.
        func session(_ cookie: String) -> String { String(cookie.split(separator: "=").last ?? "") }
        #expect(reasons[session(waiting)] == "plan timeout", "\(reasons)")
        #expect(reasons[session(quiet)] == "timeout", "\(reasons)")
        // Nothing is left open.
        let metrics = try await HTTPClient.shared.execute(HTTPClientRequest(url: "http://127.0.0.1:\(ingress.opsPort)/metrics"), timeout: .seconds(5))
        let text = String(buffer: try await metrics.body.collect(upTo: 1 << 20))
        #expect(text.contains("twinfleet_cwmp_sessions_open 0"), "\(text)")
        await tap.stop()
    }
}
