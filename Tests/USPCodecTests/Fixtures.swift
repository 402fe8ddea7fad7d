import BusContracts
import Foundation
import SwiftProtobuf
import TwinfleetModel
@testable import USPCodec

/// Commands, agent messages and records shaped like what Twinfleet's producers and an obuspa agent
/// send, built with the generated types.
enum Fixtures {
    static let controllerID = "self::twinfleet-controller"
    static let agentID = "os::012345-ABCDEF001122"
    static let context = USPResultContext(instanceID: "usp-ingress-0", attempt: 2, occurredAtUs: 1_714_564_800_123_456)

    // MARK: Commands

    static func command(_ kind: Twinfleet_Bus_V1_Command.OneOf_Kind?, id: String = "6f1c2d3e-0000-4000-8000-00000000abcd") -> Twinfleet_Bus_V1_Command {
        var command = Twinfleet_Bus_V1_Command()
        command.commandID = id
        command.deviceID = agentID
        command.tenantID = "tenant-1"
        command.kind = kind
        return command
    }

    static func parameter(_ path: String, _ value: ParameterValue) -> Twinfleet_Bus_V1_Parameter {
        Twinfleet_Bus_V1_Parameter(Parameter(path: try! ParameterPath(validating: path), value: value))
    }

    static var getParameters: Twinfleet_Bus_V1_Command.OneOf_Kind {
        var get = Twinfleet_Bus_V1_GetParameters()
        get.paths = ["Device.DeviceInfo.SoftwareVersion", "Device.WiFi.SSID.1."]
        return .getParameters(get)
    }

    static var setParameters: Twinfleet_Bus_V1_Command.OneOf_Kind {
        var set = Twinfleet_Bus_V1_SetParameters()
        set.parameters = [
            parameter("Device.WiFi.SSID.1.SSID", .string("home")),
            parameter("Device.WiFi.Radio.1.Channel", .unsignedInt(6)),
            parameter("Device.WiFi.SSID.1.Enable", .boolean(true)),
        ]
        return .setParameters(set)
    }

    static var addObject: Twinfleet_Bus_V1_Command.OneOf_Kind {
        var add = Twinfleet_Bus_V1_AddObject()
        add.objectPath = "Device.WiFi.SSID."
        add.initialParameters = [parameter("SSID", .string("guest")), parameter("Enable", .boolean(false))]
        return .addObject(add)
    }

    static var deleteObject: Twinfleet_Bus_V1_Command.OneOf_Kind {
        var delete = Twinfleet_Bus_V1_DeleteObject()
        delete.objectPath = "Device.WiFi.SSID.3."
        return .deleteObject(delete)
    }

    static var reboot: Twinfleet_Bus_V1_Command.OneOf_Kind {
        var reboot = Twinfleet_Bus_V1_Reboot()
        reboot.commandKey = "reboot-42"
        return .reboot(reboot)
    }

    static var download: Twinfleet_Bus_V1_Command.OneOf_Kind {
        var download = Twinfleet_Bus_V1_Download()
        download.url = "https://fw.example.net/acme-2.1.0.bin"
        download.fileType = "1 Firmware Upgrade Image"
        download.fileSize = 31_457_280
        download.sha256 = String(repeating: "AB", count: 32)
        download.username = "token"
        download.password = "s3cret"
        download.commandKey = "fw-2.1.0"
        return .download(download)
    }

    static var upload: Twinfleet_Bus_V1_Command.OneOf_Kind {
        var upload = Twinfleet_Bus_V1_Upload()
        upload.url = "https://logs.example.net/upload"
        upload.fileType = "2 Vendor Log File"
        return .upload(upload)
    }

    static var operate: Twinfleet_Bus_V1_Command.OneOf_Kind {
        var operate = Twinfleet_Bus_V1_Operate()
        operate.commandPath = "Device.IP.Diagnostics.IPPing()"
        operate.inputArgs = ["Host": "192.0.2.1", "NumberOfRepetitions": "3"]
        operate.sendResp = true
        return .operate(operate)
    }

    static var refresh: Twinfleet_Bus_V1_Command.OneOf_Kind {
        var refresh = Twinfleet_Bus_V1_Refresh()
        refresh.path = "Device.WiFi."
        return .refresh(refresh)
    }

    static var scheduleInform: Twinfleet_Bus_V1_Command.OneOf_Kind {
        var schedule = Twinfleet_Bus_V1_ScheduleInform()
        schedule.delaySeconds = 30
        return .scheduleInform(schedule)
    }

