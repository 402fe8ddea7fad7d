import BusContracts
import Foundation
import SwiftProtobuf
import Testing
import TwinfleetModel
import USPCodec
@testable import USPSession

/// The controller session without I/O: records in, steps out.
@Suite struct USPAgentSessionTests {
    static let controller = "self::controller"
    static let agent = "os::012345-SN1"
    let now = Date(timeIntervalSince1970: 1_800_000_000)

    func session(timeout: Duration = .seconds(30), valueChange: [String] = []) -> USPAgentSession {
        USPAgentSession(
            connection: USPConnection(connectionID: "conn-1", endpointID: Self.agent, mtp: .websocket, remoteAddress: "10.0.0.2:5000"),
            configuration: USPSessionConfiguration(controllerEndpointID: Self.controller, instanceID: "usp-0", tenantID: "t1",
                                                   requestTimeout: timeout, valueChangePaths: valueChange, syncPathsPerGet: 1, maxBadRecords: 3))
    }

    /// A NoSessionContext record from the agent carrying `message`.
    static func record(_ message: Usp_Msg, from: String = agent, to: String = controller) -> [UInt8] {
        var record = UspRecord_Record()
        record.version = "1.3"
        record.toID = to
        record.fromID = from
        record.noSessionContext.payload = try! message.serializedBytes()
        return try! record.serializedBytes()
    }

    static func response(_ msgID: String, _ type: Usp_Header.MsgType, _ fill: (inout Usp_Response) -> Void) -> Usp_Msg {
        var message = Usp_Msg()
        message.header.msgID = msgID
        message.header.msgType = type
        var response = Usp_Response()
        fill(&response)
        message.body.response = response
        return message
    }

    static func getResp(_ msgID: String, _ objects: [String: [String: String]], requested: String = "Device.", error: UInt32 = 0) -> Usp_Msg {
        response(msgID, .getResp) { response in
            var result = Usp_GetResp.RequestedPathResult()
            result.requestedPath = requested
            result.errCode = error
            result.resolvedPathResults = objects.keys.sorted().map { path in
                var resolved = Usp_GetResp.ResolvedPathResult()
                resolved.resolvedPath = path
                resolved.resultParams = objects[path]!
                return resolved
            }
            response.getResp.reqPathResults = [result]
        }
    }

    static func notify(_ msgID: String, sendResp: Bool, _ notification: Usp_Notify.OneOf_Notification?) -> Usp_Msg {
        var message = Usp_Msg()
        message.header.msgID = msgID
        message.header.msgType = .notify
        var notify = Usp_Notify()
        notify.subscriptionID = "sub-1"
        notify.sendResp = sendResp
        notify.notification = notification
        message.body.request.notify = notify
        return message
    }

    static func delivery(_ id: String, attempt: UInt32 = 1, _ build: (inout Twinfleet_Bus_V1_Command) -> Void) -> Twinfleet_Bus_V1_CommandDelivery {
        var delivery = Twinfleet_Bus_V1_CommandDelivery()
        delivery.command.commandID = id
        delivery.command.deviceID = agent
        delivery.attempt = attempt
        build(&delivery.command)
        return delivery
    }

    @Test func openPublishesConnectedAndChecksSubscriptions() {
        var session = session()
        let step = session.open(now: now)
        #expect(step.events.count == 1)
        #expect(step.events[0].presence.kind == .connected)
        #expect(step.events[0].presence.instanceID == "usp-0")
        #expect(step.events[0].presence.remoteAddress == "10.0.0.2:5000")
        #expect(step.events[0].sessionID == "conn-1")
        #expect(step.events[0].protocol == .usp)
        #expect(step.messages.count == 2)
        #expect(step.messages[0].body.request.get.paramPaths == [USPSubscription.table])
        #expect(step.messages[1].body.request.getSupportedDm.objPaths == ["Device."])
    }

