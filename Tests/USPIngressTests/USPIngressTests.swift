import BusContracts
import Foundation
import Kafka
import NIOSSL
import SwiftProtobuf
import Testing
import TestSupport
import USPCodec
#if canImport(Glibc)
import Glibc
#endif

/// The real `twinfleet-usp-ingress` with test agents over real WebSockets on 127.0.0.1 and the dev
/// broker: connection, subscriptions, Boot!, synchronisation, every command kind from the inbox,
/// notifications, timeouts, refusals and malformed input.
@Suite struct USPIngressTests {
    static let controller = "self::tf-test-controller"

    struct Ingress {
        let process: ChildProcess
        let instance: String
        let wsPort: Int
        let opsPort: Int
        let inbox: String
        let events: String
        let results: String
    }

    static func start(_ environment: TestEnvironment, extra: [String: String] = [:]) async throws -> Ingress {
        let instance = TestEnvironment.unique("usp")
        let inbox = try Topic.deliveries(instance: instance)
        let events = TestEnvironment.unique("usp-events"), results = TestEnvironment.unique("usp-results")
        try await environment.createTopic(inbox, partitions: 1)
        try await environment.createTopic(events, partitions: 2)
        try await environment.createTopic(results, partitions: 2)
        let wsPort = freeLocalPort(), opsPort = freeLocalPort()
        var variables = environment.childEnvironment()
        variables["INSTANCE_ID"] = instance
        variables["HTTP_HOST"] = "127.0.0.1"
        variables["HTTP_PORT"] = String(opsPort)
        variables["USP_HOST"] = "127.0.0.1"
        variables["USP_WS_PORT"] = String(wsPort)
        variables["USP_ENDPOINT_ID"] = controller
        variables["USP_ALLOWED_AGENTS"] = "os::test-*,proto::exact-agent"
        variables["USP_EVENTS_TOPIC"] = events
        variables["USP_RESULTS_TOPIC"] = results
        variables["USP_REQUEST_TIMEOUT_MS"] = "5000"  // the timeout step waits this long; under full-suite load an answer can take longer than 1.5 s
        variables["USP_VALUE_CHANGE_PATHS"] = "Device.WiFi.SSID."
        variables["USP_SYNC_PATHS_PER_GET"] = "1"
        for (key, value) in extra { variables[key] = value }
        let process = try ChildProcess("twinfleet-usp-ingress", [], environment: environment, variables: variables)
        let ready = await waitUntilReady(opsPort: opsPort, timeout: .seconds(60))
        #expect(ready, "usp-ingress did not become ready: \(process.standardErrorTail)")
        return Ingress(process: process, instance: instance, wsPort: wsPort, opsPort: opsPort, inbox: inbox, events: events, results: results)
    }

    /// Sends `command` to the ingress's inbox for the connection `session`.
    static func deliver(_ command: Twinfleet_Bus_V1_Command, to ingress: Ingress, session: String, attempt: UInt32 = 1, producer: KafkaProducer) async throws {
        var delivery = Twinfleet_Bus_V1_Delivery()
        delivery.deviceID = command.deviceID
        delivery.instanceID = ingress.instance
        delivery.sessionID = session
        delivery.command.command = command
        delivery.command.attempt = attempt
        _ = try await producer.send(OutgoingRecord(topic: ingress.inbox, key: command.deviceID, value: try delivery.serializedBytes()))
    }

    static func command(_ id: String, device: String, _ build: (inout Twinfleet_Bus_V1_Command) -> Void) -> Twinfleet_Bus_V1_Command {
        var command = Twinfleet_Bus_V1_Command()
        command.commandID = id
        command.deviceID = device
        command.tenantID = "default"
        build(&command)
        return command
    }

    static func events(_ records: [ConsumedRecord], topic: String, device: String) -> [Twinfleet_Bus_V1_DeviceEvent] {
        records.filter { $0.topic == topic && $0.keyString == device }.compactMap { try? Twinfleet_Bus_V1_DeviceEvent(serializedBytes: $0.value) }
    }

    static func results(_ records: [ConsumedRecord], topic: String, command: String) -> [Twinfleet_Bus_V1_CommandResult] {
        records.filter { $0.topic == topic }.compactMap { try? Twinfleet_Bus_V1_CommandResult(serializedBytes: $0.value) }.filter { $0.commandID == command }
    }

