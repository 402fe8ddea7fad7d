import BusContracts
import Foundation
import Testing
@testable import Dispatcher

/// The queue's rules as a value type: order, dependencies, retries, expiry, cancellation,
/// idempotency, CWMP plans and connection requests, USP one-at-a-time delivery.
@Suite struct DeviceQueueTests {
    static let t0 = Date(timeIntervalSince1970: 1_800_000_000)
    static let device = "00D09E-HGW-S1"

    static func command(_ id: String, priority: Int32 = 0, independent: Bool = false, key: String = "",
                        notBefore: Date? = nil, expiresAt: Date? = nil) -> Twinfleet_Bus_V1_Command {
        var command = Twinfleet_Bus_V1_Command()
        command.commandID = id
        command.deviceID = device
        command.tenantID = "t1"
        command.priority = priority
        command.independent = independent
        command.idempotencyKey = key
        if let notBefore { command.notBeforeUs = notBefore.unixMicroseconds }
        if let expiresAt { command.expiresAtUs = expiresAt.unixMicroseconds }
        var set = Twinfleet_Bus_V1_SetParameters()
        var parameter = Twinfleet_Bus_V1_Parameter()
        parameter.path = "Device.WiFi.SSID.1.SSID"
        parameter.value.stringValue = id
        set.parameters = [parameter]
        command.setParameters = set
        return command
    }

    static func presence(_ kind: Twinfleet_Bus_V1_Presence.Kind, instance: String = "cwmp-0", url: String = "http://10.0.0.1:7547/cr") -> Twinfleet_Bus_V1_Presence {
        var presence = Twinfleet_Bus_V1_Presence()
        presence.kind = kind
        presence.instanceID = instance
        presence.connectionRequestURL = url
        return presence
    }

    static func result(_ id: String, _ status: Twinfleet_Bus_V1_CommandStatus, attempt: UInt32 = 1, retriable: Bool = false) -> Twinfleet_Bus_V1_CommandResult {
        var result = Twinfleet_Bus_V1_CommandResult()
        result.commandID = id
        result.deviceID = device
        result.instanceID = "cwmp-0"
        result.attempt = attempt
        result.status = status
        if status == .failed || status == .notDelivered {
            result.error.code = 9002
            result.error.message = "internal error"
            result.error.retriable = retriable
        }
        return result
    }

    /// A CWMP device that has synced before (no Refresh planned).
    static func cwmpQueue(policy: DispatchPolicy = DispatchPolicy(refreshInterval: nil)) -> DeviceQueue {
        var device = DispatchDevice(deviceID: device, partition: 0, tenantID: "t1")
        device.deviceProtocol = .cwmp
        device.needsRefresh = false
        return DeviceQueue(device: device, commands: [], policy: policy)
    }

    static func uspQueue() -> DeviceQueue {
        var device = DispatchDevice(deviceID: device, partition: 0, tenantID: "t1")
        device.deviceProtocol = .usp
        device.needsRefresh = false
        return DeviceQueue(device: device, commands: [], policy: DispatchPolicy(refreshInterval: nil))
    }

    /// Command IDs delivered, in order; "EOP n" for an end of plan; "CR" for a connection request.
    static func deliveries(_ effects: [DispatchEffect]) -> [String] {
        effects.compactMap {
            guard case .deliver(_, let delivery) = $0 else { return nil }
            switch delivery.body {
            case .command(let command)?: return command.command.commandID
            case .endOfPlan(let end)?: return "EOP \(end.plannedCommands)"
            case .connectionRequest?: return "CR"
            case nil: return nil
            }
        }
    }

    static func results(_ effects: [DispatchEffect]) -> [String] {
        effects.compactMap {
            guard case .result(let result) = $0 else { return nil }
            return "\(result.commandID):\(result.status)"
        }
    }