    @Test func typesLearnedAtConnectTypeLaterNotifications() {
        var session = session()
        let discovery = session.open(now: now).messages[1]
        let supported = Self.response(discovery.header.msgID, .getSupportedDmResp) { response in
            var object = Usp_GetSupportedDMResp.SupportedObjectResult()
            object.supportedObjPath = "Device.WiFi.SSID.{i}."
            var parameter = Usp_GetSupportedDMResp.SupportedParamResult()
            parameter.paramName = "Enable"
            parameter.valueType = .paramBoolean
            object.supportedParams = [parameter]
            var result = Usp_GetSupportedDMResp.RequestedObjectResult()
            result.reqObjPath = "Device."
            result.supportedObjs = [object]
            response.getSupportedDmResp.reqObjResults = [result]
        }
        #expect(session.receive(record: Self.record(supported), now: now).messages.isEmpty)
        var change = Usp_Notify.ValueChange()
        change.paramPath = "Device.WiFi.SSID.4.Enable"
        change.paramValue = "true"
        let step = session.receive(record: Self.record(Self.notify("n-5", sendResp: false, .valueChange(change))), now: now)
        #expect(step.events.first?.valueChange.parameters.first?.value.value == .booleanValue(true))
    }

    @Test func missingSubscriptionsAreAddedAndStaleOnesDeleted() throws {
        var session = session(valueChange: ["Device.WiFi."])
        let check = session.open(now: now).messages[0]
        let wanted = session.configuration.subscriptions
        let present = wanted[0]
        let table: [String: [String: String]] = [
            "Device.LocalAgent.Subscription.1.": ["ID": present.id, "Enable": "true", "NotifType": "Event"],
            "Device.LocalAgent.Subscription.2.": ["ID": "twinfleet-vc-0000dead", "Enable": "true"],
            "Device.LocalAgent.Subscription.3.": ["ID": "someone-else", "Enable": "true"],
        ]
        let step = session.receive(record: Self.record(Self.getResp(check.header.msgID, table, requested: USPSubscription.table)), now: now)
        let delete = try #require(step.messages.first { $0.header.msgType == .delete })
        #expect(delete.body.request.delete.objPaths == ["Device.LocalAgent.Subscription.2."])
        let add = try #require(step.messages.first { $0.header.msgType == .add })
        let ids = add.body.request.add.createObjs.compactMap { $0.paramSettings.first { $0.param == "ID" }?.value }
        #expect(Set(ids) == Set(wanted.dropFirst().map(\.id)))
        #expect(add.body.request.add.allowPartial)
    }

    @Test func subscriptionIDsFollowTheConfiguration() {
        let one = session(valueChange: ["Device.WiFi."]).configuration.subscriptions.map(\.id)
        let same = session(valueChange: ["Device.WiFi."]).configuration.subscriptions.map(\.id)
        let other = session(valueChange: ["Device.IP."]).configuration.subscriptions.map(\.id)
        #expect(one == same)
        #expect(one != other)
        #expect(one.allSatisfy { $0.hasPrefix(USPSessionConfiguration.subscriptionPrefix) })
    }

    @Test func bootIsPublishedAndAcknowledged() {
        var session = session()
        _ = session.open(now: now)
        var event = Usp_Notify.Event()
        event.objPath = "Device."
        event.eventName = "Boot!"
        event.params = ["Cause": "LocalFactoryReset", "CommandKey": "", "FirmwareUpdated": "true", "ParameterMap": "{}"]
        let step = session.receive(record: Self.record(Self.notify("n-1", sendResp: true, .event(event))), now: now)
        #expect(step.events.count == 1)
        #expect(step.events[0].boot.cause == "LocalFactoryReset")
        #expect(step.events[0].boot.firmwareUpdated)
        #expect(step.messages.count == 1)
        #expect(step.messages[0].header.msgType == .notifyResp)
        #expect(step.messages[0].header.msgID == "n-1")
        #expect(step.messages[0].body.response.notifyResp.subscriptionID == "sub-1")
    }