    /// Every kind USP has a request for.
    static var translatableKinds: [Twinfleet_Bus_V1_Command.OneOf_Kind] {
        [getParameters, setParameters, addObject, deleteObject, reboot, .factoryReset(Twinfleet_Bus_V1_FactoryReset()), download, upload, operate, refresh]
    }

    // MARK: Agent messages

    static func response(_ msgID: String, _ type: Usp_Header.MsgType, _ kind: Usp_Response.OneOf_RespType) -> Usp_Msg {
        var message = Usp_Msg()
        message.header.msgID = msgID
        message.header.msgType = type
        var response = Usp_Response()
        response.respType = kind
        message.body.response = response
        return message
    }

    static func notify(_ msgID: String = "notify-17", subscriptionID: String = "tf-boot", sendResp: Bool = true, _ notification: Usp_Notify.OneOf_Notification?) -> Usp_Msg {
        var notify = Usp_Notify()
        notify.subscriptionID = subscriptionID
        notify.sendResp = sendResp
        notify.notification = notification
        var message = Usp_Msg()
        message.header.msgID = msgID
        message.header.msgType = .notify
        message.body.request.notify = notify
        return message
    }

    static func notify(_ notification: Usp_Notify.OneOf_Notification?) -> Usp_Msg {
        notify("notify-17", notification)
    }

    /// A GetResp as obuspa answers Get [`Device.DeviceInfo.SoftwareVersion`, `Device.WiFi.SSID.1.`,
    /// `Device.Nope.`] with max_depth 0: one resolved object per instance and sub-object.
    static var getResp: Usp_GetResp {
        var software = Usp_GetResp.RequestedPathResult()
        software.requestedPath = "Device.DeviceInfo.SoftwareVersion"
        var info = Usp_GetResp.ResolvedPathResult()
        info.resolvedPath = "Device.DeviceInfo."
        info.resultParams = ["SoftwareVersion": "2.0.3"]
        software.resolvedPathResults = [info]

        var ssid = Usp_GetResp.RequestedPathResult()
        ssid.requestedPath = "Device.WiFi.SSID.1."
        var instance = Usp_GetResp.ResolvedPathResult()
        instance.resolvedPath = "Device.WiFi.SSID.1."
        instance.resultParams = ["Enable": "1", "SSID": "home", "Status": "Up"]
        var stats = Usp_GetResp.ResolvedPathResult()
        stats.resolvedPath = "Device.WiFi.SSID.1.Stats."
        stats.resultParams = ["BytesSent": "18446744073709551615", "ErrorsSent": ""]
        ssid.resolvedPathResults = [instance, stats]

        var missing = Usp_GetResp.RequestedPathResult()
        missing.requestedPath = "Device.Nope."
        missing.errCode = 7026
        missing.errMsg = "Invalid path: Device.Nope."

        var get = Usp_GetResp()
        get.reqPathResults = [software, ssid, missing]
        return get
    }

    /// Types as the TR-181 USP model declares them, for the parameters of the fixtures.
    static func typeLookup(_ path: ParameterPath) -> ParameterType? {
        switch path.components.last {
        case "Enable"?: .boolean
        case "BytesSent"?: .unsignedLong
        case "ErrorsSent"?, "Channel"?, "UpTime"?: .unsignedInt
        default: nil
        }
    }

    static func record(_ type: UspRecord_Record.OneOf_RecordType?, version: String = "1.3", to: String = controllerID, from: String = agentID,
                       security: UspRecord_Record.PayloadSecurity = .plaintext) -> [UInt8] {
        var record = UspRecord_Record()
        record.version = version
        record.toID = to
        record.fromID = from
        record.payloadSecurity = security
        record.recordType = type
        return try! record.serializedBytes()
    }

    static func noSessionRecord(_ message: Usp_Msg) -> [UInt8] {
        var body = UspRecord_NoSessionContextRecord()
        // Map fields in key order, so seeds (and the fuzz test built on them) are the same every run.
        var options = BinaryEncodingOptions()
        options.useDeterministicOrdering = true
        body.payload = try! message.serializedBytes(options: options)
        return record(.noSessionContext(body))
    }

    /// Parses a Msg the way an agent would.
    static func parse(_ message: Usp_Msg) throws -> Usp_Msg {
        try Usp_Msg(serializedBytes: try message.serializedBytes() as [UInt8])
    }
}
