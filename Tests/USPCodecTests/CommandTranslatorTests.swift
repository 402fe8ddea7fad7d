import BusContracts
import Foundation
import Testing
import TwinfleetModel
@testable import USPCodec

@Suite struct CommandTranslatorTests {
    func request(_ kind: Twinfleet_Bus_V1_Command.OneOf_Kind?, attempt: UInt32 = 1, options: USPRequestOptions = USPRequestOptions()) throws -> Usp_Msg {
        try Fixtures.parse(USPCommandTranslator.request(for: Fixtures.command(kind), attempt: attempt, options: options))
    }

    @Test func getParameters() throws {
        let message = try request(Fixtures.getParameters)
        #expect(message.header.msgType == .get)
        #expect(message.body.request.get.paramPaths == ["Device.DeviceInfo.SoftwareVersion", "Device.WiFi.SSID.1."])
        #expect(message.body.request.get.maxDepth == 0)

        var nextLevel = Twinfleet_Bus_V1_GetParameters()
        nextLevel.paths = ["Device.WiFi."]
        nextLevel.nextLevel = true
        #expect(try request(.getParameters(nextLevel)).body.request.get.maxDepth == 1)
    }

    @Test func setParametersGroupsByObject() throws {
        let message = try request(Fixtures.setParameters)
        #expect(message.header.msgType == .set)
        let set = message.body.request.set
        #expect(!set.allowPartial)
        #expect(set.updateObjs.map(\.objPath) == ["Device.WiFi.SSID.1.", "Device.WiFi.Radio.1."])
        #expect(set.updateObjs[0].paramSettings.map(\.param) == ["SSID", "Enable"])
        #expect(set.updateObjs[0].paramSettings.map(\.value) == ["home", "true"])
        #expect(set.updateObjs[1].paramSettings.map(\.value) == ["6"])
        #expect(set.updateObjs.allSatisfy { $0.paramSettings.allSatisfy(\.required) })
    }

    @Test func addAndDelete() throws {
        let add = try request(Fixtures.addObject)
        #expect(add.header.msgType == .add)
        #expect(!add.body.request.add.allowPartial)
        #expect(add.body.request.add.createObjs.map(\.objPath) == ["Device.WiFi.SSID."])
        #expect(add.body.request.add.createObjs[0].paramSettings.map { "\($0.param)=\($0.value)" } == ["SSID=guest", "Enable=false"])

        let delete = try request(Fixtures.deleteObject)
        #expect(delete.header.msgType == .delete)
        #expect(delete.body.request.delete.objPaths == ["Device.WiFi.SSID.3."])
        #expect(!delete.body.request.delete.allowPartial)
    }

    @Test func rebootAndFactoryReset() throws {
        let reboot = try request(Fixtures.reboot)
        #expect(reboot.body.request.operate.command == "Device.Reboot()")
        #expect(reboot.body.request.operate.commandKey == "reboot-42")
        #expect(reboot.body.request.operate.sendResp)

        let reset = try request(.factoryReset(Twinfleet_Bus_V1_FactoryReset()))
        #expect(reset.body.request.operate.command == "Device.FactoryReset()")
        // No key of its own: the command ID, so the Boot! names the command.
        #expect(reset.body.request.operate.commandKey == Fixtures.command(nil).commandID)
    }

