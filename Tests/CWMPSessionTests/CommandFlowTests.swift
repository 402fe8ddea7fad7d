import BusContracts
import CWMPCodec
import CWMPSession
import Foundation
import Testing
import TwinfleetModel

/// The ACS's part of a session: deliveries turned into RPCs one at a time, each answer into
/// results and events.
@Suite struct CommandFlowTests {
    @Test func planWithSetGetAndDownloadRunsInOrder() throws {
        var harness = Harness()
        try harness.informAndPark()
        let ssid = busParameter("Device.WiFi.SSID.1.SSID", .string("home"))
        let channel = busParameter("Device.WiFi.Radio.1.Channel", .unsignedInt(6))
        let setStep = harness.deliver(command("c-set", setParameters([ssid, channel], key: "pk1")), attempt: 2)

        let spv = try sentRPC(setStep)
        #expect(spv.id == "acs-1")
        #expect(spv.holdRequests == true)
        let expectedList = [ParameterValueStruct(name: "Device.WiFi.SSID.1.SSID", value: .string("home")),
                            ParameterValueStruct(name: "Device.WiFi.Radio.1.Channel", value: .unsignedInt(6))]
        #expect(spv.message == .setParameterValues(SetParameterValues(parameterList: expectedList, parameterKey: "pk1")))
        #expect(sameStatuses(setStep.statuses, [("c-set", .delivered)]))
        #expect(setStep.results.first?.attempt == 2)
        #expect(setStep.results.first?.instanceID == "cwmp-ingress-0")

        // Deliveries while an RPC is in flight wait their turn.
        let buffered = harness.deliver(command("c-get", getParameters(["Device.DeviceInfo.UpTime", "Device.WiFi.SSID.1."])))
        #expect(buffered.reply == nil && buffered.results.isEmpty)
        _ = harness.deliver(command("c-dl", download("http://files/fw.bin")))
        _ = harness.endPlan(planned: 3)
        #expect(harness.session.queuedCommandIDs == ["c-get", "c-dl"])

        let afterSet = try harness.answer(setStep, with: .setParameterValuesResponse(SetParameterValuesResponse(status: .applied)))
        #expect(sameStatuses(afterSet.statuses, [("c-set", .succeeded), ("c-get", .delivered)]))
        #expect(afterSet.results.first?.outputs.parameters == [ssid, channel])
        guard case .valueChange(let change)? = afterSet.events.first?.body else {
            Issue.record("a successful set should publish a ValueChange")
            return
        }
        #expect(change.parameters == [ssid, channel])
        let gpv = try sentRPC(afterSet)
        #expect(gpv.id == "acs-2")
        #expect(gpv.message == .getParameterValues(GetParameterValues(parameterNames: ["Device.DeviceInfo.UpTime", "Device.WiFi.SSID.1."])))

        let values = [ParameterValueStruct(name: "Device.DeviceInfo.UpTime", value: .unsignedInt(3600)),
                      ParameterValueStruct(name: "Device.WiFi.SSID.1.SSID", value: .string("home"))]
        let afterGet = try harness.answer(afterSet, with: .getParameterValuesResponse(GetParameterValuesResponse(parameterList: values)))
        #expect(sameStatuses(afterGet.statuses, [("c-get", .succeeded), ("c-dl", .delivered)]))
        #expect(afterGet.results.first?.outputs.parameters.map(\.path) == ["Device.DeviceInfo.UpTime", "Device.WiFi.SSID.1.SSID"])
        let report = try #require(afterGet.reports.first)
        #expect(afterGet.reports.count == 1)
        #expect(report.fullSyncRoot.isEmpty)
        #expect(report.finalChunk)
        #expect(report.commandID == "c-get")
        #expect(report.parameters.first == busParameter("Device.DeviceInfo.UpTime", .unsignedInt(3600)))

        let rpc = try sentRPC(afterGet)
        #expect(rpc.message == .download(Download(commandKey: "c-dl", fileType: "1 Firmware Upgrade Image", url: "http://files/fw.bin", fileSize: 1_234)))
        let afterDownload = try harness.answer(afterGet, with: .downloadResponse(TransferResponse(status: .pending)))
        #expect(sameStatuses(afterDownload.statuses, [("c-dl", .inProgress)]))
        #expect(isNoContent(afterDownload))
        #expect(afterDownload.sessionEnded)
        #expect(afterDownload.presenceKinds == [.sessionClosed])
        #expect(harness.session.state == .ended(.completed))
        #expect(harness.session.rpcCount == 3)
    }