    /// The final result of `command` (not DELIVERED or IN_PROGRESS).
    static func final(_ tap: BusTap, _ ingress: Ingress, _ command: String) async throws -> Twinfleet_Bus_V1_CommandResult {
        let records = try await tap.wait("final result of \(command)") { records in
            results(records, topic: ingress.results, command: command).contains { ![.delivered, .inProgress].contains($0.status) }
        }
        return results(records, topic: ingress.results, command: command).first { ![.delivered, .inProgress].contains($0.status) }!
    }

    /// Expects the command's final result to be a success, naming what it was otherwise.
    static func expectSucceeded(_ tap: BusTap, _ ingress: Ingress, _ command: String, sourceLocation: SourceLocation = #_sourceLocation) async throws {
        let result = try await final(tap, ingress, command)
        #expect(result.status == .succeeded, "\(command): \(result.status) \(result.error)", sourceLocation: sourceLocation)
    }

    static func connectedSession(_ tap: BusTap, _ ingress: Ingress, device: String, after known: Set<String> = []) async throws -> String {
        let records = try await tap.wait("connected presence of \(device)") { records in
            events(records, topic: ingress.events, device: device).contains { $0.presence.kind == .connected && !known.contains($0.sessionID) }
        }
        return events(records, topic: ingress.events, device: device).first { $0.presence.kind == .connected && !known.contains($0.sessionID) }!.sessionID
    }