    @Test func firmwareDownloadGoesToTheChosenBank() throws {
        let operate = try request(Fixtures.download, options: USPRequestOptions(firmwareImageInstance: 1, autoActivateFirmware: false)).body.request.operate
        #expect(operate.command == "Device.DeviceInfo.FirmwareImage.1.Download()")
        #expect(operate.commandKey == "fw-2.1.0")
        #expect(operate.inputArgs == [
            "URL": "https://fw.example.net/acme-2.1.0.bin", "AutoActivate": "false", "Username": "token", "Password": "s3cret",
            "FileSize": "31457280", "CheckSumAlgorithm": "SHA-256", "CheckSum": String(repeating: "ab", count: 32),
        ])
        #expect(try request(Fixtures.download).body.request.operate.command == "Device.DeviceInfo.FirmwareImage.2.Download()")
    }

    @Test func inactiveFirmwareBank() {
        #expect(USPRequestOptions.inactiveFirmwareImage(activeImage: "Device.DeviceInfo.FirmwareImage.1", instances: [1, 2]) == 2)
        #expect(USPRequestOptions.inactiveFirmwareImage(activeImage: "Device.DeviceInfo.FirmwareImage.2.", instances: [2, 1, 3]) == 1)
        #expect(USPRequestOptions.inactiveFirmwareImage(activeImage: "Device.DeviceInfo.FirmwareImage.1", instances: [1]) == nil)
        #expect(USPRequestOptions.inactiveFirmwareImage(activeImage: nil, instances: [1, 2]) == nil)
        #expect(USPRequestOptions.inactiveFirmwareImage(activeImage: "garbage", instances: [1, 2]) == nil)
    }

    @Test func configurationDownloadRestores() throws {
        var download = Twinfleet_Bus_V1_Download()
        download.url = "https://cfg.example.net/c.xml"
        download.fileType = "3 Vendor Configuration File"
        download.targetFileName = "config.xml"
        let operate = try request(.download(download), options: USPRequestOptions(vendorConfigFileInstance: 4)).body.request.operate
        #expect(operate.command == "Device.DeviceInfo.VendorConfigFile.4.Restore()")
        #expect(operate.inputArgs == ["URL": "https://cfg.example.net/c.xml", "Username": "", "Password": "", "TargetFileName": "config.xml"])
    }

    @Test(arguments: [
        ("2 Vendor Log File", "Device.DeviceInfo.VendorLogFile.1.Upload()"),
        ("4 Vendor Log File 3", "Device.DeviceInfo.VendorLogFile.3.Upload()"),
        ("1 Vendor Configuration File", "Device.DeviceInfo.VendorConfigFile.1.Backup()"),
        ("3 Vendor Configuration File 2", "Device.DeviceInfo.VendorConfigFile.2.Backup()"),
    ])
    func uploadsByFileType(fileType: String, command: String) throws {
        var upload = Twinfleet_Bus_V1_Upload()
        upload.url = "https://logs.example.net/u"
        upload.fileType = fileType
        upload.username = "u"
        let operate = try request(.upload(upload)).body.request.operate
        #expect(operate.command == command)
        #expect(operate.inputArgs == ["URL": "https://logs.example.net/u", "Username": "u", "Password": ""])
    }

    @Test func operateAndRefresh() throws {
        let operate = try request(Fixtures.operate).body.request.operate
        #expect(operate.command == "Device.IP.Diagnostics.IPPing()")
        #expect(operate.inputArgs == ["Host": "192.0.2.1", "NumberOfRepetitions": "3"])
        #expect(operate.commandKey == Fixtures.command(nil).commandID)

        let refresh = try request(Fixtures.refresh)
        #expect(refresh.header.msgType == .get)
        #expect(refresh.body.request.get.paramPaths == ["Device.WiFi."])
        #expect(refresh.body.request.get.maxDepth == 0)
    }

    @Test func everyTranslatableKindGetsTheCommandsMessageID() throws {
        for (index, kind) in Fixtures.translatableKinds.enumerated() {
            let command = Fixtures.command(kind, id: "cmd-\(index)/x")
            let message = try USPCommandTranslator.request(for: command, attempt: 3)
            let id = try #require(USPMessageID(parsing: message.header.msgID))
            #expect(id == .command(commandID: command.commandID, attempt: 3, step: 0))
            #expect(id.commandID == command.commandID)
            #expect(USPCommandResults.expectedResponse(for: command) != "no response")
        }
        #expect(Fixtures.translatableKinds.count == 10)
    }

    /// Kinds and fields USP cannot express become FAILED results with a Twinfleet code.
    @Test func refusals() throws {
        func refusal(_ kind: Twinfleet_Bus_V1_Command.OneOf_Kind?) throws -> USPCommandError {
            try #require(throws: USPCommandError.self) { try USPCommandTranslator.request(for: Fixtures.command(kind)) }
        }
        let schedule = try refusal(Fixtures.scheduleInform)
        #expect(schedule.code == .notSupported)
        #expect(schedule.commandError.code == TwinfleetErrorCode.notSupportedByProtocol.rawValue)
        #expect(!schedule.commandError.retriable)
        let attributes = try refusal(.setParameterAttributes(Twinfleet_Bus_V1_SetParameterAttributes()))
        #expect(attributes.code == .notSupported)
        #expect(attributes.commandError.message.contains("Device.LocalAgent.Subscription."))
        #expect(try refusal(nil).code == .invalidCommand)
        #expect(try refusal(nil).commandError.code == TwinfleetErrorCode.invalidCommand.rawValue)

        var badSet = Twinfleet_Bus_V1_SetParameters()
        badSet.parameters = [Fixtures.parameter("Device.WiFi.", .string("x"))]
        #expect(try refusal(.setParameters(badSet)).code == .invalidCommand)
        var badPath = Twinfleet_Bus_V1_SetParameters()
        var raw = Twinfleet_Bus_V1_Parameter()
        raw.path = "Device.WiFi.SSID.1.SSID name"
        raw.value.stringValue = "x"
        badPath.parameters = [raw]
        #expect(try refusal(.setParameters(badPath)).message.contains("path"))
        #expect(try refusal(.setParameters(Twinfleet_Bus_V1_SetParameters())).code == .invalidCommand)

        var notTable = Twinfleet_Bus_V1_DeleteObject()
        notTable.objectPath = "Device.WiFi.SSID.3"
        #expect(try refusal(.deleteObject(notTable)).code == .invalidCommand)

        var tone = Twinfleet_Bus_V1_Download()
        tone.url = "https://x"
        tone.fileType = "4 Tone File"
        #expect(try refusal(.download(tone)).code == .notSupported)
        var badDigest = Twinfleet_Bus_V1_Download()
        badDigest.url = "https://x"
        badDigest.sha256 = "abc"
        #expect(try refusal(.download(badDigest)).code == .invalidCommand)
        var firmwareUpload = Twinfleet_Bus_V1_Upload()
        firmwareUpload.url = "https://x"
        firmwareUpload.fileType = "1 Firmware Upgrade Image"
        #expect(try refusal(.upload(firmwareUpload)).code == .notSupported)

        var notACommand = Twinfleet_Bus_V1_Operate()
        notACommand.commandPath = "Device.IP.Diagnostics.IPPing"
        #expect(try refusal(.operate(notACommand)).code == .invalidCommand)

        let result = USPCommandResults.result(for: schedule, command: Fixtures.command(Fixtures.scheduleInform), context: Fixtures.context)
        #expect(result.status == .failed)
        #expect(result.error.code == TwinfleetErrorCode.notSupportedByProtocol.rawValue)
        #expect(result.attempt == 2)
    }

    @Test func passwordsNeverReachErrorMessages() throws {
        var download = Twinfleet_Bus_V1_Download()
        download.url = "https://x"
        download.fileType = "9 Something"
        download.password = "hunter2"
        let error = try #require(throws: USPCommandError.self) { try USPCommandTranslator.request(for: Fixtures.command(.download(download))) }
        #expect(!error.description.contains("hunter2"))
    }
}

