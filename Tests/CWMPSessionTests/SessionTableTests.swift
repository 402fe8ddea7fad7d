import BusContracts
import CWMPCodec
import CWMPSession
import Foundation
import Testing
import TwinfleetModel

/// The live sessions of an instance: cookie continuity, capacity, eviction, routing.
@Suite struct SessionTableTests {
    func context(_ sessionID: String) -> CWMPSessionContext {
        CWMPSessionContext(sessionID: sessionID, instanceID: "cwmp-ingress-0", tenantID: "tenant-a")
    }

    func informRequest(_ identity: DeviceIdStruct = testIdentity) -> CWMPHTTPRequest {
        let envelope = CWMPEnvelope(header: CWMPHeader(id: "1"), message: .inform(Inform(deviceId: identity, events: [EventStruct(eventCode: .periodic)], currentTime: t0)))
        return CWMPHTTPRequest(body: codecEncoder.encode(envelope))
    }

    @Test func fullTableRefusesWith503UntilASessionEnds() throws {
        var table = CWMPSessionTable(capacity: 2, configuration: CWMPSessionConfiguration(retryAfterSeconds: 12))
        let first = table.open(context("a"), now: t0), second = table.open(context("b"), now: t0)
        #expect(first == nil && second == nil)
        let third = table.open(context("c"), now: t0)
        let refused = try #require(third)
        #expect(refused.status == 503)
        #expect(refused.headers["Retry-After"] == "12")
        #expect(table.count == 2)

        // "a" fails to start (empty POST before Inform) and frees its place.
        let outputs = table.receive(request: .empty, sessionID: "a", now: t0)
        #expect(outputs.map(\.sessionID) == ["a"])
        #expect(outputs.first?.step.response?.status == 400)
        #expect(!table.contains("a"))
        let retried = table.open(context("c"), now: t0)
        #expect(retried == nil)
        #expect(table.count == 2)
    }

    @Test func sessionContinuesByCookieAndIsDroppedAfter204() throws {
        var table = CWMPSessionTable(capacity: 10)
        let admitted = table.open(context("s1"), now: t0)
        #expect(admitted == nil)
        let informed = table.receive(request: informRequest(), sessionID: "s1", now: t0)
        #expect(try decodeResponse(#require(informed.first?.step)).message == .informResponse(InformResponse()))
        #expect(table.sessionID(ofDevice: testDeviceID) == "s1")
        #expect(table.session("s1")?.state == .cpeRequests)

        var end = Twinfleet_Bus_V1_Delivery()
        end.sessionID = "s1"
        end.deviceID = testDeviceID
        end.endOfPlan = Twinfleet_Bus_V1_EndOfPlan()
        let planEnd = table.receive(delivery: end, now: t0)
        #expect(planEnd.count == 1)
        let closing = table.receive(request: .empty, sessionID: "s1", now: t0)
        #expect(closing.first.map { isNoContent($0.step) } == true)
        #expect(table.count == 0)
        #expect(table.sessionID(ofDevice: testDeviceID) == nil)
        let afterwards = table.receive(request: .empty, sessionID: "s1", now: t0)
        #expect(afterwards.isEmpty)
    }

    @Test func tickEvictsTimedOutSessions() throws {
        var table = CWMPSessionTable(capacity: 10)
        _ = table.open(context("idle"), now: t0)
        _ = table.receive(request: informRequest(), sessionID: "idle", now: t0)
        _ = table.open(context("parked"), now: t0.addingTimeInterval(20))
        _ = table.receive(request: informRequest(DeviceIdStruct(manufacturer: "M", oui: "AABBCC", productClass: "", serialNumber: "2")), sessionID: "parked", now: t0.addingTimeInterval(20))
        let parked = table.receive(request: .empty, sessionID: "parked", now: t0.addingTimeInterval(20))
        #expect(parked.first?.step.reply == .hold(until: t0.addingTimeInterval(25)))
        #expect(table.nextDeadline == t0.addingTimeInterval(25))

        let early = table.tick(now: t0.addingTimeInterval(10))
        #expect(early.isEmpty)
        let atPlanDeadline = table.tick(now: t0.addingTimeInterval(25))
        #expect(atPlanDeadline.map(\.sessionID) == ["parked"])
        #expect(atPlanDeadline.first.map { isNoContent($0.step) } == true)
        #expect(table.count == 1)

        let atIdle = table.tick(now: t0.addingTimeInterval(30))
        #expect(atIdle.map(\.sessionID) == ["idle"])
        #expect(atIdle.first?.step.reply == nil)
        #expect(atIdle.first?.step.presenceKinds == [.sessionClosed])
        #expect(table.count == 0)
        #expect(table.nextDeadline == nil)
    }