    @Test func offlineCWMPDeviceGetsItsQueueInPriorityOrderAtTheNextSessionWithEndOfPlan() {
        var queue = Self.cwmpQueue()
        #expect(Self.results(queue.request(Self.command("a"), now: Self.t0)) == [])
        #expect(queue.transitions.map(\.to) == [.queued])
        _ = queue.request(Self.command("b"), now: Self.t0)
        _ = queue.request(Self.command("urgent", priority: 5), now: Self.t0)
        let effects = queue.presence(Self.presence(.sessionOpened), sessionID: "s1", deviceProtocol: .cwmp, tenantID: "t1", now: Self.t0)
        #expect(Self.deliveries(effects) == ["urgent", "a", "b", "EOP 3"])
        #expect(queue.command("a")?.state == .dispatched)
        #expect(queue.command("a")?.dispatches == 1)
        #expect(queue.command("a")?.sessionID == "s1")
    }

    @Test func forgettingCancelsQueuedCommandsAndLetsRunningOnesEnd() {
        var queue = Self.cwmpQueue()
        _ = queue.request(Self.command("a"), now: Self.t0)
        _ = queue.request(Self.command("b"), now: Self.t0)
        _ = queue.presence(Self.presence(.sessionOpened), sessionID: "s1", deviceProtocol: .cwmp, tenantID: "t1", now: Self.t0)
        _ = queue.request(Self.command("c"), now: Self.t0)
        // a and b are in the session's plan; c waits in the queue.
        let effects = queue.forget(now: Self.t0)
        #expect(Self.results(effects) == ["c:cancelled"], "\(Self.results(effects))")
        #expect(!Self.results(effects).contains { $0.hasPrefix("a") || $0.hasPrefix("b") }, "planned commands are cancelled when they end")
        #expect(queue.forget(now: Self.t0).isEmpty, "forgetting twice changes nothing")
    }

    @Test func sessionWithNothingQueuedStillGetsAnEndOfPlan() {
        var queue = Self.cwmpQueue()
        let effects = queue.presence(Self.presence(.sessionOpened), sessionID: "s1", deviceProtocol: .cwmp, tenantID: "t1", now: Self.t0)
        #expect(Self.deliveries(effects) == ["EOP 0"])
    }

    @Test func newDeviceGetsARefreshFirstAndItIsPublishedAsACommand() {
        var queue = DeviceQueue(device: DispatchDevice(deviceID: Self.device, partition: 3), commands: [], policy: DispatchPolicy())
        _ = queue.request(Self.command("a"), now: Self.t0)
        let effects = queue.presence(Self.presence(.sessionOpened), sessionID: "s1", deviceProtocol: .cwmp, tenantID: "t1", now: Self.t0)
        let delivered = Self.deliveries(effects)
        #expect(delivered.count == 3)
        #expect(delivered[0].hasPrefix("refresh-"))
        #expect(Array(delivered.dropFirst()) == ["a", "EOP 2"])
        #expect(effects.contains { if case .command(let envelope) = $0 { return envelope.requested.command.commandID == delivered[0] } else { return false } })
        // Its success marks the device synchronised: the next session plans no Refresh.
        _ = queue.result(Self.result(delivered[0], .succeeded), now: Self.t0)
        #expect(queue.device.needsRefresh == false)
        #expect(queue.device.lastFullSyncAt == Self.t0)
        _ = queue.presence(Self.presence(.sessionClosed), sessionID: "s1", deviceProtocol: .cwmp, tenantID: "t1", now: Self.t0)
        let next = queue.presence(Self.presence(.sessionOpened), sessionID: "s2", deviceProtocol: .cwmp, tenantID: "t1", now: Self.t0)
        #expect(!Self.deliveries(next).contains { $0.hasPrefix("refresh-") })
    }

