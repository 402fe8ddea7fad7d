#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import BusContracts
import TwinfleetModel

/// A notification could not be turned into a device event: a path that is not a valid instance
/// path, or an event argument that does not hold what TR-181 says it holds. The message names
/// the field and quotes (a truncated copy of) the text.
public struct USPNotificationError: Error, Hashable, Sendable, CustomStringConvertible {
    /// What kind of content was refused.
    public enum Code: String, Hashable, Sendable, CaseIterable, CustomStringConvertible {
        /// A parameter or object path is malformed.
        case invalidPath
        /// An event argument is malformed (ParameterMap JSON, a boolean, a date-time, a number).
        case invalidArgument

        /// The code's name, e.g. `invalidPath`.
        public var description: String { rawValue }
    }

    /// What kind of content was refused.
    public var code: Code
    /// What was wrong, for people.
    public var message: String
    /// The source file that raised the error (`#fileID`).
    public var file: String
    /// The source line that raised the error.
    public var line: Int

    /// Creates an error; `file` and `line` default to the caller's location.
    public init(_ code: Code, _ message: String, file: String = #fileID, line: Int = #line) {
        self.code = code
        self.message = message
        self.file = file
        self.line = line
    }

    /// `code: message (file:line)`.
    public var description: String { "\(code): \(message) (\(file):\(line))" }

    /// Errors compare by what went wrong, not where in our source it was noticed.
    public static func == (lhs: USPNotificationError, rhs: USPNotificationError) -> Bool {
        lhs.code == rhs.code && lhs.message == rhs.message
    }

    /// Hashes what ``==(_:_:)`` compares.
    public func hash(into hasher: inout Hasher) {
        hasher.combine(code)
        hasher.combine(message)
    }
}

/// The `Device.Boot!` event: the agent (re)started.
public struct USPBootEvent: Hashable, Sendable {
    /// `CommandKey`: the `command_key` of the Reboot/FactoryReset that caused the boot, or empty.
    public var commandKey: String
    /// `Cause`: `LocalReboot`, `RemoteReboot`, `FactoryReset`, `LocalFactoryReset`, `RemoteFactoryReset`.
    public var cause: String
    /// `Reason` (TR-181 2.18+): e.g. `watchdog`; empty when the agent does not say.
    public var reason: String
    /// `FirmwareUpdated`: whether the boot came with new firmware.
    public var firmwareUpdated: Bool
    /// `ParameterMap`: the controller's boot parameters, full path → text, in the agent's order.
    public var parameters: [USPReportedParameter]

    /// Creates a boot event.
    public init(commandKey: String, cause: String, reason: String = "", firmwareUpdated: Bool, parameters: [USPReportedParameter]) {
        self.commandKey = commandKey
        self.cause = cause
        self.reason = reason
        self.firmwareUpdated = firmwareUpdated
        self.parameters = parameters
    }

    /// True for the event `Device.Boot!` (also accepted with `Device` written without its dot).
    public static func matches(_ event: USPEvent) -> Bool {
        event.name == "Boot!" && (event.objectPath == "Device." || event.objectPath == "Device")
    }

    /// Reads a `Boot!` event's arguments; nil when `event` is another event. Throws when
    /// `FirmwareUpdated` is not a boolean or `ParameterMap` is not a flat JSON object.
    public init?(_ event: USPEvent) throws(USPNotificationError) {
        guard Self.matches(event) else { return nil }
        let firmwareUpdated = try booleanArgument(event, "FirmwareUpdated")
        let map: [(key: String, value: String)]
        do {
            map = try ParameterMapJSON.parse(event.arguments["ParameterMap"] ?? "")
        } catch {
            throw USPNotificationError(.invalidArgument, "Boot! argument ParameterMap: \(error.message)")
        }
        var seen = Set<String>()
        var parameters: [USPReportedParameter] = []
        for (path, text) in map.reversed() where seen.insert(path).inserted {
            parameters.append(USPReportedParameter(path: path, text: text))
        }
        self.init(commandKey: event.arguments["CommandKey"] ?? "", cause: event.arguments["Cause"] ?? "",
                  reason: event.arguments["Reason"] ?? "", firmwareUpdated: firmwareUpdated, parameters: parameters.reversed())
    }
}