    @Test func deliveriesAreRoutedBySessionID() throws {
        var table = CWMPSessionTable(capacity: 10)
        _ = table.open(context("s1"), now: t0)
        _ = table.receive(request: informRequest(), sessionID: "s1", now: t0)
        _ = table.receive(request: .empty, sessionID: "s1", now: t0)

        var delivery = Twinfleet_Bus_V1_Delivery()
        delivery.deviceID = testDeviceID
        delivery.sessionID = "gone"
        var body = Twinfleet_Bus_V1_CommandDelivery()
        body.command = command("c1", .factoryReset(Twinfleet_Bus_V1_FactoryReset()))
        delivery.command = body
        let ignored = table.receive(delivery: delivery, now: t0)
        #expect(ignored.isEmpty)

        delivery.sessionID = "s1"
        let outputs = table.receive(delivery: delivery, now: t0)
        #expect(outputs.map(\.sessionID) == ["s1"])
        #expect(try sentRPC(#require(outputs.first?.step)).message == .factoryReset)
    }

    @Test func newSessionOfTheSameDeviceSupersedesTheOldOne() throws {
        var table = CWMPSessionTable(capacity: 10)
        _ = table.open(context("old"), now: t0)
        _ = table.receive(request: informRequest(), sessionID: "old", now: t0)
        var delivery = Twinfleet_Bus_V1_Delivery()
        delivery.deviceID = testDeviceID
        delivery.sessionID = "old"
        var body = Twinfleet_Bus_V1_CommandDelivery()
        body.command = command("c1", .factoryReset(Twinfleet_Bus_V1_FactoryReset()))
        delivery.command = body
        _ = table.receive(delivery: delivery, now: t0)

        _ = table.open(context("new"), now: t0.addingTimeInterval(1))
        let outputs = table.receive(request: informRequest(), sessionID: "new", now: t0.addingTimeInterval(1))
        #expect(outputs.map(\.sessionID) == ["old", "new"])
        #expect(sameStatuses(outputs[0].step.statuses, [("c1", .notDelivered)]))
        #expect(outputs[0].step.presenceKinds == [.sessionClosed])
        #expect(outputs[1].step.presenceKinds == [.sessionOpened])
        #expect(!table.contains("old"))
        #expect(table.sessionID(ofDevice: testDeviceID) == "new")
    }

    @Test func endAllClosesEverySession() {
        var table = CWMPSessionTable(capacity: 10)
        _ = table.open(context("s1"), now: t0)
        _ = table.receive(request: informRequest(), sessionID: "s1", now: t0)
        _ = table.receive(request: .empty, sessionID: "s1", now: t0)
        let outputs = table.endAll(reason: .shutdown, now: t0)
        #expect(outputs.count == 1)
        #expect(outputs.first.map { isNoContent($0.step) } == true)
        #expect(table.count == 0)
    }

    // MARK: Connection-request credentials

    func informRequest(_ code: EventCode) -> CWMPHTTPRequest {
        let envelope = CWMPEnvelope(header: CWMPHeader(id: "1"), message: .inform(Inform(deviceId: testIdentity, events: [EventStruct(eventCode: code)], currentTime: t0)))
        return CWMPHTTPRequest(body: codecEncoder.encode(envelope))
    }

    func answer(_ message: CWMPMessage, to id: String) -> CWMPHTTPRequest {
        CWMPHTTPRequest(body: codecEncoder.encode(CWMPEnvelope(header: CWMPHeader(id: id), message: message)))
    }

