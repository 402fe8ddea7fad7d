import BusContracts
import CWMPCodec
import CWMPSession
import Foundation
import Testing
import TwinfleetModel

/// How sessions end: end-of-plan, plan deadline, idle timeout, from outside; and deliveries
/// that are not this session's.
@Suite struct SessionEndTests {
    @Test func endOfPlanBeforeTheEmptyPOSTEndsWith204() throws {
        var harness = Harness()
        try harness.inform()
        let planEnd = harness.endPlan(planned: 0)
        #expect(planEnd.reply == nil)
        #expect(harness.session.endOfPlanReceived)
        let step = harness.postEmpty()
        #expect(isNoContent(step))
        #expect(step.sessionEnded)
        #expect(step.presenceKinds == [.sessionClosed])
        guard case .presence(let presence)? = step.events.first?.body else { return }
        #expect(presence.reason == "completed")
        #expect(presence.instanceID == "cwmp-ingress-0")
    }

    @Test func endOfPlanReleasesTheParkedPOST() throws {
        var harness = Harness()
        try harness.informAndPark()
        let step = harness.endPlan(planned: 0)
        #expect(isNoContent(step))
        #expect(harness.session.state == .ended(.completed))
    }

    @Test func planDeadlineAnswers204() throws {
        var harness = Harness()
        try harness.informAndPark()
        let deadline = t0.addingTimeInterval(5)
        #expect(harness.session.nextDeadline == deadline)
        harness.advance(seconds: 4.9)
        let early = harness.session.tick(now: harness.now)
        #expect(early.isEmpty)
        harness.advance(seconds: 0.1)
        let step = harness.session.tick(now: harness.now)
        #expect(isNoContent(step))
        #expect(step.sessionEnded)
        #expect(harness.session.state == .ended(.planTimeout))
        guard case .presence(let presence)? = step.events.first?.body else {
            Issue.record("no session-closed")
            return
        }
        #expect(presence.kind == .sessionClosed)
        #expect(presence.reason == "plan timeout")
        #expect(harness.session.nextDeadline == nil)
    }

    @Test func deliveryWhileParkedKeepsTheDeadline() throws {
        var harness = Harness()
        try harness.informAndPark()
        harness.advance(seconds: 3)
        var operate = Twinfleet_Bus_V1_Operate()
        operate.commandPath = "Device.Reboot()"
        _ = harness.deliver(command("c-op", .operate(operate)))
        #expect(harness.session.state == .awaitingPlan(until: t0.addingTimeInterval(5)))
    }

    /// The command whose RPC was sent failed retriably (the device may have acted on it); the
    /// one never sent was not delivered.
    @Test func idleTimeoutReportsTheCommandInFlightFailedAndTheRestNotDelivered() throws {
        var harness = Harness()
        try harness.informAndPark()
        let step = harness.deliver(command("c1", getParameters(["Device.DeviceInfo.UpTime"])))
        #expect(step.response != nil)
        _ = harness.deliver(command("c2", .factoryReset(Twinfleet_Bus_V1_FactoryReset())))
        #expect(harness.session.nextDeadline == t0.addingTimeInterval(30))
        harness.advance(seconds: 29)
        let early = harness.session.tick(now: harness.now)
        #expect(early.isEmpty)
        harness.advance(seconds: 1)
        let end = harness.session.tick(now: harness.now)
        #expect(end.reply == nil)
        #expect(sameStatuses(end.statuses, [("c1", .failed), ("c2", .notDelivered)]))
        #expect(end.results.allSatisfy { $0.error.retriable && $0.error.code == TwinfleetErrorCode.sessionEnded.rawValue })
        #expect(end.presenceKinds == [.sessionClosed])
        #expect(harness.session.state == .ended(.idleTimeout))
    }

    @Test func deliveryForAnotherSessionIsIgnored() throws {
        var harness = Harness()
        try harness.informAndPark()
        let step = harness.deliver(command("c1", .factoryReset(Twinfleet_Bus_V1_FactoryReset())), sessionID: "s-old")
        #expect(step.reply == nil)
        #expect(step.results.isEmpty && step.events.isEmpty)
        #expect(step.notes.contains { $0.contains("s-old") })
        #expect(harness.session.queuedCommandIDs.isEmpty)
        #expect(harness.session.rpcCount == 0)
    }

    @Test func deliveryForAnotherDeviceIsIgnored() throws {
        var harness = Harness()
        try harness.inform()
        var delivery = Twinfleet_Bus_V1_Delivery()
        delivery.sessionID = "s1"
        delivery.deviceID = "someone-else"
        var body = Twinfleet_Bus_V1_CommandDelivery()
        body.command = command("c1", .factoryReset(Twinfleet_Bus_V1_FactoryReset()))
        delivery.command = body
        _ = harness.session.receive(delivery: delivery, now: harness.now)
        #expect(harness.session.queuedCommandIDs.isEmpty)
    }

    @Test func endingFromOutsideAnswersTheParkedPOST() throws {
        var harness = Harness()
        try harness.informAndPark()
        let step = harness.session.end(reason: .shutdown, now: harness.now)
        #expect(isNoContent(step))
        #expect(step.presenceKinds == [.sessionClosed])
        #expect(harness.session.state == .ended(.shutdown))
        let again = harness.session.end(reason: .shutdown, now: harness.now)
        #expect(again.isEmpty)
    }
}
