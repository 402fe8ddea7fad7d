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
}