    @Test func deliveriesBeforeTheEmptyPOSTAreBuffered() throws {
        var harness = Harness()
        try harness.inform()
        var reboot = Twinfleet_Bus_V1_Reboot()
        reboot.commandKey = ""
        let delivered = harness.deliver(command("c-reboot", .reboot(reboot)))
        #expect(delivered.reply == nil)
        #expect(harness.session.state == .cpeRequests)
        _ = harness.endPlan(planned: 1)

        let step = harness.postEmpty()
        #expect(try sentRPC(step).message == .reboot(Reboot(commandKey: "c-reboot")))
        let done = try harness.answer(step, with: .rebootResponse)
        #expect(sameStatuses(done.statuses, [("c-reboot", .succeeded)]))
        #expect(isNoContent(done))
    }

    @Test func setParameterValuesFaultFailsWithParameterFaults() throws {
        var harness = Harness()
        try harness.informAndPark()
        let step = harness.deliver(command("c1", setParameters([busParameter("InternetGatewayDevice.Time.LocalTimeZone", .string("nowhere"))])))
        let rpc = try sentRPC(step)
        let xml = try vector("fault_set_parameter_values_response.xml").replacingOccurrences(of: ">123<", with: ">\(rpc.id)<")
        let after = harness.post(bytes: Array(xml.utf8))

        #expect(sameStatuses(after.statuses, [("c1", .failed)]))
        let error = try #require(after.results.first?.error)
        #expect(error.code == 9003)
        #expect(!error.retriable)
        #expect(error.parameterFaults.map(\.path) == ["InternetGatewayDevice.Time.LocalTimeZone", "InternetGatewayDevice.Time.LocalTimeZoneName"])
        #expect(error.parameterFaults.map(\.code) == [9007, 9007])
        #expect(error.parameterFaults.last?.message == "String too long")
        #expect(after.events.isEmpty)
        // No end-of-plan yet: the POST that carried the fault is parked.
        #expect(after.reply == .hold(until: harness.now.addingTimeInterval(5)))
    }

    @Test func transientFaultIsRetriableAndHoldsBackDependentCommands() throws {
        var harness = Harness()
        try harness.inform()
        _ = harness.deliver(command("c1", .factoryReset(Twinfleet_Bus_V1_FactoryReset())))
        _ = harness.deliver(command("c2", .factoryReset(Twinfleet_Bus_V1_FactoryReset())))
        _ = harness.deliver(command("c3", getParameters(["Device.DeviceInfo.UpTime"]), independent: true))
        _ = harness.endPlan(planned: 3)
        let first = harness.postEmpty()
        let after = try harness.answer(first, with: .fault(CWMPFault(code: .cpeInternalError, string: "busy")))

        #expect(sameStatuses(after.statuses, [("c1", .failed), ("c2", .notDelivered), ("c3", .delivered)]))
        #expect(after.results[0].error.retriable)
        #expect(after.results[0].error.code == 9002)
        #expect(after.results[1].error.code == TwinfleetErrorCode.heldAfterFailure.rawValue)
        #expect(after.results[1].error.retriable)
        #expect(try sentRPC(after).message == .getParameterValues(GetParameterValues(parameterNames: ["Device.DeviceInfo.UpTime"])))
    }