    @Test func valueChangeWithoutSendRespIsNotAnswered() {
        var session = session()
        var change = Usp_Notify.ValueChange()
        change.paramPath = "Device.WiFi.SSID.1.SSID"
        change.paramValue = "x"
        let step = session.receive(record: Self.record(Self.notify("n-2", sendResp: false, .valueChange(change))), now: now)
        #expect(step.events.first?.valueChange.parameters.first?.path == "Device.WiFi.SSID.1.SSID")
        #expect(step.messages.isEmpty)
    }

    @Test func malformedNotifyGetsAnError() {
        var session = session()
        let step = session.receive(record: Self.record(Self.notify("n-3", sendResp: true, nil)), now: now)
        #expect(step.events.isEmpty)
        #expect(step.messages.first?.header.msgType == .error)
        #expect(step.messages.first?.header.msgID == "n-3")
        #expect(step.messages.first?.body.error.errCode == 7004)
    }

    @Test func setIsSentAndItsAnswerBecomesTheResult() throws {
        var session = session()
        var parameter = Twinfleet_Bus_V1_Parameter()
        parameter.path = "Device.WiFi.SSID.1.SSID"
        parameter.value.stringValue = "new"
        let sent = session.deliver(Self.delivery("c-1") { $0.setParameters.parameters = [parameter] }, now: now)
        let request = try #require(sent.messages.first)
        #expect(request.header.msgType == .set)
        #expect(sent.results.map(\.status) == [.delivered])
        let answer = Self.response(request.header.msgID, .setResp) { response in
            var updated = Usp_SetResp.UpdatedInstanceResult()
            updated.affectedPath = "Device.WiFi.SSID.1."
            updated.updatedParams = ["SSID": "new"]
            var result = Usp_SetResp.UpdatedObjectResult()
            result.requestedPath = "Device.WiFi.SSID.1."
            result.operStatus.operSuccess.updatedInstResults = [updated]
            response.setResp.updatedObjResults = [result]
        }
        let step = session.receive(record: Self.record(answer), now: now)
        #expect(step.results.map(\.status) == [.succeeded])
        #expect(step.results[0].instanceID == "usp-0")
        #expect(session.requestsInFlight == 0)
        // The same answer again is late: ignored.
        #expect(session.receive(record: Self.record(answer), now: now).results.isEmpty)
    }

    @Test func unansweredRequestsTimeOutAndCloseFailsWhatIsLeft() {
        var session = session(timeout: .seconds(5))
        _ = session.open(now: now)
        _ = session.deliver(Self.delivery("c-1") { $0.getParameters.paths = ["Device."] }, now: now)
        _ = session.deliver(Self.delivery("c-2") { $0.getParameters.paths = ["Device.DeviceInfo."] }, now: now.addingTimeInterval(3))
        #expect(session.tick(now: now.addingTimeInterval(4)).results.isEmpty)
        let timedOut = session.tick(now: now.addingTimeInterval(5))
        #expect(timedOut.results.map(\.commandID) == ["c-1"])
        #expect(timedOut.results[0].status == .failed)
        #expect(timedOut.results[0].error.code == TwinfleetErrorCode.responseTimeout.rawValue)
        #expect(timedOut.results[0].error.retriable)
        let closed = session.close(reason: "closed by agent", now: now.addingTimeInterval(6))
        #expect(closed.results.map(\.commandID) == ["c-2"])
        #expect(closed.results[0].error.code == TwinfleetErrorCode.sessionEnded.rawValue)
        #expect(closed.events.last?.presence.kind == .disconnected)
        #expect(closed.events.last?.presence.reason == "closed by agent")
        // Deliveries after the close go back.
        #expect(session.deliver(Self.delivery("c-3") { $0.reboot = .init() }, now: now).results.first?.status == .notDelivered)
    }

