import BusContracts
import Foundation
import SwiftProtobuf
import TwinfleetModel

/// Fully populated example messages: every field set to a non-default value, so a round trip that
/// dropped or renumbered a field would not compare equal.
enum Fixtures {
    static func parameter(_ path: String, _ value: ParameterValue, writable: Bool? = nil) -> Twinfleet_Bus_V1_Parameter {
        // Force-try is fine in fixtures: the paths are literals.
        Twinfleet_Bus_V1_Parameter(Parameter(path: try! ParameterPath(validating: path), value: value, writable: writable))
    }

    static let parameters: [Twinfleet_Bus_V1_Parameter] = [
        parameter("Device.WiFi.Radio.1.Channel", .unsignedInt(6), writable: true),
        parameter("Device.DeviceInfo.UpTime", .unsignedInt(3600), writable: false),
        parameter("Device.DeviceInfo.SoftwareVersion", .string("2.1.0")),
        parameter("Device.Time.CurrentLocalTime", .dateTime(Date(timeIntervalSince1970: 1_714_564_800))),
    ]

    static func event(_ body: Twinfleet_Bus_V1_DeviceEvent.OneOf_Body) -> Twinfleet_Bus_V1_DeviceEvent {
        var event = Twinfleet_Bus_V1_DeviceEvent()
        event.eventID = "7f1c9a2e-0000-4000-8000-000000000001"
        event.deviceID = "00D09E-IGD-1234"
        event.tenantID = "acme"
        event.protocol = .cwmp
        event.occurredAtUs = 1_714_564_800_123_456
        event.sourceInstance = "cwmp-ingress-0"
        event.sessionID = "s-42"
        event.body = body
        return event
    }

    static var eventBodies: [Twinfleet_Bus_V1_DeviceEvent.OneOf_Body] {
        var presence = Twinfleet_Bus_V1_Presence()
        presence.kind = .sessionOpened
        presence.instanceID = "cwmp-ingress-0"
        presence.remoteAddress = "[2001:db8::1]:40000"
        presence.connectionRequestURL = "http://192.0.2.1:7547/cr"
        presence.mtp = .http
        presence.tls = true
        presence.reason = "timeout"

        var inform = Twinfleet_Bus_V1_Inform()
        inform.device.oui = "00D09E"
        inform.device.productClass = "IGD"
        inform.device.serialNumber = "1234"
        inform.device.manufacturer = "ACME"
        inform.device.modelName = "HG-1"
        inform.device.hardwareVersion = "rev2"
        inform.device.softwareVersion = "2.1.0"
        var boot = Twinfleet_Bus_V1_InformEvent()
        boot.code = "1 BOOT"
        var mReboot = Twinfleet_Bus_V1_InformEvent()
        mReboot.code = "M Reboot"
        mReboot.commandKey = "cmd-1"
        inform.events = [boot, mReboot]
        inform.retryCount = 2
        inform.currentTimeUs = ParameterValue.unknownTime.unixMicroseconds
        inform.maxEnvelopes = 1
        inform.parameters = parameters

        var uspBoot = Twinfleet_Bus_V1_Boot()
        uspBoot.cause = "RemoteReboot"
        uspBoot.commandKey = "cmd-2"
        uspBoot.firmwareUpdated = true
        uspBoot.parameters = parameters

        var report = Twinfleet_Bus_V1_ParameterReport()
        report.parameters = parameters
        report.fullSyncRoot = "Device.WiFi."
        report.chunkIndex = 3
        report.finalChunk = true
        report.reportID = "r-1"
        report.commandID = "cmd-3"

        var change = Twinfleet_Bus_V1_ValueChange()
        change.parameters = [parameters[0]]

        var created = Twinfleet_Bus_V1_ObjectCreated()
        created.path = "Device.WiFi.SSID.3."
        created.uniqueKeys = ["Alias": "cpe-ssid-3", "Name": "guest"]

        var deleted = Twinfleet_Bus_V1_ObjectDeleted()
        deleted.path = "Device.WiFi.SSID.3."
        deleted.uniqueKeys = ["Alias": "cpe-ssid-3"]

        var transfer = Twinfleet_Bus_V1_TransferComplete()
        transfer.commandKey = "fw-2.2"
        transfer.faultCode = 9010
        transfer.faultString = "Download failure"
        transfer.startTimeUs = 1_714_564_800_000_000
        transfer.completeTimeUs = 1_714_564_860_000_000
        transfer.autonomous = true
        transfer.fileType = "1 Firmware Upgrade Image"
        transfer.announceURL = "http://announce.example/"
        transfer.transferURL = "http://files.example/fw.bin"
        transfer.isDownload = true
        transfer.fileSize = 12_345_678
        transfer.targetFileName = "fw.bin"

        var operationOK = Twinfleet_Bus_V1_OperationComplete()
        operationOK.commandPath = "Device.IP.Diagnostics.IPPing()"
        operationOK.commandKey = "ping-1"
        var outputs = Twinfleet_Bus_V1_OperationComplete.OutputArgs()
        outputs.args = ["SuccessCount": "4", "AverageResponseTime": "12"]
        operationOK.outputArgs = outputs

        var operationFailed = operationOK
        var failure = Twinfleet_Bus_V1_OperationComplete.OperationFailure()
        failure.code = 7022
        failure.message = "Command failure"
        operationFailed.failure = failure

        var telemetry = Twinfleet_Bus_V1_TelemetrySample()
        telemetry.metrics = ["wifi.radio1.retransmissions": 123, "cpu.load": 0.75, "signal.dbm": -61.5]
        telemetry.sampledAtUs = 1_714_564_799_000_000
        telemetry.source = "BulkData.Profile.1"

        return [
            .presence(presence), .inform(inform), .boot(uspBoot), .parameterReport(report), .valueChange(change),
            .objectCreated(created), .objectDeleted(deleted), .transferComplete(transfer),
            .operationComplete(operationOK), .operationComplete(operationFailed), .telemetrySample(telemetry),
        ]
    }