    @Test func commandQueuedForAnIdleCWMPDeviceTriggersOneConnectionRequestWithBackoff() {
        var queue = Self.cwmpQueue()
        _ = queue.presence(Self.presence(.sessionOpened), sessionID: "s1", deviceProtocol: .cwmp, tenantID: "t1", now: Self.t0)
        _ = queue.presence(Self.presence(.sessionClosed), sessionID: "s1", deviceProtocol: .cwmp, tenantID: "t1", now: Self.t0)
        #expect(Self.deliveries(queue.request(Self.command("a"), now: Self.t0)) == ["CR"])
        // A second command right after does not ask again.
        #expect(Self.deliveries(queue.request(Self.command("b"), now: Self.t0.addingTimeInterval(1))) == [])
        #expect(queue.wakeAt(after: Self.t0.addingTimeInterval(1)) == Self.t0.addingTimeInterval(30))
        #expect(Self.deliveries(queue.tick(now: Self.t0.addingTimeInterval(29))) == [])
        #expect(Self.deliveries(queue.tick(now: Self.t0.addingTimeInterval(30))) == ["CR"])
        // Backoff doubles: the third request waits 60 s more.
        #expect(queue.wakeAt(after: Self.t0.addingTimeInterval(30)) == Self.t0.addingTimeInterval(90))
        // The session that follows plans both.
        let effects = queue.presence(Self.presence(.sessionOpened), sessionID: "s2", deviceProtocol: .cwmp, tenantID: "t1", now: Self.t0.addingTimeInterval(31))
        #expect(Self.deliveries(effects) == ["a", "b", "EOP 2"])
        #expect(queue.device.connectionRequests == 0)
    }

    @Test func notDeliveredGoesBackToTheQueueAndRunsInTheNextSession() {
        var queue = Self.cwmpQueue()
        _ = queue.request(Self.command("a"), now: Self.t0)
        _ = queue.presence(Self.presence(.sessionOpened), sessionID: "s1", deviceProtocol: .cwmp, tenantID: "t1", now: Self.t0)
        _ = queue.result(Self.result("a", .notDelivered, attempt: 1, retriable: true), now: Self.t0)
        #expect(queue.command("a")?.state == .queued)
        #expect(queue.command("a")?.failures == 0)
        _ = queue.presence(Self.presence(.sessionClosed), sessionID: "s1", deviceProtocol: .cwmp, tenantID: "t1", now: Self.t0)
        let effects = queue.presence(Self.presence(.sessionOpened), sessionID: "s2", deviceProtocol: .cwmp, tenantID: "t1", now: Self.t0)
        #expect(Self.deliveries(effects) == ["a", "EOP 1"])
        #expect(queue.command("a")?.dispatches == 2)
        // A stale result of the first delivery changes nothing.
        _ = queue.result(Self.result("a", .notDelivered, attempt: 1, retriable: true), now: Self.t0)
        #expect(queue.command("a")?.state == .dispatched)
    }

    @Test func commandOfASessionThatVanishedGoesBackAfterTheGraceNotAtOnce() {
        var queue = Self.cwmpQueue()
        _ = queue.request(Self.command("a"), now: Self.t0)
        _ = queue.presence(Self.presence(.sessionOpened), sessionID: "s1", deviceProtocol: .cwmp, tenantID: "t1", now: Self.t0)
        // A new session on another pod: the result of s1 may still be on its way, so "a" is
        // not planned again yet.
        let effects = queue.presence(Self.presence(.sessionOpened, instance: "cwmp-1"), sessionID: "s2", deviceProtocol: .cwmp, tenantID: "t1", now: Self.t0)
        #expect(Self.deliveries(effects) == ["EOP 0"])
        #expect(queue.wakeAt(after: Self.t0) == Self.t0.addingTimeInterval(30))
        // A late result settles it.
        var late = queue
        _ = late.result(Self.result("a", .succeeded), now: Self.t0.addingTimeInterval(1))
        #expect(late.command("a")?.state == .succeeded)
        // No result within the grace: back to the queue, and into the next session.
        _ = queue.tick(now: Self.t0.addingTimeInterval(30))
        #expect(queue.command("a")?.state == .queued)
        _ = queue.presence(Self.presence(.sessionClosed, instance: "cwmp-1"), sessionID: "s2", deviceProtocol: .cwmp, tenantID: "t1", now: Self.t0.addingTimeInterval(31))
        let next = queue.presence(Self.presence(.sessionOpened, instance: "cwmp-1"), sessionID: "s3", deviceProtocol: .cwmp, tenantID: "t1", now: Self.t0.addingTimeInterval(32))
        #expect(Self.deliveries(next) == ["a", "EOP 1"])
        #expect(next.allSatisfy { if case .deliver(let instance, _) = $0 { return instance == "cwmp-1" } else { return true } })
    }

