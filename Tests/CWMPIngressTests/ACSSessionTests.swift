import AsyncHTTPClient
import BusContracts
import Foundation
import HTTPAuth
import Kafka
import NIOCore
import SwiftProtobuf
import Testing
import TestSupport

/// The real `twinfleet-cwmp-ingress` over HTTP on 127.0.0.1 and the dev broker: a CPE
/// authenticates with Digest, informs, takes a command from the instance's inbox, answers it,
/// and the session ends with 204 at the dispatcher's end of plan.
@Suite struct ACSSessionTests {
    static func inform(serial: String) -> String {
        """
        <?xml version="1.0" encoding="UTF-8"?>
        <soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns:soapenc="http://schemas.xmlsoap.org/soap/encoding/" xmlns:xsd="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:cwmp="urn:dslforum-org:cwmp-1-2">
          <soapenv:Header><cwmp:ID soapenv:mustUnderstand="1">inf-1</cwmp:ID></soapenv:Header>
          <soapenv:Body><cwmp:Inform>
            <DeviceId><Manufacturer>Acme</Manufacturer><OUI>00D09E</OUI><ProductClass>HGW</ProductClass><SerialNumber>\(serial)</SerialNumber></DeviceId>
            <Event soapenc:arrayType="cwmp:EventStruct[1]"><EventStruct><EventCode>1 BOOT</EventCode><CommandKey></CommandKey></EventStruct></Event>
            <MaxEnvelopes>1</MaxEnvelopes><CurrentTime>2026-11-23T10:00:00Z</CurrentTime><RetryCount>0</RetryCount>
            <ParameterList soapenc:arrayType="cwmp:ParameterValueStruct[1]">
              <ParameterValueStruct><Name>Device.DeviceInfo.SoftwareVersion</Name><Value xsi:type="xsd:string">2.1.0</Value></ParameterValueStruct>
            </ParameterList>
          </cwmp:Inform></soapenv:Body>
        </soapenv:Envelope>
        """
    }

    static func getValuesResponse(id: String) -> String {
        """
        <soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns:soapenc="http://schemas.xmlsoap.org/soap/encoding/" xmlns:xsd="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:cwmp="urn:dslforum-org:cwmp-1-2">
          <soapenv:Header><cwmp:ID soapenv:mustUnderstand="1">\(id)</cwmp:ID></soapenv:Header>
          <soapenv:Body><cwmp:GetParameterValuesResponse>
            <ParameterList soapenc:arrayType="cwmp:ParameterValueStruct[1]">
              <ParameterValueStruct><Name>Device.DeviceInfo.UpTime</Name><Value xsi:type="xsd:unsignedInt">4242</Value></ParameterValueStruct>
            </ParameterList>
          </cwmp:GetParameterValuesResponse></soapenv:Body>
        </soapenv:Envelope>
        """
    }

    static func freePort() -> Int { freeLocalPort() }

    /// An ingress on 127.0.0.1 (ACS `port`, operations `opsPort`), Digest user `cpe`/`s3cret`.
    static func ingressVariables(_ environment: TestEnvironment, instance: String, port: Int, opsPort: Int, planWaitMs: Int = 20_000) -> [String: String] {
        var variables = environment.childEnvironment()
        variables["INSTANCE_ID"] = instance
        variables["HTTP_HOST"] = "127.0.0.1"
        variables["HTTP_PORT"] = String(opsPort)
        variables["CWMP_HOST"] = "127.0.0.1"
        variables["CWMP_PORT"] = String(port)
        variables["CWMP_USERNAME"] = "cpe"
        variables["CWMP_PASSWORD"] = "s3cret"
        variables["CWMP_NONCE_SECRET"] = "a-test-secret-of-enough-bytes"
        variables["CWMP_PLAN_WAIT_MS"] = String(planWaitMs)
        return variables
    }