    @Test func agentLifecycleOverWebSocket() async throws {
        let environment = try TestEnvironment.current()
        let ingress = try await Self.start(environment)
        defer { ingress.process.signal(SIGTERM) }
        let tap = try BusTap(environment, topics: [ingress.events, ingress.results])
        await tap.start()
        let producer = try KafkaProducer(configuration: environment.kafka(), logger: TestEnvironment.logger)
        let device = "os::test-" + UUID().uuidString.prefix(8)
        let agent = TestUSPAgent(endpointID: device, controllerID: Self.controller, parameters: TestUSPAgent.gateway(serial: "SN1"))
        await agent.setTypes(["Device.DeviceInfo.UpTime": .paramUnsignedInt, "Device.WiFi.SSID.{i}.Enable": .paramBoolean])
        try await agent.connect(port: ingress.wsPort)

        // Connected, with the agent's address; the subscriptions Twinfleet needs are created.
        let session = try await Self.connectedSession(tap, ingress, device: device)
        let connected = Self.events(await tap.records, topic: ingress.events, device: device).first { $0.presence.kind == .connected }!
        #expect(connected.presence.mtp == .websocket)
        #expect(connected.presence.remoteAddress.hasPrefix("127.0.0.1:"))
        #expect(connected.presence.instanceID == ingress.instance)
        try await agent.waitFor("subscription Add") { $0.header.msgType == .add }
        try await Task.sleep(for: .milliseconds(200))
        let table = await agent.subscriptions.values
        #expect(Set(table.compactMap { $0["NotifType"] }) == ["Event", "OperationComplete", "ObjectCreation", "ObjectDeletion", "ValueChange"])
        #expect(table.count == 6)
        #expect(table.contains { $0["ReferenceList"] == "Device.Boot!" && $0["NotifRetry"] == "true" })

        // Boot! is published and acknowledged with a NotifyResp.
        let bootID = try await agent.sendBoot(cause: "RemoteReboot", commandKey: "rb-1")
        try await agent.waitFor("NotifyResp to Boot!") { $0.header.msgType == .notifyResp && $0.header.msgID == bootID }
        try await tap.wait("Boot event") { records in
            Self.events(records, topic: ingress.events, device: device).contains { $0.boot.cause == "RemoteReboot" && $0.boot.commandKey == "rb-1" }
        }

        // Refresh: GetSupportedDM, then Gets in chunks, published as one typed full sync.
        try await Self.deliver(Self.command("refresh-1", device: device) { $0.refresh.path = "Device." }, to: ingress, session: session, producer: producer)
        try await Self.expectSucceeded(tap, ingress, "refresh-1")
        let gets = await agent.received.filter { $0.header.msgType == .get && $0.header.msgID.contains("refresh-1") }
        #expect(gets.count >= 3, "expected chunked Gets, saw \(gets.count)")
        #expect(await agent.received.contains { $0.header.msgType == .getSupportedDm })
        // The result and the reports travel on different topics: the result can be read first.
        try await tap.wait("the last full-sync report of refresh-1", timeout: .seconds(60)) { records in
            Self.events(records, topic: ingress.events, device: device).contains { $0.parameterReport.commandID == "refresh-1" && $0.parameterReport.finalChunk }
        }
        let reports = Self.events(await tap.records, topic: ingress.events, device: device).filter { $0.parameterReport.commandID == "refresh-1" }
        #expect(reports.allSatisfy { $0.parameterReport.fullSyncRoot == "Device." })
        #expect(reports.contains { $0.parameterReport.finalChunk })
        let synced = Dictionary(reports.flatMap(\.parameterReport.parameters).map { ($0.path, $0.value) }, uniquingKeysWith: { first, _ in first })
        #expect(synced["Device.WiFi.SSID.1.SSID"]?.stringValue == "home")
        #expect(synced["Device.DeviceInfo.UpTime"]?.unsignedIntValue == 42)
        #expect(synced["Device.WiFi.SSID.2.Enable"]?.value == .booleanValue(false))
        #expect(synced.count == (await agent.parameters.count))

        // Get, Set (accepted and refused), Add, Delete, a synchronous and an asynchronous Operate.
        try await Self.deliver(Self.command("get-1", device: device) { $0.getParameters.paths = ["Device.DeviceInfo.SoftwareVersion"] }, to: ingress, session: session, producer: producer)
        let got = try await Self.final(tap, ingress, "get-1")
        #expect(got.status == .succeeded)
        #expect(got.outputs.parameters.first?.value.stringValue == "2.0.0")

        var ssid = Twinfleet_Bus_V1_Parameter()
        ssid.path = "Device.WiFi.SSID.2.SSID"
        ssid.value.stringValue = "visitors"
        try await Self.deliver(Self.command("set-1", device: device) { $0.setParameters.parameters = [ssid] }, to: ingress, session: session, producer: producer)
        try await Self.expectSucceeded(tap, ingress, "set-1")
        #expect(await agent.parameters["Device.WiFi.SSID.2.SSID"] == "visitors")

        var version = Twinfleet_Bus_V1_Parameter()
        version.path = "Device.DeviceInfo.SoftwareVersion"
        version.value.stringValue = "9.9"
        try await Self.deliver(Self.command("set-2", device: device) { $0.setParameters.parameters = [version] }, to: ingress, session: session, producer: producer)
        let refused = try await Self.final(tap, ingress, "set-2")
        #expect(refused.status == .failed)
        #expect(refused.error.code == 7013)
        #expect(refused.error.parameterFaults.first?.path == "Device.DeviceInfo.SoftwareVersion")

        var initial = Twinfleet_Bus_V1_Parameter()
        initial.path = "SSID"
        initial.value.stringValue = "iot"
        try await Self.deliver(Self.command("add-1", device: device) {
            $0.addObject.objectPath = "Device.WiFi.SSID."
            $0.addObject.initialParameters = [initial]
        }, to: ingress, session: session, producer: producer)
        let added = try await Self.final(tap, ingress, "add-1")
        #expect(added.status == .succeeded)
        #expect(added.outputs.instanceNumber == 3)
        #expect(await agent.parameters["Device.WiFi.SSID.3.SSID"] == "iot")

        try await Self.deliver(Self.command("delete-1", device: device) { $0.deleteObject.objectPath = "Device.WiFi.SSID.3." }, to: ingress, session: session, producer: producer)
        try await Self.expectSucceeded(tap, ingress, "delete-1")
        #expect(await agent.parameters["Device.WiFi.SSID.3.SSID"] == nil)

        try await Self.deliver(Self.command("reboot-1", device: device) { $0.reboot = Twinfleet_Bus_V1_Reboot() }, to: ingress, session: session, producer: producer)
        try await Self.expectSucceeded(tap, ingress, "reboot-1")
        #expect(await agent.received.contains { $0.body.request.operate.command == "Device.Reboot()" })

        try await Self.deliver(Self.command("op-1", device: device) { $0.operate.commandPath = "Device.X_TEST.Async()"; $0.operate.sendResp = true }, to: ingress, session: session, producer: producer)
        let completed = try await Self.final(tap, ingress, "op-1")
        #expect(completed.status == .succeeded)
        #expect(completed.outputs.outputArgs["Result"] == "done")
        #expect(Self.results(await tap.records, topic: ingress.results, command: "op-1").contains { $0.status == .inProgress })

        // A value change is published.
        try await agent.sendValueChange("Device.WiFi.SSID.1.SSID", "home-2")
        try await tap.wait("ValueChange event") { records in
            Self.events(records, topic: ingress.events, device: device).contains { $0.valueChange.parameters.first?.value.stringValue == "home-2" }
        }

        // A guest host joins (ObjectCreation with its unique key) and leaves (ObjectDeletion).
        await agent.set("Device.Hosts.Host.1.PhysAddress", "00:11:22:33:44:55")
        await agent.set("Device.Hosts.Host.1.HostName", "laptop")
        try await agent.churnHosts()
        try await tap.wait("ObjectCreation event") { records in
            Self.events(records, topic: ingress.events, device: device).contains {
                $0.objectCreated.path == "Device.Hosts.Host.2." && $0.objectCreated.uniqueKeys["PhysAddress"]?.hasPrefix("02:5a:") == true
            }
        }
        #expect(await agent.parameters["Device.Hosts.Host.2.HostName"]?.hasPrefix("guest-") == true)
        try await agent.churnHosts()
        try await tap.wait("ObjectDeletion event") { records in
            Self.events(records, topic: ingress.events, device: device).contains { $0.objectDeleted.path == "Device.Hosts.Host.2." }
        }
        #expect(await agent.parameters["Device.Hosts.Host.2.HostName"] == nil)

        // An unanswered request fails (retriable) after the timeout; a delivery for another
        // connection comes back NOT_DELIVERED.
        await agent.setAnswersRequests(false)
        try await Self.deliver(Self.command("get-2", device: device) { $0.getParameters.paths = ["Device.DeviceInfo."] }, to: ingress, session: session, producer: producer)
        let timedOut = try await Self.final(tap, ingress, "get-2")
        #expect(timedOut.status == .failed)
        #expect(timedOut.error.code == TwinfleetErrorCode.responseTimeout.rawValue)
        #expect(timedOut.error.retriable)
        await agent.setAnswersRequests(true)
        try await Self.deliver(Self.command("get-3", device: device) { $0.getParameters.paths = ["Device.DeviceInfo."] }, to: ingress, session: "no-such-connection", producer: producer)
        let bounced = try await Self.final(tap, ingress, "get-3")
        #expect(bounced.status == .notDelivered)
        #expect(bounced.error.retriable)

        // Disconnect and reconnect: disconnected, then connected with a new connection; the
        // subscriptions exist, so none is added again.
        let addsBefore = await agent.received.filter { $0.header.msgType == .add && $0.header.msgID.hasPrefix("tf/ctl/") }.count
        await agent.disconnect()
        try await tap.wait("disconnected presence") { records in
            Self.events(records, topic: ingress.events, device: device).contains { $0.presence.kind == .disconnected && $0.sessionID == session }
        }
        try await agent.connect(port: ingress.wsPort)
        let second = try await Self.connectedSession(tap, ingress, device: device, after: [session])
        #expect(second != session)
        try await agent.waitFor("second subscription check") { $0.header.msgType == .get && $0.body.request.get.paramPaths == ["Device.LocalAgent.Subscription."] && $0.header.msgID.hasSuffix("/1") && !$0.header.msgID.contains(session) }
        try await Task.sleep(for: .milliseconds(500))
        #expect(await agent.received.filter { $0.header.msgType == .add && $0.header.msgID.hasPrefix("tf/ctl/") }.count == addsBefore)
        try await Self.deliver(Self.command("get-4", device: device) { $0.getParameters.paths = ["Device.DeviceInfo.ModelName"] }, to: ingress, session: second, producer: producer)
        try await Self.expectSucceeded(tap, ingress, "get-4")

        await agent.disconnect()
        await tap.stop()
        await producer.shutdown()
        ingress.process.signal(SIGTERM)
        #expect(await ingress.process.waitForExit(timeout: .seconds(30)) == 0, "graceful stop failed: \(ingress.process.standardErrorTail)")
    }

