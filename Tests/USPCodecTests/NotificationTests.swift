import BusContracts
import Foundation
import Testing
import TwinfleetModel
@testable import USPCodec

@Suite struct NotificationTests {
    let decoder = USPMessageDecoder()
    let envelope = USPEventEnvelope(eventID: "ev-1", deviceID: Fixtures.agentID, tenantID: "tenant-1", occurredAtUs: 1_714_564_800_000_000,
                                    sourceInstance: "usp-ingress-0", sessionID: "conn-9")

    func notify(_ notification: Usp_Notify.OneOf_Notification) throws -> USPNotify {
        let message = try decoder.decode(try Fixtures.notify(notification).serializedBytes() as [UInt8])
        guard case .notify(let notify) = message.body else { throw CancellationError() }
        return notify
    }

    func event(_ name: String, on object: String = "Device.", _ arguments: [String: String]) -> Usp_Notify.OneOf_Notification {
        var event = Usp_Notify.Event()
        event.objPath = object
        event.eventName = name
        event.params = arguments
        return .event(event)
    }

    /// A Boot! as obuspa sends it, with its ParameterMap of the controller's BootParameters.
    @Test func bootWithParameterMap() throws {
        let map = #"{"Device.DeviceInfo.SoftwareVersion":"2.1.0","Device.DeviceInfo.UpTime":"12","Device.LocalAgent.Controller.1.BootParameter.1.Enable":"true"}"#
        let notify = try notify(event("Boot!", ["CommandKey": "reboot-42", "Cause": "RemoteReboot", "FirmwareUpdated": "true", "ParameterMap": map]))
        guard case .event(let raw) = notify.notification else {
            Issue.record("not an event")
            return
        }
        let boot = try #require(try USPBootEvent(raw))
        #expect(boot.commandKey == "reboot-42")
        #expect(boot.cause == "RemoteReboot")
        #expect(boot.firmwareUpdated)
        #expect(boot.parameters.map(\.path) == ["Device.DeviceInfo.SoftwareVersion", "Device.DeviceInfo.UpTime", "Device.LocalAgent.Controller.1.BootParameter.1.Enable"])

        let body = try #require(try USPDeviceEvents.body(for: notify, typeLookup: Fixtures.typeLookup))
        guard case .boot(let proto) = body else {
            Issue.record("not a Boot event: \(body)")
            return
        }
        #expect(proto.cause == "RemoteReboot")
        #expect(proto.commandKey == "reboot-42")
        #expect(proto.firmwareUpdated)
        let parameters = try proto.parameters.map { try Parameter($0) }
        #expect(parameters.map(\.value) == [.string("2.1.0"), .unsignedInt(12), .boolean(true)])
    }