    func post(_ url: String, body: String, cookie: String? = nil, authorization: String? = nil) async throws -> (status: Int, headers: [(String, String)], body: String) {
        var request = HTTPClientRequest(url: url)
        request.method = .POST
        request.headers.add(name: "content-type", value: "text/xml; charset=utf-8")
        if let cookie { request.headers.add(name: "cookie", value: "cwmp_session=\(cookie)") }
        if let authorization { request.headers.add(name: "authorization", value: authorization) }
        request.body = .bytes(ByteBuffer(string: body))
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(30))
        let bytes = try await response.body.collect(upTo: 1 << 20)
        return (Int(response.status.code), response.headers.map { ($0.name.lowercased(), $0.value) }, String(buffer: bytes))
    }

    @Test func digestInformCommandAndEndOfPlan() async throws {
        let environment = try TestEnvironment.current()
        let instance = TestEnvironment.unique("cwmp")
        let inbox = try Topic.deliveries(instance: instance)
        try await environment.createTopic(inbox, partitions: 1)
        let serial = "S" + UUID().uuidString.prefix(8)
        let device = "00D09E-HGW-\(serial)"
        let port = Self.freePort(), opsPort = Self.freePort()
        let variables = Self.ingressVariables(environment, instance: instance, port: port, opsPort: opsPort)
        let service = try ChildProcess("twinfleet-cwmp-ingress", [], environment: environment, variables: variables)
        defer { service.signal(SIGTERM) }
        let ready = await waitUntilReady(opsPort: opsPort, timeout: .seconds(60))
        #expect(ready, "cwmp-ingress did not become ready: \(service.standardErrorTail)")
        let acs = "http://127.0.0.1:\(port)/acs"
        let producer = try KafkaProducer(configuration: environment.kafka(), logger: TestEnvironment.logger)
        let events = try KafkaConsumer(
            configuration: environment.kafka(), options: .init(groupID: TestEnvironment.unique("events"), topics: [Topic.deviceEvents, Topic.commandResults]),
            logger: TestEnvironment.logger)

        // Digest: challenged first, then admitted.
        let challenged = try await post(acs, body: Self.inform(serial: serial))
        #expect(challenged.status == 401)
        let challenges = challenged.headers.filter { $0.0 == "www-authenticate" }.map(\.1)
        #expect(challenges.contains { $0.hasPrefix("Digest") })
        let authorization = try ClientAuthorizer.authorization(
            answering: challenges, username: "cpe", password: "s3cret", method: "POST", uri: "/acs", cnonce: "0a4f113b", allowBasic: false).headerValue
        let wrong = try ClientAuthorizer.authorization(
            answering: challenges, username: "cpe", password: "guess", method: "POST", uri: "/acs", cnonce: "0a4f113b", allowBasic: false).headerValue
        #expect(try await post(acs, body: Self.inform(serial: serial), authorization: wrong).status == 401)
        let informed = try await post(acs, body: Self.inform(serial: serial), authorization: authorization)
        #expect(informed.status == 200)
        #expect(informed.body.contains("InformResponse"))
        let cookie = try #require(informed.headers.first { $0.0 == "set-cookie" }?.1.split(separator: ";").first?.split(separator: "=").last.map(String.init))

        // The empty POST parks until the inbox brings a command.
        let parked = Task { try await post(acs, body: "", cookie: cookie) }
        try await Task.sleep(for: .milliseconds(300))
        var delivery = Twinfleet_Bus_V1_Delivery()
        delivery.deviceID = device
        delivery.instanceID = instance
        delivery.sessionID = cookie
        delivery.command.attempt = 1
        delivery.command.command.commandID = "get-\(serial)"
        delivery.command.command.deviceID = device
        delivery.command.command.getParameters.paths = ["Device.DeviceInfo.UpTime"]
        _ = try await producer.send(OutgoingRecord(topic: inbox, key: device, value: try delivery.serializedBytes()))
        let rpc = try await parked.value
        #expect(rpc.status == 200)
        #expect(rpc.body.contains("GetParameterValues"))
        let id = try #require(rpc.body.range(of: "<cwmp:ID").flatMap { start in
            rpc.body[start.upperBound...].split(separator: ">", maxSplits: 1).last?.split(separator: "<").first.map(String.init)
        })

        // The answer parks again; the end of plan ends the session with 204.
        let last = Task { try await post(acs, body: Self.getValuesResponse(id: id), cookie: cookie) }
        try await Task.sleep(for: .milliseconds(300))
        var end = Twinfleet_Bus_V1_Delivery()
        end.deviceID = device
        end.instanceID = instance
        end.sessionID = cookie
        end.endOfPlan.plannedCommands = 1
        _ = try await producer.send(OutgoingRecord(topic: inbox, key: device, value: try end.serializedBytes()))
        #expect(try await last.value.status == 204)

        // On the bus: session opened, the Inform, and the command's result with the value read.
        var kinds: Set<String> = [], uptime: UInt32?
        let timeout = Task { try await Task.sleep(for: .seconds(30)); events.requestShutdown() }
        for await batch in events.batches {
            for record in batch where record.keyString == device {
                if record.topic == Topic.deviceEvents, let event = try? Twinfleet_Bus_V1_DeviceEvent(serializedBytes: record.value) {
                    if case .presence(let presence)? = event.body { kinds.insert("presence-\(presence.kind.rawValue)") }
                    if case .inform? = event.body { kinds.insert("inform") }
                } else if let result = try? Twinfleet_Bus_V1_CommandResult(serializedBytes: record.value), result.commandID == "get-\(serial)" {
                    kinds.insert("result-\(result.status.rawValue)")
                    if result.status == .succeeded { uptime = result.outputs.parameters.first?.value.unsignedIntValue }
                }
            }
            if uptime != nil && kinds.contains("inform") { break }
        }
        timeout.cancel()
        await events.shutdown()
        await producer.shutdown()
        #expect(kinds.contains("inform"))
        #expect(kinds.contains("presence-\(Twinfleet_Bus_V1_Presence.Kind.sessionOpened.rawValue)"))
        #expect(uptime == 4242)
        // The session shows in the metrics.
        let metrics = try await HTTPClient.shared.execute(HTTPClientRequest(url: "http://127.0.0.1:\(opsPort)/metrics"), timeout: .seconds(5))
        let text = String(buffer: try await metrics.body.collect(upTo: 1 << 20))
        #expect(text.contains("twinfleet_cwmp_sessions_opened_total 1"), "\(text)")
        #expect(text.contains("twinfleet_cwmp_sessions_ended_total{reason=\"completed\"} 1"))
        #expect(text.contains("twinfleet_cwmp_command_results_total{status=\"succeeded\"} 1"))
        service.signal(SIGTERM)
        #expect(await service.waitForExit(timeout: .seconds(30)) == 0, "graceful stop failed: \(service.standardErrorTail)")
    }
}