    @Test func sessionClosedBeforeTheResultIsReadDoesNotRequeue() {
        var queue = Self.cwmpQueue()
        _ = queue.request(Self.command("a"), now: Self.t0)
        _ = queue.presence(Self.presence(.sessionOpened), sessionID: "s1", deviceProtocol: .cwmp, tenantID: "t1", now: Self.t0)
        _ = queue.result(Self.result("a", .delivered), now: Self.t0)
        _ = queue.presence(Self.presence(.sessionClosed), sessionID: "s1", deviceProtocol: .cwmp, tenantID: "t1", now: Self.t0)
        #expect(queue.command("a")?.state == .delivered)
        let next = queue.presence(Self.presence(.sessionOpened), sessionID: "s2", deviceProtocol: .cwmp, tenantID: "t1", now: Self.t0)
        #expect(Self.deliveries(next) == ["EOP 0"])
        _ = queue.result(Self.result("a", .succeeded), now: Self.t0)
        #expect(queue.command("a")?.state == .succeeded)
        #expect(queue.transitions.map(\.to) == [.queued, .dispatched, .delivered, .succeeded])
    }

    @Test func deliveryTimeoutRequeues() {
        var queue = Self.uspQueue()
        _ = queue.presence(Self.presence(.connected, instance: "usp-0"), sessionID: "c1", deviceProtocol: .usp, tenantID: "t1", now: Self.t0)
        _ = queue.request(Self.command("a"), now: Self.t0)
        #expect(queue.wakeAt(after: Self.t0) == Self.t0.addingTimeInterval(600))
        let effects = queue.tick(now: Self.t0.addingTimeInterval(600))
        // Requeued and, the device being connected, delivered again at once.
        #expect(Self.deliveries(effects) == ["a"])
        #expect(queue.command("a")?.dispatches == 2)
    }

    @Test func retriableFailureBacksOffThenGivesUpAfterMaxFailures() {
        var queue = Self.uspQueue()
        _ = queue.presence(Self.presence(.connected, instance: "usp-0"), sessionID: "c1", deviceProtocol: .usp, tenantID: "t1", now: Self.t0)
        _ = queue.request(Self.command("a"), now: Self.t0)
        var now = Self.t0
        for failure in 1..<5 {
            let effects = queue.result(Self.result("a", .failed, attempt: UInt32(failure), retriable: true), now: now)
            #expect(Self.deliveries(effects) == [])
            #expect(queue.command("a")?.state == .queued)
            let backoff = 30 * pow(2, Double(failure - 1))
            #expect(queue.command("a")?.retryAt == now.addingTimeInterval(backoff))
            now = now.addingTimeInterval(backoff)
            #expect(Self.deliveries(queue.tick(now: now)) == ["a"])
        }
        let last = queue.result(Self.result("a", .failed, attempt: 5, retriable: true), now: now)
        #expect(queue.command("a")?.state == .failed)
        #expect(Self.results(last) == ["a:failed"])
    }

    @Test func finalFailureFailsDependentsButNotIndependentCommands() {
        var queue = Self.cwmpQueue()
        _ = queue.request(Self.command("a"), now: Self.t0)
        _ = queue.request(Self.command("b"), now: Self.t0)
        _ = queue.request(Self.command("c", independent: true), now: Self.t0)
        _ = queue.presence(Self.presence(.sessionOpened), sessionID: "s1", deviceProtocol: .cwmp, tenantID: "t1", now: Self.t0)
        let effects = queue.result(Self.result("a", .failed), now: Self.t0)
        #expect(queue.command("b")?.state == .failed)
        #expect(queue.command("b")?.lastError?.code == TwinfleetErrorCode.predecessorFailed.rawValue)
        #expect(Self.results(effects) == ["b:failed"])
        #expect(queue.command("c")?.state == .dispatched)
        // The session's NOT_DELIVERED for b comes too late to change anything.
        _ = queue.result(Self.result("b", .notDelivered, retriable: true), now: Self.t0)
        #expect(queue.command("b")?.state == .failed)
    }