    @Test func handshakeAndAgentAuthorisation() async throws {
        let environment = try TestEnvironment.current()
        let ingress = try await Self.start(environment)
        defer { ingress.process.signal(SIGTERM) }
        func upgrade(_ target: String, subprotocol: String?) throws -> String {
            var request = "GET \(target) HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            request += "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
            if let subprotocol { request += "Sec-WebSocket-Protocol: \(subprotocol)\r\n" }
            return try rawHTTP(port: ingress.wsPort, request: request + "\r\n")
        }
        // Accepted: 101 with v1.usp and our endpoint ID in the bbf-usp-protocol extension.
        let accepted = try upgrade("/usp?eid=os%3A%3Atest-raw", subprotocol: "v1.usp").lowercased()
        #expect(accepted.hasPrefix("http/1.1 101"), "\(accepted)")
        #expect(accepted.contains("sec-websocket-protocol: v1.usp"))
        #expect(accepted.contains("sec-websocket-extensions: bbf-usp-protocol; eid=\"\(Self.controller)\""))
        // Refused before the upgrade (Hummingbird answers a refused upgrade with an empty 400;
        // the reason is counted): no subprotocol, an unknown agent. A plain GET gets 426.
        let noProtocol = try upgrade("/usp?eid=os%3A%3Atest-raw", subprotocol: nil)
        #expect(noProtocol.hasPrefix("HTTP/1.1 400"), "\(noProtocol)")
        let unknown = try upgrade("/usp?eid=os%3A%3Aintruder", subprotocol: "v1.usp")
        #expect(unknown.hasPrefix("HTTP/1.1 400"), "\(unknown)")
        let plain = try rawHTTP(port: ingress.wsPort, request: "GET /usp HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        #expect(plain.hasPrefix("HTTP/1.1 426"), "\(plain)")
        #expect(plain.contains("application/problem+json"))
        let metrics = try rawHTTP(port: ingress.opsPort, request: "GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
        #expect(metrics.contains("twinfleet_usp_ws_upgrades_refused_total{status=\"400\"} 1"), "\(metrics)")
        #expect(metrics.contains("twinfleet_usp_ws_upgrades_refused_total{status=\"403\"} 1"))

        let tap = try BusTap(environment, topics: [ingress.events])
        await tap.start()
        // An unknown agent's WebSocket is refused.
        let intruder = TestUSPAgent(endpointID: "os::intruder", controllerID: Self.controller, parameters: [:])
        await #expect(throws: (any Error).self) { try await intruder.connect(port: ingress.wsPort) }
        // Without eid, the first record names the agent: a listed one is served, another closed.
        let exact = TestUSPAgent(endpointID: "proto::exact-agent", controllerID: Self.controller, parameters: TestUSPAgent.gateway(serial: "SN2"))
        try await exact.connect(port: ingress.wsPort, sendEID: false)
        _ = try await Self.connectedSession(tap, ingress, device: "proto::exact-agent")
        let sneaky = TestUSPAgent(endpointID: "proto::exact-agent-2", controllerID: Self.controller, parameters: [:])
        try await sneaky.connect(port: ingress.wsPort, sendEID: false)
        try await sneaky.waitUntilClosed()
        #expect(Self.events(await tap.records, topic: ingress.events, device: "proto::exact-agent-2").isEmpty)
        await exact.disconnect()
        await tap.stop()
    }

    @Test func malformedInputIsAnsweredAndNeighboursAreUnaffected() async throws {
        let environment = try TestEnvironment.current()
        let ingress = try await Self.start(environment, extra: ["USP_MAX_RECORD_BYTES": "65536"])
        defer { ingress.process.signal(SIGTERM) }
        let tap = try BusTap(environment, topics: [ingress.events, ingress.results])
        await tap.start()
        let producer = try KafkaProducer(configuration: environment.kafka(), logger: TestEnvironment.logger)
        let good = TestUSPAgent(endpointID: "os::test-good-" + UUID().uuidString.prefix(6), controllerID: Self.controller, parameters: TestUSPAgent.gateway(serial: "G"))
        let bad = TestUSPAgent(endpointID: "os::test-bad-" + UUID().uuidString.prefix(6), controllerID: Self.controller, parameters: TestUSPAgent.gateway(serial: "B"))
        let rogue = TestUSPAgent(endpointID: "os::test-rogue-" + UUID().uuidString.prefix(6), controllerID: Self.controller, parameters: [:])
        let huge = TestUSPAgent(endpointID: "os::test-huge-" + UUID().uuidString.prefix(6), controllerID: Self.controller, parameters: [:])
        try await good.connect(port: ingress.wsPort)
        try await bad.connect(port: ingress.wsPort)
        try await rogue.connect(port: ingress.wsPort)
        try await huge.connect(port: ingress.wsPort)
        let goodSession = try await Self.connectedSession(tap, ingress, device: good.endpointID)

        // A Notify without a notification gets a USP Error 7004 with its msg_id.
        var empty = Usp_Msg()
        empty.header.msgID = "broken-notify"
        empty.header.msgType = .notify
        empty.body.request.notify = Usp_Notify()
        try await bad.send(empty)
        let error = try await bad.waitFor("Error for the broken Notify") { $0.header.msgType == .error && $0.header.msgID == "broken-notify" }
        #expect(error.body.error.errCode == 7004)
        // A SessionContext record: DisconnectRecord 7106, then the connection closes.
        var record = UspRecord_Record()
        record.version = "1.3"
        record.toID = Self.controller
        record.fromID = rogue.endpointID
        record.sessionContext = UspRecord_SessionContextRecord()
        try await rogue.sendRaw(try record.serializedBytes())
        try await rogue.waitUntilClosed()
        #expect(await rogue.disconnects.contains { $0.1 == 7106 })
        // Garbage, again and again: the connection is closed after ten unreadable records.
        for _ in 0..<10 { try? await bad.sendRaw([0xFF, 0x13, 0x37, 0x00, 0x42]) }
        try await bad.waitUntilClosed()
        try await tap.wait("disconnected presence of the bad agent") { records in
            Self.events(records, topic: ingress.events, device: bad.endpointID).contains { $0.presence.kind == .disconnected }
        }
        // A record over USP_MAX_RECORD_BYTES closes its connection.
        try await huge.sendRaw([UInt8](repeating: 0x0A, count: 100_000))
        try await huge.waitUntilClosed()
        // The good agent is served throughout.
        try await Self.deliver(Self.command("good-get", device: good.endpointID) { $0.getParameters.paths = ["Device.DeviceInfo.SerialNumber"] },
                               to: ingress, session: goodSession, producer: producer)
        let result = try await Self.final(tap, ingress, "good-get")
        #expect(result.status == .succeeded)
        #expect(result.outputs.parameters.first?.value.stringValue == "G")
        await good.disconnect()
        await tap.stop()
        await producer.shutdown()
    }
}

extension USPIngressTests {
    /// MQTT 5 and 3.1.1 agents through mosquitto: MQTTConnect, subscriptions, Boot!, commands,
    /// notifications, DisconnectRecord, and an unknown agent's records dropped.
    @Test func agentsOverMQTT() async throws {
        let environment = try TestEnvironment.current()
        let topic = "usp/controller/" + TestEnvironment.unique("tf")
        let ingress = try await Self.start(environment, extra: ["USP_MQTT_URL": "mqtt://127.0.0.1:\(environment.mqttPort)", "USP_MQTT_TOPIC": topic])
        defer { ingress.process.signal(SIGTERM) }
        let tap = try BusTap(environment, topics: [ingress.events, ingress.results])
        await tap.start()
        let producer = try KafkaProducer(configuration: environment.kafka(), logger: TestEnvironment.logger)

        let device = "os::test-mqtt5-" + UUID().uuidString.prefix(6)
        let agent = TestUSPAgent(endpointID: device, controllerID: Self.controller, parameters: TestUSPAgent.gateway(serial: "M5"))
        try await agent.connectMQTT(port: environment.mqttPort, controllerTopic: topic)
        let session = try await Self.connectedSession(tap, ingress, device: device)
        #expect(Self.events(await tap.records, topic: ingress.events, device: device).first { $0.presence.kind == .connected }?.presence.mtp == .mqtt)
        try await agent.waitFor("subscription Add over MQTT") { $0.header.msgType == .add }
        try await Task.sleep(for: .milliseconds(200))
        #expect(await agent.subscriptions.count == 6)

        let bootID = try await agent.sendBoot()
        try await agent.waitFor("NotifyResp over MQTT") { $0.header.msgType == .notifyResp && $0.header.msgID == bootID }
        var ssid = Twinfleet_Bus_V1_Parameter()
        ssid.path = "Device.WiFi.SSID.1.SSID"
        ssid.value.stringValue = "over-mqtt"
        try await Self.deliver(Self.command("mqtt-set", device: device) { $0.setParameters.parameters = [ssid] }, to: ingress, session: session, producer: producer)
        let mqttSet = try await Self.final(tap, ingress, "mqtt-set")
        #expect(mqttSet.status == .succeeded, "\(mqttSet)")
        #expect(await agent.parameters["Device.WiFi.SSID.1.SSID"] == "over-mqtt")
        // One MQTTConnectRecord, one session (a record must not arrive twice through overlapping subscriptions).
        #expect(Self.events(await tap.records, topic: ingress.events, device: device).filter { $0.presence.kind == .connected }.count == 1)
        try await Self.deliver(Self.command("mqtt-get", device: device) { $0.getParameters.paths = ["Device.DeviceInfo.SerialNumber"] }, to: ingress, session: session, producer: producer)
        #expect(try await Self.final(tap, ingress, "mqtt-get").outputs.parameters.first?.value.stringValue == "M5")
        // The agent reconnects to the broker: a new session, and no DisconnectRecord reaches the
        // agent (its topic is the same for the old and the new session).
        try await agent.sendMQTTConnect()
        let renewed = try await Self.connectedSession(tap, ingress, device: device, after: [session])
        try await tap.wait("the old session ended") { records in
            Self.events(records, topic: ingress.events, device: device).contains { $0.presence.kind == .disconnected && $0.sessionID == session }
        }
        try await Task.sleep(for: .milliseconds(300))
        #expect(await agent.disconnects.isEmpty)
        try await agent.sendValueChange("Device.WiFi.SSID.2.SSID", "changed")
        try await tap.wait("ValueChange over MQTT") { records in
            Self.events(records, topic: ingress.events, device: device).contains { $0.valueChange.parameters.first?.value.stringValue == "changed" }
        }
        try await agent.disconnectMQTT()
        try await tap.wait("disconnected after the DisconnectRecord") { records in
            Self.events(records, topic: ingress.events, device: device).contains { $0.presence.kind == .disconnected && $0.sessionID == renewed }
        }
        #expect(await agent.disconnects.isEmpty, "no DisconnectRecord in answer to the agent's own")

        // MQTT 3.1.1: the agent's topic comes from the MQTTConnectRecord / reply-to suffix.
        let legacy = "os::test-mqtt3-" + UUID().uuidString.prefix(6)
        let old = TestUSPAgent(endpointID: legacy, controllerID: Self.controller, parameters: TestUSPAgent.gateway(serial: "M3"))
        try await old.connectMQTT(port: environment.mqttPort, controllerTopic: topic, version5: false)
        let legacySession = try await Self.connectedSession(tap, ingress, device: legacy)
        try await Self.deliver(Self.command("mqtt3-get", device: legacy) { $0.getParameters.paths = ["Device.DeviceInfo.SerialNumber"] }, to: ingress, session: legacySession, producer: producer)
        #expect(try await Self.final(tap, ingress, "mqtt3-get").outputs.parameters.first?.value.stringValue == "M3")

        // An agent that is not allowed: nothing is published for it, nothing is sent to it.
        let stranger = TestUSPAgent(endpointID: "os::stranger-mqtt", controllerID: Self.controller, parameters: [:])
        try await stranger.connectMQTT(port: environment.mqttPort, controllerTopic: topic)
        try await stranger.sendBoot()
        try await Task.sleep(for: .seconds(1))
        #expect(Self.events(await tap.records, topic: ingress.events, device: "os::stranger-mqtt").isEmpty)
        #expect(await stranger.received.isEmpty)

        try await old.disconnectMQTT()
        try await stranger.disconnectMQTT()
        await tap.stop()
        await producer.shutdown()
        ingress.process.signal(SIGTERM)
        #expect(await ingress.process.waitForExit(timeout: .seconds(30)) == 0, "graceful stop failed: \(ingress.process.standardErrorTail)")
    }
}

extension USPIngressTests {
    /// Runs openssl with `arguments` (quietly); fails the test if it fails.
    static func openssl(_ arguments: [String]) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/openssl")
        process.arguments = arguments
        process.standardError = FileHandle.nullDevice
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        #expect(process.terminationStatus == 0, "openssl \(arguments.joined(separator: " "))")
    }

    /// wss with client certificates: an agent is admitted only under an endpoint ID its
    /// certificate names (subjectAltName URI urn:bbf:usp:id:<id>); no certificate, no connection.
    @Test func wssBindsTheEndpointToTheClientCertificate() async throws {
        let environment = try TestEnvironment.current()
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("usp-tls-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        func file(_ name: String) -> String { folder.appendingPathComponent(name).path }
        try Self.openssl(["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=127.0.0.1", "-days", "1", "-keyout", file("server.key"), "-out", file("server.pem")])
        try Self.openssl(["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=Test Agent CA", "-days", "1", "-keyout", file("ca.key"), "-out", file("ca.pem")])
        try Self.openssl(["req", "-new", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=agent", "-keyout", file("agent.key"), "-out", file("agent.csr")])
        try "subjectAltName=URI:urn:bbf:usp:id:os::test-tls-1\n".write(toFile: file("san.ext"), atomically: true, encoding: .utf8)
        try Self.openssl(["x509", "-req", "-in", file("agent.csr"), "-CA", file("ca.pem"), "-CAkey", file("ca.key"), "-CAcreateserial",
                          "-days", "1", "-extfile", file("san.ext"), "-out", file("agent.pem")])
        let ingress = try await Self.start(environment, extra: [
            "USP_TLS_CERT_FILE": file("server.pem"), "USP_TLS_KEY_FILE": file("server.key"), "USP_TLS_CLIENT_CA_FILE": file("ca.pem"),
        ])
        defer { ingress.process.signal(SIGTERM) }
        let tap = try BusTap(environment, topics: [ingress.events])
        await tap.start()
        var client = TLSConfiguration.makeClientConfiguration()
        client.certificateVerification = .none
        client.certificateChain = try NIOSSLCertificate.fromPEMFile(file("agent.pem")).map { .certificate($0) }
        client.privateKey = .privateKey(try NIOSSLPrivateKey(file: file("agent.key"), format: .pem))

        let agent = TestUSPAgent(endpointID: "os::test-tls-1", controllerID: Self.controller, parameters: TestUSPAgent.gateway(serial: "TLS1"))
        try await agent.connect(port: ingress.wsPort, tls: client)
        _ = try await Self.connectedSession(tap, ingress, device: "os::test-tls-1")
        #expect(Self.events(await tap.records, topic: ingress.events, device: "os::test-tls-1").first { $0.presence.kind == .connected }?.presence.tls == true)
        // The same certificate under another (allowed) endpoint ID is refused.
        let impostor = TestUSPAgent(endpointID: "os::test-tls-2", controllerID: Self.controller, parameters: [:])
        await #expect(throws: (any Error).self) { try await impostor.connect(port: ingress.wsPort, tls: client) }
        // Without a client certificate the handshake fails.
        var anonymous = TLSConfiguration.makeClientConfiguration()
        anonymous.certificateVerification = .none
        let stranger = TestUSPAgent(endpointID: "os::test-tls-1", controllerID: Self.controller, parameters: [:])
        await #expect(throws: (any Error).self) { try await stranger.connect(port: ingress.wsPort, tls: anonymous) }
        #expect(Self.events(await tap.records, topic: ingress.events, device: "os::test-tls-2").isEmpty)
        await agent.disconnect()
        await tap.stop()
    }
}

/// Sends `request` over a plain TCP connection to 127.0.0.1:`port` and returns the response head
/// (and body, when it has a Content-Length), read within 5 s.
func rawHTTP(port: Int, request: String) throws -> String {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { throw POSIXError(.EIO) }
    defer { close(fd) }
    var timeout = timeval(tv_sec: 5, tv_usec: 0)
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = in_port_t(UInt16(port).bigEndian)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    let connected = withUnsafePointer(to: &address) { pointer in
        pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
    }
    guard connected == 0 else { throw POSIXError(.ECONNREFUSED) }
    let bytes = Array(request.utf8)
    _ = bytes.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, 0) }
    var received: [UInt8] = []
    var buffer = [UInt8](repeating: 0, count: 4096)
    while true {
        let count = recv(fd, &buffer, buffer.count, 0)
        if count <= 0 { break }
        received += buffer[0..<count]
        let text = String(decoding: received, as: UTF8.self)
        guard let headEnd = text.range(of: "\r\n\r\n") else { continue }
        let head = text[..<headEnd.lowerBound].lowercased()
        if head.hasPrefix("http/1.1 101") { break }
        // Without a Content-Length the body ends when the server closes.
        guard let length = head.split(separator: "\r\n").first(where: { $0.hasPrefix("content-length:") })
            .flatMap({ Int($0.dropFirst("content-length:".count).trimmingCharacters(in: .whitespaces)) }) else { continue }
        if text.utf8.count - text.utf8.distance(from: text.startIndex, to: headEnd.upperBound) >= length { break }
    }
    return String(decoding: received, as: UTF8.self)
}