    static func command(_ kind: Twinfleet_Bus_V1_Command.OneOf_Kind) -> Twinfleet_Bus_V1_Command {
        var command = Twinfleet_Bus_V1_Command()
        command.commandID = "c-1"
        command.deviceID = "os::012345-ABCDEF"
        command.tenantID = "acme"
        command.idempotencyKey = "campaign-7/device"
        command.priority = -3
        command.notBeforeUs = 1_714_564_800_000_000
        command.expiresAtUs = 1_714_651_200_000_000
        command.independent = true
        command.correlation.campaignID = "campaign-7"
        command.correlation.bulkOperationID = "bulk-9"
        command.correlation.userID = "u-1"
        command.correlation.requestID = "req-1"
        command.createdAtUs = 1_714_564_700_000_000
        command.kind = kind
        return command
    }

    static var commandKinds: [Twinfleet_Bus_V1_Command.OneOf_Kind] {
        var get = Twinfleet_Bus_V1_GetParameters()
        get.paths = ["Device.WiFi.", "Device.DeviceInfo.UpTime"]
        get.nextLevel = true

        var set = Twinfleet_Bus_V1_SetParameters()
        set.parameters = [parameter("Device.WiFi.Radio.1.Channel", .unsignedInt(11))]
        set.parameterKey = "pk-1"

        var add = Twinfleet_Bus_V1_AddObject()
        add.objectPath = "Device.WiFi.SSID."
        add.parameterKey = "pk-2"
        add.initialParameters = [parameter("Device.WiFi.SSID.SSID", .string("guest"))]

        var delete = Twinfleet_Bus_V1_DeleteObject()
        delete.objectPath = "Device.WiFi.SSID.3."
        delete.parameterKey = "pk-3"

        var reboot = Twinfleet_Bus_V1_Reboot()
        reboot.commandKey = "reboot-1"

        var download = Twinfleet_Bus_V1_Download()
        download.url = "https://files.example/fw-2.2.bin"
        download.fileType = "1 Firmware Upgrade Image"
        download.fileSize = 12_345_678
        download.sha256 = String(repeating: "ab", count: 32)
        download.username = "cpe"
        download.password = "token"
        download.targetFileName = "fw.bin"
        download.delaySeconds = 30
        download.commandKey = "fw-2.2"

        var upload = Twinfleet_Bus_V1_Upload()
        upload.url = "https://files.example/upload"
        upload.fileType = "2 Vendor Log File"
        upload.username = "cpe"
        upload.password = "token"
        upload.delaySeconds = 5
        upload.commandKey = "log-1"

        var operate = Twinfleet_Bus_V1_Operate()
        operate.commandPath = "Device.IP.Diagnostics.IPPing()"
        operate.commandKey = "ping-1"
        operate.inputArgs = ["Host": "192.0.2.1", "NumberOfRepetitions": "4"]
        operate.sendResp = true

        var refresh = Twinfleet_Bus_V1_Refresh()
        refresh.path = "Device.WiFi."

        var schedule = Twinfleet_Bus_V1_ScheduleInform()
        schedule.delaySeconds = 60
        schedule.commandKey = "si-1"

        return [
            .getParameters(get), .setParameters(set), .addObject(add), .deleteObject(delete), .reboot(reboot),
            .factoryReset(Twinfleet_Bus_V1_FactoryReset()), .download(download), .upload(upload), .operate(operate),
            .refresh(refresh), .scheduleInform(schedule),
        ]
    }
}

/// Serialises and parses back, and checks the bytes were not empty.
func roundTrip<M: SwiftProtobuf.Message>(_ message: M) throws -> M {
    let bytes: [UInt8] = try message.serializedBytes()
    guard !bytes.isEmpty else { throw RoundTripError.emptySerialization }
    return try M(serializedBytes: bytes)
}

enum RoundTripError: Error {
    case emptySerialization
}