    @Test func refreshReadsTypesThenChunksAndPublishesOneFullSync() throws {
        var session = session()
        let started = session.deliver(Self.delivery("r-1") { $0.refresh.path = "Device." }, now: now)
        let gsdm = try #require(started.messages.first)
        #expect(gsdm.header.msgType == .getSupportedDm)
        let supported = Self.response(gsdm.header.msgID, .getSupportedDmResp) { response in
            func object(_ path: String, _ params: [(String, Usp_GetSupportedDMResp.ParamValueType)]) -> Usp_GetSupportedDMResp.SupportedObjectResult {
                var object = Usp_GetSupportedDMResp.SupportedObjectResult()
                object.supportedObjPath = path
                object.supportedParams = params.map { name, type in
                    var parameter = Usp_GetSupportedDMResp.SupportedParamResult()
                    parameter.paramName = name
                    parameter.valueType = type
                    return parameter
                }
                return object
            }
            var result = Usp_GetSupportedDMResp.RequestedObjectResult()
            result.reqObjPath = "Device."
            result.supportedObjs = [
                object("Device.", [("RootDataModelVersion", .paramString)]),
                object("Device.DeviceInfo.", [("UpTime", .paramUnsignedInt)]),
                object("Device.WiFi.", []),
                object("Device.WiFi.SSID.{i}.", [("Enable", .paramBoolean)]),
                object("Device.InterfaceStack.{i}.", [("HigherLayer", .paramString)]),
            ]
            response.getSupportedDmResp.reqObjResults = [result]
        }
        var step = session.receive(record: Self.record(supported), now: now)
        var paths: [[String]] = []
        var published: [Twinfleet_Bus_V1_DeviceEvent] = []
        let answers: [String: [String: [String: String]]] = [
            "Device.": ["Device.": ["RootDataModelVersion": "2.16"]],
            "Device.DeviceInfo.": ["Device.DeviceInfo.": ["UpTime": "77"]],
            "Device.InterfaceStack.": [:],
            "Device.WiFi.": ["Device.WiFi.SSID.1.": ["Enable": "true"]],
        ]
        while let get = step.messages.first {
            #expect(get.header.msgType == .get)
            let requested = get.body.request.get.paramPaths
            paths.append(requested)
            step = session.receive(record: Self.record(Self.getResp(get.header.msgID, answers[requested[0]] ?? [:], requested: requested[0])), now: now)
            published += step.events
        }
        #expect(paths == [["Device."], ["Device.DeviceInfo."], ["Device.WiFi."], ["Device.InterfaceStack."]])
        #expect(step.results.map(\.status) == [.succeeded])
        #expect(published.count == 1)
        let report = published[0].parameterReport
        #expect(report.fullSyncRoot == "Device.")
        #expect(report.finalChunk)
        let values = Dictionary(uniqueKeysWithValues: report.parameters.map { ($0.path, $0.value.value) })
        #expect(values["Device.DeviceInfo.UpTime"] == .unsignedIntValue(77))
        #expect(values["Device.WiFi.SSID.1.Enable"] == .booleanValue(true))
        #expect(values["Device.RootDataModelVersion"] == .stringValue("2.16"))
    }

    @Test func aRefreshWithoutAPathSynchronisesDevice() throws {
        var session = session()
        let started = session.deliver(Self.delivery("r-0") { $0.refresh = Twinfleet_Bus_V1_Refresh() }, now: now)
        #expect(started.messages.first?.body.request.getSupportedDm.objPaths == ["Device."])
        #expect(started.results.map(\.status) == [.delivered])
    }

    @Test func aRefreshWithAFailedChunkPublishesNothingAndFails() throws {
        var session = session()
        let started = session.deliver(Self.delivery("r-2") { $0.refresh.path = "Device." }, now: now)
        // The agent refuses GetSupportedDM: one untyped Get of the whole tree.
        var refusal = Usp_Msg()
        refusal.header.msgID = started.messages[0].header.msgID
        refusal.header.msgType = .error
        refusal.body.error.errCode = 7001
        let get = try #require(session.receive(record: Self.record(refusal), now: now).messages.first)
        #expect(get.body.request.get.paramPaths == ["Device."])
        #expect(get.body.request.get.maxDepth == 0)
        let step = session.receive(record: Self.record(Self.getResp(get.header.msgID, [:], requested: "Device.", error: 7026)), now: now)
        #expect(step.events.isEmpty)
        #expect(step.results.first?.status == .failed)
        #expect(step.results.first?.error.code == 7026)
    }