    @Test func dependentWaitsForItsPredecessorsNotBeforeTimeButIndependentDoesNot() {
        var queue = Self.cwmpQueue()
        _ = queue.request(Self.command("later", notBefore: Self.t0.addingTimeInterval(3600)), now: Self.t0)
        _ = queue.request(Self.command("dependent"), now: Self.t0)
        _ = queue.request(Self.command("free", independent: true), now: Self.t0)
        let effects = queue.presence(Self.presence(.sessionOpened), sessionID: "s1", deviceProtocol: .cwmp, tenantID: "t1", now: Self.t0)
        #expect(Self.deliveries(effects) == ["free", "EOP 1"])
    }

    @Test func uspDeliversOneDependentAtATimeAndTheNextOnSuccess() {
        var queue = Self.uspQueue()
        _ = queue.presence(Self.presence(.connected, instance: "usp-0"), sessionID: "c1", deviceProtocol: .usp, tenantID: "t1", now: Self.t0)
        #expect(Self.deliveries(queue.request(Self.command("a"), now: Self.t0)) == ["a"])
        #expect(Self.deliveries(queue.request(Self.command("b"), now: Self.t0)) == [])
        #expect(Self.deliveries(queue.request(Self.command("c", independent: true), now: Self.t0)) == ["c"])
        _ = queue.result(Self.result("a", .delivered), now: Self.t0)
        #expect(Self.deliveries(queue.result(Self.result("a", .succeeded), now: Self.t0)) == ["b"])
    }

    @Test func uspDisconnectThenReconnectElsewhereReroutesAfterTheGrace() {
        var queue = Self.uspQueue()
        _ = queue.presence(Self.presence(.connected, instance: "usp-0"), sessionID: "c1", deviceProtocol: .usp, tenantID: "t1", now: Self.t0)
        _ = queue.request(Self.command("a"), now: Self.t0)
        _ = queue.presence(Self.presence(.disconnected, instance: "usp-0"), sessionID: "c1", deviceProtocol: .usp, tenantID: "t1", now: Self.t0)
        #expect(Self.deliveries(queue.request(Self.command("b", independent: true), now: Self.t0)) == [])
        let effects = queue.presence(Self.presence(.connected, instance: "usp-1"), sessionID: "c2", deviceProtocol: .usp, tenantID: "t1", now: Self.t0)
        #expect(Self.deliveries(effects) == ["b"])
        let later = queue.tick(now: Self.t0.addingTimeInterval(30))
        #expect(Self.deliveries(later) == ["a"])
        #expect(later.allSatisfy { if case .deliver(let instance, _) = $0 { return instance == "usp-1" } else { return true } })
        #expect(queue.command("a")?.dispatches == 2)
    }

    @Test func expiryCancellationAndIdempotency() {
        var queue = Self.cwmpQueue()
        _ = queue.request(Self.command("old", expiresAt: Self.t0.addingTimeInterval(60)), now: Self.t0)
        _ = queue.request(Self.command("x", key: "k1"), now: Self.t0)
        #expect(Self.results(queue.request(Self.command("y", key: "k1"), now: Self.t0)) == ["y:cancelled"])
        #expect(queue.command("y") == nil)
        #expect(queue.request(Self.command("x"), now: Self.t0).isEmpty)
        #expect(queue.wakeAt(after: Self.t0) == Self.t0.addingTimeInterval(60))
        let cancelled = queue.cancel("x", reason: "superseded", now: Self.t0)
        #expect(Self.results(cancelled) == ["x:cancelled"])
        let expired = queue.tick(now: Self.t0.addingTimeInterval(61))
        #expect(Self.results(expired) == ["old:expired"])
        #expect(queue.commands.allSatisfy { $0.state.isFinal })
        // A cancellation of a command in flight takes effect when it comes back undelivered.
        _ = queue.request(Self.command("z"), now: Self.t0)
        _ = queue.presence(Self.presence(.sessionOpened), sessionID: "s1", deviceProtocol: .cwmp, tenantID: "t1", now: Self.t0)
        #expect(queue.cancel("z", reason: "", now: Self.t0).isEmpty)
        _ = queue.result(Self.result("z", .notDelivered, retriable: true), now: Self.t0)
        #expect(queue.command("z")?.state == .cancelled)
    }

