import ArgumentParser
import AsyncHTTPClient
import BusContracts
import Foundation
import HTTPAuth
import Hummingbird
import Kafka
import Logging
import NIOConcurrencyHelpers
import NIOCore

/// CWMP session throughput and latency through a running cwmp-ingress: simulated CPEs each run
/// whole sessions (Inform → 401 Digest challenge → Inform with credentials → InformResponse →
/// empty POST → 204 at the end of plan), with a stand-in dispatcher answering each
/// `session-opened` with an end of plan. Reference in the same run: the same client and
/// concurrency against a bare Hummingbird HTTP server in this process that answers every POST
/// at once (requests/s, three of which make one session).
struct BenchCWMP: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "bench-cwmp", abstract: "CWMP session benchmark against a running cwmp-ingress (prints a Markdown table).")

    @Option(help: "ACS URL of the running cwmp-ingress.") var acsURL: String
    @Option(help: "The ingress's INSTANCE_ID (its delivery inbox).") var instance: String
    @Option(help: "The ingress's device-events topic (CWMP_EVENTS_TOPIC).") var eventsTopic: String
    @Option(help: "Digest username and password of the ingress (CWMP_USERNAME / CWMP_PASSWORD).") var username = "cpe"
    @Option var password = "bench-password"
    @Option(help: "`digest` (a 401 challenge, then the Inform with credentials: 3 requests a session) or `none` (2).") var auth = "digest"
    @Option(help: "CPEs running sessions at the same time.") var concurrency = 32
    @Option(help: "Sessions in all.") var sessions = 3000

    func run() async throws {
        let environment = ToolEnvironment()
        var clientConfiguration = HTTPClient.Configuration(timeout: .init(connect: .seconds(5), read: .seconds(30)))
        // One connection per simulated CPE, as real CPEs have.
        clientConfiguration.connectionPool.concurrentHTTP1ConnectionsPerHostSoftLimit = concurrency
        let client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: clientConfiguration)

        // Reference: a bare HTTP server answering every POST with a small XML body.
        let (port, server) = try await Self.startReference(logger: environment.logger)
        let perSession = auth == "none" ? 2 : 3
        let referenceRequests = sessions * perSession
        let referenceStart = ContinuousClock.now
        try await Self.spread(referenceRequests, over: concurrency) { _ in
            var request = HTTPClientRequest(url: "http://127.0.0.1:\(port)/acs")
            request.method = .POST
            request.body = .bytes(ByteBuffer(string: Self.inform(serial: "REF")))
            let response = try await client.execute(request, timeout: .seconds(30))
            _ = try await response.body.collect(upTo: 1 << 20)
        }
        let referenceSeconds = (ContinuousClock.now - referenceStart).timeInterval
        server.cancel()

        // The stand-in dispatcher: every session-opened gets an end of plan at once.
        let producer = try KafkaProducer(configuration: try environment.kafka(), logger: environment.logger)
        let inbox = try Topic.deliveries(instance: instance)
        let consumer = try KafkaConsumer(
            configuration: try environment.kafka(), options: .init(groupID: "bench-cwmp-\(UUID().uuidString.prefix(8))", topics: [eventsTopic]), logger: environment.logger,
            rebalanceHandler: { event in
                guard case .assigned(let assigned) = event else { return [:] }
                return Dictionary(uniqueKeysWithValues: assigned.map { ($0, KafkaConsumer.StartOffset.end) })
            })
        let dispatcher = Task {
            for await batch in consumer.batches {
                var plans: [OutgoingRecord] = []
                for record in batch {
                    guard let event = try? Twinfleet_Bus_V1_DeviceEvent(serializedBytes: record.value), event.presence.kind == .sessionOpened else { continue }
                    var delivery = Twinfleet_Bus_V1_Delivery()
                    delivery.deviceID = event.deviceID
                    delivery.instanceID = instance
                    delivery.sessionID = event.sessionID
                    delivery.endOfPlan.plannedCommands = 0
                    if let planned = try? OutgoingRecord(message: delivery, topic: inbox, key: event.deviceID) { plans.append(planned) }
                }
                if !plans.isEmpty { _ = try? await producer.sendAll(plans) }
            }
        }
        try await Task.sleep(for: .seconds(3))

        let durations = NIOLockedValueBox<[Double]>([])
        let failures = NIOLockedValueBox(0)
        let firstFailure = NIOLockedValueBox<String?>(nil)
        let start = ContinuousClock.now
        try await Self.spread(sessions, over: concurrency) { index in
            let began = ContinuousClock.now
            do {
                try await runSession(client: client, serial: String(format: "B%07d", index))
                durations.withLockedValue { $0.append((ContinuousClock.now - began).timeInterval) }
            } catch {
                failures.withLockedValue { $0 += 1 }
                firstFailure.withLockedValue { $0 = $0 ?? "\(error)" }
            }
        }
        let seconds = (ContinuousClock.now - start).timeInterval
        consumer.requestShutdown()
        dispatcher.cancel()
        await consumer.shutdown()
        await producer.shutdown()
        try await client.shutdown()

        let sorted = durations.withLockedValue { $0 }.sorted()
        func pct(_ p: Double) -> String { sorted.isEmpty ? "-" : String(format: "%.1f", sorted[min(sorted.count - 1, Int(Double(sorted.count) * p))] * 1000) }
        print("CWMP sessions through cwmp-ingress, \(concurrency) CPEs at a time, \(sessions) sessions (\(auth == "none" ? "no authentication" : "Digest"), \(perSession) HTTP requests each)")
        print()
        print("| path | sessions | HTTP requests/s | sessions/s | session p50 ms | p99 ms | failed |")
        print("|---|---|---|---|---|---|---|")
        print("| cwmp-ingress: Inform\(auth == "none" ? "" : " with Digest"), empty POST parked until the end of plan (via Kafka), 204 | \(sorted.count) | \(Int(Double(sorted.count * perSession) / seconds)) | \(Int(Double(sorted.count) / seconds)) | \(pct(0.5)) | \(pct(0.99)) | \(failures.withLockedValue { $0 }) |")
        print("| reference: bare Hummingbird POST → 200, same client and concurrency | - | \(Int(Double(referenceRequests) / referenceSeconds)) | - | - | - | 0 |")
        if let first = firstFailure.withLockedValue({ $0 }) { print("\nfirst failure: \(first)") }
    }

    /// One CWMP session of a CPE.
    private func runSession(client: HTTPClient, serial: String) async throws {
        func post(_ body: String, cookie: String?, authorization: String?) async throws -> (status: UInt, headers: [(String, String)]) {
            var request = HTTPClientRequest(url: acsURL)
            request.method = .POST
            request.headers.add(name: "content-type", value: "text/xml; charset=utf-8")
            if let cookie { request.headers.add(name: "cookie", value: cookie) }
            if let authorization { request.headers.add(name: "authorization", value: authorization) }
            request.body = .bytes(ByteBuffer(string: body))
            let response = try await client.execute(request, timeout: .seconds(30))
            _ = try await response.body.collect(upTo: 1 << 20)
            return (response.status.code, response.headers.map { ($0.name.lowercased(), $0.value) })
        }
        let inform = Self.inform(serial: serial)
        var authorizationHeader: String?
        if auth != "none" {
            let challenged = try await post(inform, cookie: nil, authorization: nil)
            guard challenged.status == 401 else { throw ValidationError("expected 401, got \(challenged.status)") }
            let path = URL(string: acsURL)?.path ?? "/"
            authorizationHeader = try ClientAuthorizer.authorization(
                answering: challenged.headers.filter { $0.0 == "www-authenticate" }.map(\.1), username: username, password: password,
                method: "POST", uri: path.isEmpty ? "/" : path, cnonce: String(UInt32.random(in: 0...UInt32.max), radix: 16), allowBasic: false).headerValue
        }
        let informed = try await post(inform, cookie: nil, authorization: authorizationHeader)
        guard informed.status == 200, let setCookie = informed.headers.first(where: { $0.0 == "set-cookie" })?.1 else {
            throw ValidationError("Inform not accepted: \(informed.status)")
        }
        let cookie = String(setCookie.split(separator: ";")[0])
        let ended = try await post("", cookie: cookie, authorization: nil)
        guard ended.status == 204 else { throw ValidationError("expected 204 at the end of plan, got \(ended.status)") }
    }

    /// Runs `count` jobs, `width` at a time.
    static func spread(_ count: Int, over width: Int, _ job: @escaping @Sendable (Int) async throws -> Void) async throws {
        let next = NIOLockedValueBox(0)
        try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<width {
                group.addTask {
                    while true {
                        let index = next.withLockedValue { value -> Int in defer { value += 1 }; return value }
                        guard index < count else { return }
                        try await job(index)
                    }
                }
            }
            try await group.waitForAll()
        }
    }

    static func inform(serial: String) -> String {
        """
        <?xml version="1.0" encoding="UTF-8"?>
        <soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns:soapenc="http://schemas.xmlsoap.org/soap/encoding/" xmlns:xsd="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:cwmp="urn:dslforum-org:cwmp-1-2">
          <soapenv:Header><cwmp:ID soapenv:mustUnderstand="1">inf-1</cwmp:ID></soapenv:Header>
          <soapenv:Body><cwmp:Inform>
            <DeviceId><Manufacturer>Bench</Manufacturer><OUI>00D09E</OUI><ProductClass>HGW</ProductClass><SerialNumber>\(serial)</SerialNumber></DeviceId>
            <Event soapenc:arrayType="cwmp:EventStruct[1]"><EventStruct><EventCode>2 PERIODIC</EventCode><CommandKey></CommandKey></EventStruct></Event>
            <MaxEnvelopes>1</MaxEnvelopes><CurrentTime>2026-11-23T10:00:00Z</CurrentTime><RetryCount>0</RetryCount>
            <ParameterList soapenc:arrayType="cwmp:ParameterValueStruct[2]">
              <ParameterValueStruct><Name>Device.DeviceInfo.SoftwareVersion</Name><Value xsi:type="xsd:string">2.1.0</Value></ParameterValueStruct>
              <ParameterValueStruct><Name>Device.ManagementServer.ConnectionRequestURL</Name><Value xsi:type="xsd:string">http://10.0.0.1:7547/cr</Value></ParameterValueStruct>
            </ParameterList>
          </cwmp:Inform></soapenv:Body>
        </soapenv:Envelope>
        """
    }

    /// A Hummingbird HTTP server on 127.0.0.1 answering every POST with a small body.
    static func startReference(logger: Logger) async throws -> (Int, Task<Void, Error>) {
        let (ports, portSignal) = AsyncStream<Int>.makeStream()
        let router = Router()
        router.post("**") { request, _ -> Response in
            _ = try await request.body.collect(upTo: 1 << 20)
            return Response(status: .ok, headers: [.contentType: "text/xml"], body: .init(byteBuffer: ByteBuffer(string: "<soapenv:Envelope/>")))
        }
        let app = Application(
            router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)),
            onServerRunning: { channel in portSignal.yield(channel.localAddress?.port ?? 0) }, logger: logger)
        let task = Task { try await app.runService() }
        var iterator = ports.makeAsyncIterator()
        guard let port = await iterator.next(), port > 0 else { throw ValidationError("the reference server did not start") }
        return (port, task)
    }
}