/// The `Device.LocalAgent.TransferComplete!` event: a file transfer ended.
public struct USPTransferCompleteEvent: Hashable, Sendable {
    /// `Command`: the path of the command that asked for the transfer; empty when no USP
    /// operation did (an autonomous transfer).
    public var command: String
    /// `CommandKey` of that command.
    public var commandKey: String
    /// `Requestor`: the endpoint ID of the controller that asked, or empty.
    public var requestor: String
    /// True for `TransferType` `Download` (the default), false for `Upload`.
    public var isDownload: Bool
    /// `Affected`: the object the transfer changed, or empty.
    public var affected: String
    /// `TransferURL`.
    public var transferURL: String
    /// `StartTime` in microseconds since the epoch (TR-106's unknown time when absent).
    public var startTimeUs: Int64
    /// `CompleteTime` in microseconds since the epoch (TR-106's unknown time when absent).
    public var completeTimeUs: Int64
    /// `FaultCode`: 0 on success, otherwise a USP error code.
    public var faultCode: UInt32
    /// `FaultString`.
    public var faultString: String

    /// True for the event `Device.LocalAgent.TransferComplete!`.
    public static func matches(_ event: USPEvent) -> Bool {
        event.name == "TransferComplete!" && (event.objectPath == "Device.LocalAgent." || event.objectPath == "Device.LocalAgent")
    }

    /// Reads a `TransferComplete!` event's arguments; nil when `event` is another event. Throws
    /// when a time is not a date-time or `FaultCode` is not an unsignedInt.
    public init?(_ event: USPEvent) throws(USPNotificationError) {
        guard Self.matches(event) else { return nil }
        command = event.arguments["Command"] ?? ""
        commandKey = event.arguments["CommandKey"] ?? ""
        requestor = event.arguments["Requestor"] ?? ""
        isDownload = (event.arguments["TransferType"] ?? "Download") != "Upload"
        affected = event.arguments["Affected"] ?? ""
        transferURL = event.arguments["TransferURL"] ?? ""
        startTimeUs = try dateTimeArgument(event, "StartTime")
        completeTimeUs = try dateTimeArgument(event, "CompleteTime")
        let fault = event.arguments["FaultCode"] ?? "0"
        guard case .unsignedInt(let code)? = try? ParameterValue(parsing: fault, as: .unsignedInt) else {
            throw USPNotificationError(.invalidArgument, "\(event.name) argument FaultCode \(quoted(fault)) is not an unsignedInt")
        }
        faultCode = code
        faultString = event.arguments["FaultString"] ?? ""
    }

    /// The CWMP-style file type of the transfer, derived from ``command``: `1 Firmware Upgrade
    /// Image` for `FirmwareImage.{i}.Download()`, `1 Vendor Configuration File` for `Backup()`,
    /// `3 Vendor Configuration File` for `Restore()`, `2 Vendor Log File` for
    /// `VendorLogFile.{i}.Upload()`; empty otherwise.
    public var fileType: String {
        if command.hasPrefix("Device.DeviceInfo.FirmwareImage.") && command.hasSuffix(".Download()") { return "1 Firmware Upgrade Image" }
        if command.hasPrefix("Device.DeviceInfo.VendorConfigFile.") && command.hasSuffix(".Backup()") { return "1 Vendor Configuration File" }
        if command.hasPrefix("Device.DeviceInfo.VendorConfigFile.") && command.hasSuffix(".Restore()") { return "3 Vendor Configuration File" }
        if command.hasPrefix("Device.DeviceInfo.VendorLogFile.") && command.hasSuffix(".Upload()") { return "2 Vendor Log File" }
        return ""
    }
}

/// A boolean event argument (`true`/`false`/`1`/`0`); absent is false.
private func booleanArgument(_ event: USPEvent, _ name: String) throws(USPNotificationError) -> Bool {
    guard let text = event.arguments[name], !text.isEmpty else { return false }
    guard case .boolean(let flag)? = try? ParameterValue(parsing: text, as: .boolean) else {
        throw USPNotificationError(.invalidArgument, "\(event.name) argument \(name) \(quoted(text)) is not a boolean")
    }
    return flag
}

/// A date-time event argument in microseconds since the epoch; absent or empty is TR-106's
/// unknown time.
private func dateTimeArgument(_ event: USPEvent, _ name: String) throws(USPNotificationError) -> Int64 {
    guard let text = event.arguments[name], !text.isEmpty else { return ParameterValue.unknownTime.unixMicroseconds }
    guard case .dateTime(let date)? = try? ParameterValue(parsing: text, as: .dateTime) else {
        throw USPNotificationError(.invalidArgument, "\(event.name) argument \(name) \(quoted(text)) is not a date-time")
    }
    return date.unixMicroseconds
}