    @Test func transferCompleteUnderTheCommandKeyFinishesTheDownload() {
        var queue = Self.cwmpQueue()
        var download = Self.command("fw")
        var body = Twinfleet_Bus_V1_Download()
        body.url = "http://files/fw.bin"
        body.commandKey = "campaign-7"
        download.download = body
        _ = queue.request(download, now: Self.t0)
        _ = queue.presence(Self.presence(.sessionOpened), sessionID: "s1", deviceProtocol: .cwmp, tenantID: "t1", now: Self.t0)
        _ = queue.result(Self.result("fw", .inProgress), now: Self.t0)
        _ = queue.presence(Self.presence(.sessionClosed), sessionID: "s1", deviceProtocol: .cwmp, tenantID: "t1", now: Self.t0)
        #expect(queue.command("fw")?.state == .inProgress)
        var complete = Self.result("campaign-7", .succeeded, attempt: 0)
        complete.instanceID = "cwmp-1"
        _ = queue.result(complete, now: Self.t0)
        #expect(queue.command("fw")?.state == .succeeded)
    }

    @Test func operationCompleteOnALaterConnectionFinishesTheAsyncCommand() {
        var queue = Self.uspQueue()
        _ = queue.presence(Self.presence(.connected, instance: "usp-0"), sessionID: "c1", deviceProtocol: .usp, tenantID: "t1", now: Self.t0)
        var firmware = Self.command("fw")
        var body = Twinfleet_Bus_V1_Download()
        body.url = "http://files/fw.bin"
        body.fileType = "1 Firmware Upgrade Image"
        firmware.download = body
        var ping = Self.command("ping", independent: true)
        ping.operate.commandPath = "Device.IP.Diagnostics.IPPing()"
        ping.operate.commandKey = "diag-1"
        _ = queue.request(firmware, now: Self.t0)
        _ = queue.request(ping, now: Self.t0)
        _ = queue.result(Self.result("fw", .inProgress), now: Self.t0)
        // The device reboots into the new image and reports on a new connection.
        _ = queue.presence(Self.presence(.disconnected, instance: "usp-0"), sessionID: "c1", deviceProtocol: .usp, tenantID: "t1", now: Self.t0)
        _ = queue.presence(Self.presence(.connected, instance: "usp-1"), sessionID: "c2", deviceProtocol: .usp, tenantID: "t1", now: Self.t0)
        var done = Twinfleet_Bus_V1_OperationComplete()
        done.commandPath = "Device.DeviceInfo.FirmwareImage.2.Download()"
        done.commandKey = "fw"
        done.outputArgs.args = [:]
        let effects = queue.operationCompleted(done, now: Self.t0)
        #expect(queue.command("fw")?.state == .succeeded)
        #expect(Self.results(effects) == ["fw:succeeded"])
        // A failure under its own command key fails the command; an unknown key changes nothing.
        var failed = Twinfleet_Bus_V1_OperationComplete()
        failed.commandKey = "diag-1"
        failed.failure.code = 7022
        failed.failure.message = "host unreachable"
        var unknown = failed
        unknown.commandKey = "nobody"
        #expect(queue.operationCompleted(unknown, now: Self.t0).isEmpty)
        #expect(Self.results(queue.operationCompleted(failed, now: Self.t0)) == ["ping:failed"])
        #expect(queue.command("ping")?.lastError?.code == 7022)
    }