    @Test func parameterMapVariants() throws {
        func parameters(_ map: String) throws -> [USPReportedParameter] {
            try #require(try USPBootEvent(USPEvent(objectPath: "Device.", name: "Boot!", arguments: ["ParameterMap": map]))).parameters
        }
        #expect(try parameters("").isEmpty)
        #expect(try parameters(" {} ").isEmpty)
        #expect(try parameters(#"{"Device.A":"x\"y\\z\u00e9\ud83d\ude00\n"}"#) == [USPReportedParameter(path: "Device.A", text: "x\"y\\zé😀\n")])
        #expect(try parameters(#"{ "Device.N" : 1.50e+3 , "Device.B": false, "Device.Z": null }"#).map(\.text) == ["1.50e+3", "false", ""])
        // A repeated key keeps its last value, where it last appeared.
        #expect(try parameters(#"{"Device.A":"1","Device.B":"2","Device.A":"3"}"#) == [
            USPReportedParameter(path: "Device.B", text: "2"), USPReportedParameter(path: "Device.A", text: "3"),
        ])

        for bad in ["[]", "{", #"{"a"}"#, #"{"a":}"#, #"{"a":{"b":"c"}}"#, #"{"a":[1]}"#, #"{"a":"1",}"#, #"{"a":01}"#, #"{"a":"\x"}"#,
                    #"{"a":"\ud83d"}"#, #"{"a":tru}"#, #"{"a":"1"} x"#, "{\"a\":\"\u{1}\"}", #"{"a":-}"#, #"{"a":1.}"#, #"{"a":1e}"#] {
            let error = try #require(throws: USPNotificationError.self, "\(bad)") { try parameters(bad) }
            #expect(error.code == .invalidArgument)
            #expect(error.message.contains("ParameterMap"))
        }
        let notBoolean = try #require(throws: USPNotificationError.self) {
            try USPBootEvent(USPEvent(objectPath: "Device.", name: "Boot!", arguments: ["FirmwareUpdated": "yes"]))
        }
        #expect(notBoolean.message.contains("FirmwareUpdated"))
        #expect(try USPBootEvent(USPEvent(objectPath: "Device.", name: "Periodic!", arguments: [:])) == nil)
    }

    @Test func valueChangeIsTyped() throws {
        var change = Usp_Notify.ValueChange()
        change.paramPath = "Device.WiFi.Radio.1.Channel"
        change.paramValue = "11"
        let event = try #require(try USPDeviceEvents.event(for: notify(.valueChange(change)), envelope: envelope, typeLookup: Fixtures.typeLookup))
        #expect(event.eventID == "ev-1")
        #expect(event.deviceID == Fixtures.agentID)
        #expect(event.protocol == .usp)
        #expect(event.sessionID == "conn-9")
        #expect(event.occurredAtUs == 1_714_564_800_000_000)
        #expect(event.valueChange.parameters == [Fixtures.parameter("Device.WiFi.Radio.1.Channel", .unsignedInt(11))])

        // Without a lookup, and when the text does not parse as the type, the value stays a string.
        #expect(try USPDeviceEvents.body(for: notify(.valueChange(change))) == .valueChange({
            var proto = Twinfleet_Bus_V1_ValueChange()
            proto.parameters = [Fixtures.parameter("Device.WiFi.Radio.1.Channel", .string("11"))]
            return proto
        }()))
        change.paramValue = "auto"
        guard case .valueChange(let odd)? = try USPDeviceEvents.body(for: notify(.valueChange(change)), typeLookup: Fixtures.typeLookup) else {
            Issue.record("no value change")
            return
        }
        #expect(odd.parameters[0].value.stringValue == "auto")

        change.paramPath = "Device.WiFi.Radio.[cpe-1].Channel"
        #expect(try #require(throws: USPNotificationError.self) { try USPDeviceEvents.body(for: notify(.valueChange(change))) }.code == .invalidPath)
    }

    @Test func objectCreationAndDeletion() throws {
        var creation = Usp_Notify.ObjectCreation()
        creation.objPath = "Device.WiFi.SSID.4"
        creation.uniqueKeys = ["Alias": "cpe-4"]
        guard case .objectCreated(let created)? = try USPDeviceEvents.body(for: notify(.objCreation(creation))) else {
            Issue.record("no object created")
            return
        }
        #expect(created.path == "Device.WiFi.SSID.4.")
        #expect(created.uniqueKeys == ["Alias": "cpe-4"])

        var deletion = Usp_Notify.ObjectDeletion()
        deletion.objPath = "Device.WiFi.SSID.4."
        #expect(try USPDeviceEvents.event(for: notify(.objDeletion(deletion)), envelope: envelope)?.objectDeleted.path == "Device.WiFi.SSID.4.")
        deletion.objPath = "Device..WiFi"
        #expect(throws: USPNotificationError.self) { try USPDeviceEvents.body(for: notify(.objDeletion(deletion))) }
    }

    @Test func operationCompleteGivesAnEventAndTheCommandsResult() throws {
        var complete = Usp_Notify.OperationComplete()
        complete.objPath = "Device.DeviceInfo.FirmwareImage.2."
        complete.commandName = "Download()"
        complete.commandKey = "fw-2.1.0"
        complete.reqOutputArgs.outputArgs = [:]
        let notify = try notify(.operComplete(complete))
        guard case .operationComplete(let proto)? = try USPDeviceEvents.body(for: notify) else {
            Issue.record("no operation complete")
            return
        }
        #expect(proto.commandPath == "Device.DeviceInfo.FirmwareImage.2.Download()")
        #expect(proto.commandKey == "fw-2.1.0")
        #expect(proto.outputArgs.args.isEmpty)

        guard case .operationComplete(let completion) = notify.notification else { return }
        let command = Fixtures.command(Fixtures.download)
        #expect(completion.commandKey == USPCommandTranslator.commandKey(for: command))
        #expect(USPCommandResults.result(for: completion, command: command, context: Fixtures.context).status == .succeeded)

        complete.cmdFailure.errCode = 7022
        complete.cmdFailure.errMsg = "Image signature invalid"
        let failedNotify = try self.notify(.operComplete(complete))
        #expect(try USPDeviceEvents.event(for: failedNotify, envelope: envelope)?.operationComplete.failure.code == 7022)
        guard case .operationComplete(let failure) = failedNotify.notification else { return }
        let result = USPCommandResults.result(for: failure, command: command, context: Fixtures.context)
        #expect(result.status == .failed)
        #expect(result.error.code == 7022)
        #expect(result.error.message == "Image signature invalid")
    }

    @Test func transferComplete() throws {
        let notify = try notify(event("TransferComplete!", on: "Device.LocalAgent.", [
            "Command": "Device.DeviceInfo.FirmwareImage.2.Download()", "CommandKey": "fw-2.1.0", "Requestor": Fixtures.controllerID,
            "TransferType": "Download", "Affected": "Device.DeviceInfo.FirmwareImage.2.", "TransferURL": "https://fw.example.net/a.bin",
            "StartTime": "2024-05-01T12:00:00Z", "CompleteTime": "2024-05-01T12:00:30.5Z", "FaultCode": "0", "FaultString": "",
        ]))
        guard case .transferComplete(let proto)? = try USPDeviceEvents.body(for: notify) else {
            Issue.record("no transfer complete")
            return
        }
        #expect(proto.commandKey == "fw-2.1.0")
        #expect(proto.faultCode == 0)
        #expect(proto.startTimeUs == 1_714_564_800_000_000)
        #expect(proto.completeTimeUs == 1_714_564_830_500_000)
        #expect(proto.isDownload)
        #expect(!proto.autonomous)
        #expect(proto.fileType == "1 Firmware Upgrade Image")
        #expect(proto.transferURL == "https://fw.example.net/a.bin")

        let autonomous = try self.notify(event("TransferComplete!", on: "Device.LocalAgent.", ["TransferType": "Upload", "FaultCode": "7002"]))
        let upload = try #require(try USPDeviceEvents.event(for: autonomous, envelope: envelope)).transferComplete
        #expect(upload.autonomous)
        #expect(!upload.isDownload)
        #expect(upload.faultCode == 7002)
        #expect(upload.startTimeUs == ParameterValue.unknownTime.unixMicroseconds)

        let bad = try self.notify(event("TransferComplete!", on: "Device.LocalAgent.", ["StartTime": "yesterday"]))
        #expect(try #require(throws: USPNotificationError.self) { try USPDeviceEvents.body(for: bad) }.message.contains("StartTime"))
    }

    @Test func notificationsWithoutABusForm() throws {
        var onboard = Usp_Notify.OnBoardRequest()
        onboard.oui = "012345"
        onboard.productClass = "Gateway"
        onboard.serialNumber = "ABCDEF001122"
        onboard.agentSupportedProtocolVersions = "1.2, 1.3,x"
        let notify = try notify(.onBoardReq(onboard))
        guard case .onBoardRequest(let request) = notify.notification else {
            Issue.record("no onboard request")
            return
        }
        #expect(request.supportedVersions == [USPProtocolVersion(major: 1, minor: 2), .v1_3])
        #expect(try USPDeviceEvents.body(for: notify) == nil)
        #expect(try USPDeviceEvents.body(for: self.notify(event("Periodic!", ["Time": "x"]))) == nil)
    }

    @Test func parameterReportsAreChunked() {
        let parameters = (1...5).map { Fixtures.parameter("Device.X.\($0).Y", .int(Int32($0))) }
        let reports = USPDeviceEvents.parameterReports(parameters, fullSyncRoot: "Device.X.", reportID: "r-1", commandID: "c-1", maxParametersPerChunk: 2)
        #expect(reports.map(\.parameters.count) == [2, 2, 1])
        #expect(reports.map(\.chunkIndex) == [0, 1, 2])
        #expect(reports.map(\.finalChunk) == [false, false, true])
        #expect(reports.allSatisfy { $0.fullSyncRoot == "Device.X." && $0.reportID == "r-1" && $0.commandID == "c-1" })
        #expect(reports.flatMap(\.parameters) == parameters)

        let empty = USPDeviceEvents.parameterReports([], fullSyncRoot: "Device.X.", reportID: "r-2", commandID: "c-2")
        #expect(empty.count == 1)
        #expect(empty[0].finalChunk)
        #expect(empty[0].parameters.isEmpty)
    }
}