@Suite struct MessageIDTests {
    @Test func commandIDsRoundTrip() {
        for id in ["6f1c2d3e-0000-4000-8000-00000000abcd", "a/b/c", "x"] {
            for (attempt, step) in [(UInt32(1), UInt32(0)), (7, 12), (.max, .max)] {
                let messageID = USPMessageID.command(commandID: id, attempt: attempt, step: step)
                #expect(USPMessageID(parsing: messageID.rawValue) == messageID)
            }
        }
        #expect(USPMessageID.command(commandID: "c1", attempt: 1, step: 0).rawValue == "tf/cmd/1/0/c1")
    }

    @Test func controllerIDsRoundTrip() {
        let id = USPMessageID.controller(purpose: "subscribe", token: "2024/05/01-1")
        #expect(USPMessageID(parsing: id.rawValue) == id)
        #expect(id.commandID == nil)
    }

    @Test func foreignAndMalformedIDsAreNotOurs() {
        for text in ["", "notify-17", "tf", "tf/cmd/1/0/", "tf/cmd/01/0/c", "tf/cmd/1/-1/c", "tf/cmd/x/0/c", "tf/cmd/1/0",
                     "tf/ctl//t", "tf/ctl/p/", "tf/zzz/1/0/c", "tf/cmd/4294967296/0/c"] {
            #expect(USPMessageID(parsing: text) == nil, "\(text)")
        }
    }

    @Test func answersLeadBackToTheirCommand() throws {
        let command = Fixtures.command(Fixtures.getParameters)
        let request = try USPCommandTranslator.request(for: command, attempt: 2)
        var resp = Usp_GetResp()
        resp.reqPathResults = []
        let answer = try USPMessageDecoder().decode(Fixtures.response(request.header.msgID, .getResp, .getResp(resp)))
        #expect(answer.answeredRequest == .command(commandID: command.commandID, attempt: 2, step: 0))
        #expect(answer.answeredRequest?.commandID == command.commandID)
    }
}