    @Test func uspObjectCreationQueuesARefreshOfTheInstanceUnlessAQueuedOneCoversIt() {
        func refreshes(_ effects: [DispatchEffect]) -> [Twinfleet_Bus_V1_Command] {
            effects.compactMap { if case .command(let envelope) = $0 { envelope.requested.command } else { nil } }
        }
        var queue = Self.uspQueue()
        _ = queue.presence(Self.presence(.connected, instance: "usp-0"), sessionID: "c1", deviceProtocol: .usp, tenantID: "t1", now: Self.t0)
        // On a live connection the Refresh of the new instance is announced and sent at once.
        let first = queue.objectCreated(path: "Device.Hosts.Host.5.", now: Self.t0)
        #expect(refreshes(first).map(\.refresh.path) == ["Device.Hosts.Host.5."])
        #expect(Self.deliveries(first) == refreshes(first).map(\.commandID))
        // One already sent may have read the table before the instance existed: another is queued.
        let again = queue.objectCreated(path: "Device.Hosts.Host.5.", now: Self.t0)
        #expect(refreshes(again).map(\.refresh.path) == ["Device.Hosts.Host.5."])
        #expect(refreshes(again).map(\.commandID) != refreshes(first).map(\.commandID))
        // Its success is not a full synchronisation.
        _ = queue.result(Self.result(refreshes(first)[0].commandID, .succeeded), now: Self.t0)
        #expect(queue.command(refreshes(first)[0].commandID)?.state == .succeeded)
        #expect(queue.device.lastFullSyncAt == nil)

        // Offline, a queued Refresh of the instance (or of its table, or of everything) covers
        // later creations under it.
        var offline = Self.uspQueue()
        let queued = refreshes(offline.objectCreated(path: "Device.Hosts.Host.7.", now: Self.t0))
        #expect(queued.count == 1)
        #expect(offline.command(queued[0].commandID)?.state == .queued)
        #expect(offline.objectCreated(path: "Device.Hosts.Host.7.", now: Self.t0).isEmpty)
        #expect(offline.objectCreated(path: "Device.Hosts.Host.7.IPv4Address.1.", now: Self.t0).isEmpty)
        #expect(refreshes(offline.objectCreated(path: "Device.Hosts.Host.8.", now: Self.t0)).count == 1)

        // A CWMP device's creations come from its own AddObject or a sync: nothing more is read.
        var cwmp = Self.cwmpQueue()
        #expect(cwmp.objectCreated(path: "Device.Hosts.Host.5.", now: Self.t0).isEmpty)
        // Not an instance path: nothing.
        var other = Self.uspQueue()
        #expect(other.objectCreated(path: "Device.Hosts.Host.5", now: Self.t0).isEmpty)
    }

    @Test func ownResultsAreIgnored() {
        var queue = Self.cwmpQueue()
        _ = queue.request(Self.command("a"), now: Self.t0)
        var echo = Self.result("a", .failed)
        echo.instanceID = "command-dispatcher-0"
        #expect(queue.result(echo, now: Self.t0).isEmpty)
        #expect(queue.command("a")?.state == .queued)
    }
}

/// The rules the review of the first cut asked for.
@Suite struct DeviceQueueEdgeTests {
    typealias T = DeviceQueueTests

    @Test func unreachableDeviceDoesNotMakeTheClockSpin() {
        var queue = T.cwmpQueue()
        // Never connected: no instance, no connection request possible.
        _ = queue.request(T.command("a", notBefore: T.t0.addingTimeInterval(-60)), now: T.t0)
        #expect(queue.wakeAt(after: T.t0) == nil)
        _ = queue.tick(now: T.t0.addingTimeInterval(5))
        #expect(queue.wakeAt(after: T.t0.addingTimeInterval(5)) == nil)
    }

    @Test func inProgressDownloadExpiresOrTimesOutAndReleasesItsDependents() {
        var queue = T.cwmpQueue()
        var download = T.command("fw", expiresAt: T.t0.addingTimeInterval(3600))
        download.download.url = "http://files/fw.bin"
        _ = queue.request(download, now: T.t0)
        _ = queue.request(T.command("after"), now: T.t0)
        let plan = queue.presence(T.presence(.sessionOpened), sessionID: "s1", deviceProtocol: .cwmp, tenantID: "t1", now: T.t0)
        // A transfer ends the chain: "after" waits for the TransferComplete.
        #expect(T.deliveries(plan) == ["fw", "EOP 1"])
        _ = queue.result(T.result("fw", .inProgress), now: T.t0)
        #expect(queue.wakeAt(after: T.t0) == T.t0.addingTimeInterval(3600))
        let expired = queue.tick(now: T.t0.addingTimeInterval(3600))
        #expect(T.results(expired) == ["fw:expired", "after:failed"])
    }