    @Test func asynchronousOperateCompletesOnOperationComplete() throws {
        var session = session()
        let sent = session.deliver(Self.delivery("op-1") { $0.operate.commandPath = "Device.IP.Diagnostics.IPPing()"; $0.operate.sendResp = true }, now: now)
        let operate = try #require(sent.messages.first)
        let started = Self.response(operate.header.msgID, .operateResp) { response in
            var result = Usp_OperateResp.OperationResult()
            result.executedCommand = "Device.IP.Diagnostics.IPPing()"
            result.reqObjPath = "Device.LocalAgent.Request.4."
            response.operateResp.operationResults = [result]
        }
        #expect(session.receive(record: Self.record(started), now: now).results.map(\.status) == [.inProgress])
        var complete = Usp_Notify.OperationComplete()
        complete.objPath = "Device.IP.Diagnostics."
        complete.commandName = "IPPing()"
        complete.commandKey = operate.body.request.operate.commandKey
        complete.reqOutputArgs.outputArgs = ["AverageResponseTime": "12"]
        let step = session.receive(record: Self.record(Self.notify("n-9", sendResp: true, .operComplete(complete))), now: now)
        #expect(step.events.first?.operationComplete.commandPath == "Device.IP.Diagnostics.IPPing()")
        #expect(step.results.map(\.status) == [.succeeded])
        #expect(step.results.first?.outputs.outputArgs["AverageResponseTime"] == "12")
        #expect(step.messages.first?.header.msgType == .notifyResp)
    }

    @Test func unreadableRecordsCloseTheConnectionAfterTheLimit() {
        var session = session()
        #expect(session.receive(record: [0xFF, 0x00], now: now).disconnect == nil)
        #expect(session.receive(record: [0xFF, 0x01], now: now).disconnect == nil)
        #expect(session.receive(record: [0xFF, 0x02], now: now).disconnect?.code == .recordNotParsed)
    }

    @Test func recordsFromAnotherSenderOrForAnotherControllerAreIgnored() {
        var session = session()
        var change = Usp_Notify.ValueChange()
        change.paramPath = "Device.X"
        change.paramValue = "1"
        let spoofed = session.receive(record: Self.record(Self.notify("n", sendResp: true, .valueChange(change)), from: "os::someone-else"), now: now)
        #expect(spoofed.events.isEmpty && spoofed.messages.isEmpty)
        let misdirected = session.receive(record: Self.record(Self.notify("n", sendResp: true, .valueChange(change)), to: "self::other"), now: now)
        #expect(misdirected.events.isEmpty && misdirected.messages.isEmpty)
    }

    @Test func sessionContextRecordsAreRefusedWith7106() {
        var session = session()
        var record = UspRecord_Record()
        record.version = "1.3"
        record.toID = Self.controller
        record.fromID = Self.agent
        record.sessionContext = UspRecord_SessionContextRecord()
        let step = session.receive(record: try! record.serializedBytes(), now: now)
        #expect(step.disconnect?.code == .sessionContextNotAllowed)
    }

    @Test func pathHelpers() {
        #expect(USPAgentSession.genericPath("Device.WiFi.SSID.12.SSID") == "Device.WiFi.SSID.{i}.SSID")
        #expect(USPAgentSession.firstLevelObject("Device.DeviceInfo.", under: "Device.") == "Device.DeviceInfo.")
        #expect(USPAgentSession.firstLevelObject("Device.InterfaceStack.{i}.", under: "Device.") == "Device.InterfaceStack.")
        #expect(USPAgentSession.firstLevelObject("Device.WiFi.SSID.{i}.", under: "Device.") == "Device.WiFi.")
        #expect(USPAgentSession.firstLevelObject("Device.", under: "Device.") == nil)
    }
}