    @Test func addObjectWithInitialParametersTakesTwoRPCs() throws {
        var harness = Harness()
        try harness.informAndPark()
        var add = Twinfleet_Bus_V1_AddObject()
        add.objectPath = "Device.WiFi.SSID."
        add.parameterKey = "k2"
        add.initialParameters = [busParameter("SSID", .string("guest")), busParameter("Enable", .boolean(true))]
        let first = harness.deliver(command("c-add", .addObject(add)))
        #expect(try sentRPC(first).message == .addObject(AddObject(objectName: "Device.WiFi.SSID.", parameterKey: "k2")))

        let second = try harness.answer(first, with: .addObjectResponse(AddObjectResponse(instanceNumber: 3, status: .applied)))
        #expect(second.results.isEmpty)
        guard case .objectCreated(let created)? = second.events.first?.body else {
            Issue.record("AddObjectResponse should publish ObjectCreated")
            return
        }
        #expect(created.path == "Device.WiFi.SSID.3.")
        let spv = try sentRPC(second)
        #expect(spv.id == "acs-2")
        #expect(spv.holdRequests == true)
        #expect(spv.message == .setParameterValues(SetParameterValues(parameterList: [
            ParameterValueStruct(name: "Device.WiFi.SSID.3.SSID", value: .string("guest")),
            ParameterValueStruct(name: "Device.WiFi.SSID.3.Enable", value: .boolean(true)),
        ], parameterKey: "k2")))

        let third = try harness.answer(second, with: .setParameterValuesResponse(SetParameterValuesResponse(status: .applied)))
        #expect(sameStatuses(third.statuses, [("c-add", .succeeded)]))
        let outputs = try #require(third.results.first?.outputs)
        #expect(outputs.instanceNumber == 3)
        #expect(outputs.objectPath == "Device.WiFi.SSID.3.")
        #expect(outputs.parameters.map(\.path) == ["Device.WiFi.SSID.3.SSID", "Device.WiFi.SSID.3.Enable"])
        guard case .valueChange(let change)? = third.events.first?.body else {
            Issue.record("initial values should publish a ValueChange")
            return
        }
        #expect(change.parameters.count == 2)
    }

    @Test func deleteObjectPublishesObjectDeleted() throws {
        var harness = Harness()
        try harness.informAndPark()
        var delete = Twinfleet_Bus_V1_DeleteObject()
        delete.objectPath = "Device.NAT.PortMapping.2."
        let step = harness.deliver(command("c-del", .deleteObject(delete)))
        #expect(try sentRPC(step).message == .deleteObject(DeleteObject(objectName: "Device.NAT.PortMapping.2.")))
        let after = try harness.answer(step, with: .deleteObjectResponse(DeleteObjectResponse(status: .applied)))
        #expect(sameStatuses(after.statuses, [("c-del", .succeeded)]))
        guard case .objectDeleted(let deleted)? = after.events.first?.body else {
            Issue.record("no ObjectDeleted event")
            return
        }
        #expect(deleted.path == "Device.NAT.PortMapping.2.")
    }

    @Test func responseOfAnotherKindFailsTheCommand() throws {
        var harness = Harness()
        try harness.informAndPark()
        let step = harness.deliver(command("c1", getParameters(["Device.DeviceInfo.UpTime"])))
        _ = harness.endPlan(planned: 1)
        let after = try harness.answer(step, with: .rebootResponse)
        #expect(sameStatuses(after.statuses, [("c1", .failed)]))
        let error = try #require(after.results.first?.error)
        #expect(error.code == TwinfleetErrorCode.protocolError.rawValue)
        #expect(error.message.contains("GetParameterValuesResponse"))
        #expect(isNoContent(after))
    }

    @Test func responseWithAnotherCWMPIDFailsTheCommand() throws {
        var harness = Harness()
        try harness.informAndPark()
        let step = harness.deliver(command("c1", getParameters(["Device.DeviceInfo.UpTime"])))
        let after = harness.post(.getParameterValuesResponse(GetParameterValuesResponse(parameterList: [])), id: "not-mine")
        #expect(step.response != nil)
        #expect(sameStatuses(after.statuses, [("c1", .failed)]))
        #expect(after.results.first?.error.message.contains("not-mine") == true)
        #expect(after.reports.isEmpty)
    }

    @Test func emptyPOSTInsteadOfAResponseFailsTheCommand() throws {
        var harness = Harness()
        try harness.informAndPark()
        _ = harness.deliver(command("c1", .factoryReset(Twinfleet_Bus_V1_FactoryReset())))
        _ = harness.endPlan(planned: 1)
        let after = harness.postEmpty()
        #expect(sameStatuses(after.statuses, [("c1", .failed)]))
        #expect(after.results.first?.error.code == TwinfleetErrorCode.protocolError.rawValue)
        #expect(isNoContent(after))
    }

    @Test func expiredCommandIsNotSent() throws {
        var harness = Harness()
        try harness.inform()
        _ = harness.deliver(command("old", .factoryReset(Twinfleet_Bus_V1_FactoryReset()), expiresAt: t0.addingTimeInterval(-1)))
        _ = harness.deliver(command("next", getParameters(["Device.DeviceInfo.UpTime"]), independent: true))
        let step = harness.postEmpty()
        #expect(sameStatuses(step.statuses, [("old", .expired), ("next", .delivered)]))
        #expect(try sentRPC(step).message.methodName == "GetParameterValues")
    }

    @Test func operateIsRefusedWithoutSendingAnything() throws {
        var harness = Harness()
        try harness.informAndPark()
        var operate = Twinfleet_Bus_V1_Operate()
        operate.commandPath = "Device.IP.Diagnostics.IPPing()"
        let step = harness.deliver(command("c-op", .operate(operate)))
        #expect(sameStatuses(step.statuses, [("c-op", .failed)]))
        #expect(step.results.first?.error.code == TwinfleetErrorCode.notSupportedByProtocol.rawValue)
        #expect(step.reply == nil)
        #expect(harness.session.rpcCount == 0)
        if case .awaitingPlan = harness.session.state {} else { Issue.record("the POST should stay parked") }
    }

    @Test func malformedCommandsAreRefused() throws {
        var harness = Harness()
        try harness.inform()
        _ = harness.deliver(command("c-obj", setParameters([busParameter("Device.WiFi.", .string("x"))]), independent: true))
        var schedule = Twinfleet_Bus_V1_ScheduleInform()
        schedule.delaySeconds = 0
        _ = harness.deliver(command("c-sched", .scheduleInform(schedule), independent: true))
        _ = harness.deliver(command("c-empty", getParameters([]), independent: true))
        _ = harness.endPlan(planned: 3)
        let step = harness.postEmpty()
        #expect(sameStatuses(step.statuses, [("c-obj", .failed), ("c-sched", .failed), ("c-empty", .failed)]))
        #expect(step.results.allSatisfy { $0.error.code == TwinfleetErrorCode.invalidCommand.rawValue })
        #expect(isNoContent(step))
    }

    @Test func duplicateDeliveryIsIgnored() throws {
        var harness = Harness()
        try harness.inform()
        let command = command("c1", .factoryReset(Twinfleet_Bus_V1_FactoryReset()))
        _ = harness.deliver(command)
        let again = harness.deliver(command, attempt: 2)
        #expect(again.notes.contains { $0.contains("twice") })
        #expect(harness.session.queuedCommandIDs == ["c1"])
    }

    @Test func rpcLimitEndsTheSession() throws {
        var harness = Harness(configuration: CWMPSessionConfiguration(maxRPCs: 1))
        try harness.inform()
        _ = harness.deliver(command("c1", .factoryReset(Twinfleet_Bus_V1_FactoryReset())))
        _ = harness.deliver(command("c2", .factoryReset(Twinfleet_Bus_V1_FactoryReset())))
        _ = harness.endPlan(planned: 2)
        let first = harness.postEmpty()
        let after = try harness.answer(first, with: .factoryResetResponse)
        #expect(sameStatuses(after.statuses, [("c1", .succeeded), ("c2", .notDelivered)]))
        #expect(after.results.last?.error.retriable == true)
        #expect(isNoContent(after))
        #expect(harness.session.state == .ended(.rpcLimit))
    }

    @Test func nextLevelGetReadsNamesFirst() throws {
        var harness = Harness()
        try harness.informAndPark()
        let step = harness.deliver(command("c1", getParameters(["Device.WiFi.", "Device.DeviceInfo.UpTime"], nextLevel: true)))
        #expect(try sentRPC(step).message == .getParameterNames(GetParameterNames(parameterPath: "Device.WiFi.", nextLevel: true)))
        let names = GetParameterNamesResponse(parameterList: [
            ParameterInfoStruct(name: "Device.WiFi.RadioNumberOfEntries", writable: false),
            ParameterInfoStruct(name: "Device.WiFi.Radio.", writable: false),
        ])
        let second = try harness.answer(step, with: .getParameterNamesResponse(names))
        #expect(try sentRPC(second).message == .getParameterValues(GetParameterValues(parameterNames: ["Device.DeviceInfo.UpTime", "Device.WiFi.RadioNumberOfEntries"])))
        let values = GetParameterValuesResponse(parameterList: [
            ParameterValueStruct(name: "Device.DeviceInfo.UpTime", value: .unsignedInt(5)),
            ParameterValueStruct(name: "Device.WiFi.RadioNumberOfEntries", value: .unsignedInt(2)),
        ])
        let third = try harness.answer(second, with: .getParameterValuesResponse(values))
        let outputs = try #require(third.results.first?.outputs.parameters)
        #expect(outputs.map(\.hasWritable) == [false, true])
        #expect(outputs.last?.writable == false)
    }

    @Test func largeGetResultsAreReportedInChunks() throws {
        var harness = Harness(configuration: CWMPSessionConfiguration(reportChunkSize: 2))
        try harness.informAndPark()
        let step = harness.deliver(command("c1", getParameters(["Device.Hosts."])))
        let values = (1...3).map { ParameterValueStruct(name: "Device.Hosts.Host.\($0).Active", value: .boolean(true)) }
        let after = try harness.answer(step, with: .getParameterValuesResponse(GetParameterValuesResponse(parameterList: values)))
        #expect(after.reports.map(\.parameters.count) == [2, 1])
        #expect(after.reports.map(\.chunkIndex) == [0, 1])
        #expect(after.reports.map(\.finalChunk) == [false, true])
        #expect(Set(after.reports.map(\.reportID)).count == 1)
        #expect(after.results.first?.outputs.parameters.count == 3)
    }

    @Test func commandKeysFallBackToTheCommandID() throws {
        var harness = Harness()
        try harness.inform()
        var reboot = Twinfleet_Bus_V1_Reboot()
        reboot.commandKey = "operator-key"
        _ = harness.deliver(command("c-reboot", .reboot(reboot)))
        var schedule = Twinfleet_Bus_V1_ScheduleInform()
        schedule.delaySeconds = 60
        _ = harness.deliver(command("c-sched", .scheduleInform(schedule)))
        let first = harness.postEmpty()
        #expect(try sentRPC(first).message == .reboot(Reboot(commandKey: "operator-key")))
        let second = try harness.answer(first, with: .rebootResponse)
        #expect(try sentRPC(second).message == .scheduleInform(ScheduleInform(delaySeconds: 60, commandKey: "c-sched")))
    }

    @Test func setParameterAttributesBecomesTheRPCAndIsCheckedFirst() throws {
        var harness = Harness()
        try harness.informAndPark()
        let active = attribute("Device.IP.Interface.1.IPv4Address.1.IPAddress", notification: 2)
        let subtree = attribute("Device.WiFi.", accessList: ["Subscriber"])
        var set = Twinfleet_Bus_V1_SetParameterAttributes()
        set.attributes = [active, subtree]
        let step = harness.deliver(command("c-spa", .setParameterAttributes(set)))
        #expect(try sentRPC(step).message == .setParameterAttributes(SetParameterAttributes(parameterList: [
            SetParameterAttributesStruct(name: active.path, notificationChange: true, notification: .active),
            SetParameterAttributesStruct(name: "Device.WiFi.", notificationChange: false, notification: .off, accessListChange: true, accessList: ["Subscriber"]),
        ])))
        let after = try harness.answer(step, with: .setParameterAttributesResponse)
        #expect(sameStatuses(after.statuses, [("c-spa", .succeeded)]))
    }

    /// A SetParameterAttributes entry changing the notification, the access list, or neither.
    private func attribute(_ path: String, notification: UInt32? = nil, accessList: [String]? = nil) -> Twinfleet_Bus_V1_ParameterAttribute {
        var attribute = Twinfleet_Bus_V1_ParameterAttribute()
        attribute.path = path
        if let notification {
            attribute.notificationChange = true
            attribute.notification = notification
        }
        if let accessList {
            attribute.accessListChange = true
            attribute.accessList = accessList
        }
        return attribute
    }

    @Test func badSetParameterAttributesAreRefusedBeforeAnythingIsSent() throws {
        var harness = Harness()
        try harness.inform()
        // A notification outside 0-6, an entry that changes nothing, an access list other than
        // Subscriber, a path that is not one.
        let cases = [
            ("c-high", attribute("Device.WiFi.SSID.1.SSID", notification: 7)),
            ("c-nothing", attribute("Device.WiFi.")),
            ("c-stranger", attribute("Device.WiFi.", accessList: ["Everyone"])),
            ("c-broken", attribute("Device..WiFi", notification: 1)),
        ]
        for (id, attribute) in cases {
            var bad = Twinfleet_Bus_V1_SetParameterAttributes()
            bad.attributes = [attribute]
            _ = harness.deliver(command(id, .setParameterAttributes(bad), independent: true))
        }
        _ = harness.endPlan(planned: UInt32(cases.count))
        let step = harness.postEmpty()
        #expect(sameStatuses(step.statuses, cases.map { ($0.0, .failed) }))
        #expect(step.results.allSatisfy { $0.error.code == TwinfleetErrorCode.invalidCommand.rawValue })
        #expect(isNoContent(step))
    }

    @Test func completedDownloadSucceedsAtOnce() throws {
        var harness = Harness()
        try harness.informAndPark()
        let step = harness.deliver(command("c-dl", download("http://files/fw.bin", key: "fw-2.1")))
        let done = Date(timeIntervalSince1970: 1_750_000_030)
        let after = try harness.answer(step, with: .downloadResponse(TransferResponse(status: .applied, startTime: t0, completeTime: done)))
        #expect(sameStatuses(after.statuses, [("c-dl", .succeeded)]))
        guard case .transferComplete(let complete)? = after.events.first?.body else {
            Issue.record("a completed download should publish TransferComplete")
            return
        }
        #expect(complete.commandKey == "fw-2.1")
        #expect(complete.isDownload)
        #expect(complete.completeTimeUs == done.unixMicroseconds)
    }

    @Test func responseWithoutCWMPIDIsAcceptedWhenTheMethodMatches() throws {
        var harness = Harness()
        try harness.informAndPark()
        _ = harness.deliver(command("c1", .factoryReset(Twinfleet_Bus_V1_FactoryReset())))
        let envelope = CWMPEnvelope(message: .factoryResetResponse)
        let after = harness.post(bytes: codecEncoder.encode(envelope))
        #expect(sameStatuses(after.statuses, [("c1", .succeeded)]))
    }

    @Test func deliveriesBeyondTheQueueBoundAreNotDelivered() throws {
        var harness = Harness(configuration: CWMPSessionConfiguration(maxQueuedCommands: 1))
        try harness.inform()
        let first = harness.deliver(command("c1", .factoryReset(Twinfleet_Bus_V1_FactoryReset())))
        let second = harness.deliver(command("c2", .factoryReset(Twinfleet_Bus_V1_FactoryReset())))
        #expect(first.results.isEmpty)
        #expect(sameStatuses(second.statuses, [("c2", .notDelivered)]))
        #expect(second.results.first?.error.code == TwinfleetErrorCode.sessionFull.rawValue)
        #expect(second.results.first?.error.retriable == true)
        #expect(harness.session.queuedCommandIDs == ["c1"])
    }
}