    @Test func cancelRequestDoesNotHideARealFailure() {
        var queue = T.cwmpQueue()
        _ = queue.request(T.command("a"), now: T.t0)
        _ = queue.presence(T.presence(.sessionOpened), sessionID: "s1", deviceProtocol: .cwmp, tenantID: "t1", now: T.t0)
        _ = queue.cancel("a", reason: "", now: T.t0)
        _ = queue.result(T.result("a", .failed, retriable: false), now: T.t0)
        #expect(queue.command("a")?.state == .failed)
    }

    @Test func higherPriorityDependentWaitsForTheDependentInFlight() {
        var queue = T.uspQueue()
        _ = queue.presence(T.presence(.connected, instance: "usp-0"), sessionID: "c1", deviceProtocol: .usp, tenantID: "t1", now: T.t0)
        #expect(T.deliveries(queue.request(T.command("low"), now: T.t0)) == ["low"])
        #expect(T.deliveries(queue.request(T.command("high", priority: 9), now: T.t0)) == [])
        #expect(T.deliveries(queue.result(T.result("low", .succeeded), now: T.t0)) == ["high"])
    }

    @Test func lateInProgressAfterAnOrphanRequeueIsAccepted() {
        var queue = T.uspQueue()
        _ = queue.presence(T.presence(.connected, instance: "usp-0"), sessionID: "c1", deviceProtocol: .usp, tenantID: "t1", now: T.t0)
        _ = queue.request(T.command("a"), now: T.t0)
        _ = queue.presence(T.presence(.disconnected, instance: "usp-0"), sessionID: "c1", deviceProtocol: .usp, tenantID: "t1", now: T.t0)
        _ = queue.tick(now: T.t0.addingTimeInterval(30))
        #expect(queue.command("a")?.state == .queued)
        _ = queue.result(T.result("a", .inProgress, attempt: 1), now: T.t0.addingTimeInterval(31))
        #expect(queue.command("a")?.state == .inProgress)
    }

    @Test func expiredReportedByTheSessionIsFinalAndNotRepublished() {
        var queue = T.cwmpQueue()
        _ = queue.request(T.command("a"), now: T.t0)
        _ = queue.presence(T.presence(.sessionOpened), sessionID: "s1", deviceProtocol: .cwmp, tenantID: "t1", now: T.t0)
        #expect(T.results(queue.result(T.result("a", .expired), now: T.t0)) == [])
        #expect(queue.command("a")?.state == .expired)
    }

    @Test func uspFactoryResetBootPlansARefreshOnTheLiveConnection() {
        var queue = T.uspQueue()
        _ = queue.presence(T.presence(.connected, instance: "usp-0"), sessionID: "c1", deviceProtocol: .usp, tenantID: "t1", now: T.t0)
        let effects = queue.booted(factoryReset: true, now: T.t0)
        #expect(T.deliveries(effects).first?.hasPrefix("refresh-") == true)
    }

    @Test func lostCWMPSessionMakesTheDeviceIdleAgain() {
        var queue = T.cwmpQueue()
        _ = queue.presence(T.presence(.sessionOpened), sessionID: "s1", deviceProtocol: .cwmp, tenantID: "t1", now: T.t0)
        _ = queue.request(T.command("a"), now: T.t0)
        // Queued during the session: waits. The session's ingress dies without a word.
        _ = queue.presence(T.presence(.sessionOpened), sessionID: "s1", deviceProtocol: .cwmp, tenantID: "t1", now: T.t0)
        #expect(queue.command("a")?.state == .dispatched)
        let later = queue.tick(now: T.t0.addingTimeInterval(600))
        #expect(queue.device.connected == false)
        #expect(T.deliveries(later) == ["CR"])
    }
}