    /// A table that gives each CPE its device ID and a password made from it, with the
    /// dispatcher's plan (one GetParameters) already delivered to `s1` after its Inform.
    func bootstrapped(_ code: EventCode, credentials: (@Sendable (String) -> (username: String, password: String)?)? = { ($0, "pw-" + $0) }) -> (CWMPSessionTable, [CWMPSessionTable.Output]) {
        var table = CWMPSessionTable(capacity: 10, connectionRequestCredentials: credentials)
        _ = table.open(context("s1"), now: t0)
        var outputs = table.receive(request: informRequest(code), sessionID: "s1", now: t0)
        var delivery = Twinfleet_Bus_V1_Delivery()
        delivery.sessionID = "s1"
        delivery.deviceID = testDeviceID
        delivery.command.command = command("g1", getParameters(["Device.DeviceInfo.UpTime"]))
        delivery.command.attempt = 1
        outputs += table.receive(delivery: delivery, now: t0)
        var end = delivery
        end.endOfPlan.plannedCommands = 1
        outputs += table.receive(delivery: end, now: t0)
        return (table, outputs)
    }

    @Test func bootstrapSessionSetsTheConnectionRequestCredentialsFirstAndPublishesNoneOfThem() throws {
        var (table, outputs) = bootstrapped(.bootstrap)
        let first = try #require(table.receive(request: .empty, sessionID: "s1", now: t0).first)
        outputs.append(first)
        let rpc = try sentRPC(first.step)
        guard case .setParameterValues(let set) = rpc.message else {
            Issue.record("expected SetParameterValues first, got \(rpc.message.methodName)")
            return
        }
        #expect(set.parameterList.map(\.name) == ["Device.ManagementServer.ConnectionRequestUsername", "Device.ManagementServer.ConnectionRequestPassword"])
        #expect(set.parameterList.map(\.value.text) == [testDeviceID, "pw-" + testDeviceID])
        #expect(first.step.results.isEmpty, "the ingress's own RPC is no command")

        // Taken: the dispatcher's command runs next.
        let taken = try #require(table.receive(request: answer(.setParameterValuesResponse(SetParameterValuesResponse(status: .applied)), to: rpc.id), sessionID: "s1", now: t0).first)
        outputs.append(taken)
        #expect(taken.step.credentialsProvisioned == true)
        guard case .getParameterValues = try sentRPC(taken.step).message else {
            Issue.record("expected the dispatcher's GetParameterValues next")
            return
        }
        #expect(taken.step.results.map(\.commandID) == ["g1"])
        // Neither the password nor a value change of the credentials reached any record.
        let published = try outputs.flatMap { try $0.step.events.map { try $0.serializedBytes() as [UInt8] } + $0.step.results.map { try $0.serializedBytes() as [UInt8] } }
        #expect(!published.contains { String(decoding: $0, as: UTF8.self).contains("pw-") })
        #expect(!published.contains { String(decoding: $0, as: UTF8.self).contains("ConnectionRequestUsername") })
    }

    @Test func refusedCredentialsDoNotHoldBackTheCommands() throws {
        var (table, _) = bootstrapped(.bootstrap)
        let first = try #require(table.receive(request: .empty, sessionID: "s1", now: t0).first)
        let rpc = try sentRPC(first.step)
        let fault = CWMPFault(code: .cpeInvalidArguments, string: "Invalid arguments",
                              setParameterValuesFaults: [SetParameterValuesFault(parameterName: "Device.ManagementServer.ConnectionRequestPassword", code: .invalidParameterName, string: "no such parameter")])
        let refused = try #require(table.receive(request: answer(.fault(fault), to: rpc.id), sessionID: "s1", now: t0).first)
        #expect(refused.step.credentialsProvisioned == false)
        #expect(refused.step.results.map(\.commandID) == ["g1"])
        #expect(refused.step.results.map(\.status) == [.delivered])
        guard case .getParameterValues = try sentRPC(refused.step).message else {
            Issue.record("expected the dispatcher's GetParameterValues after the refusal")
            return
        }
    }

    @Test func otherSessionsAndUnconfiguredTablesSetNoCredentials() throws {
        typealias Credentials = @Sendable (String) -> (username: String, password: String)?
        let always: Credentials = { ($0, "pw") }, never: Credentials = { _ in nil }
        let cases: [(EventCode, Credentials?)] = [(.periodic, always), (.bootstrap, nil), (.bootstrap, never)]
        for (code, credentials) in cases {
            var (table, _) = bootstrapped(code, credentials: credentials)
            let first = try #require(table.receive(request: .empty, sessionID: "s1", now: t0).first)
            guard case .getParameterValues = try sentRPC(first.step).message else {
                Issue.record("expected the dispatcher's command first (\(code.rawValue))")
                continue
            }
            #expect(first.step.credentialsProvisioned == nil)
        }
    }
}
