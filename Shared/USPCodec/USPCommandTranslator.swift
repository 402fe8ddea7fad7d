import BusContracts
import TwinfleetModel

/// Device-specific choices the translation of a command needs, which the ingress knows from the
/// twin (e.g. which firmware bank is inactive).
public struct USPRequestOptions: Hashable, Sendable {
    /// The `Device.DeviceInfo.FirmwareImage.{i}.` a firmware Download writes to; normally the
    /// inactive bank (see ``inactiveFirmwareImage(activeImage:instances:)``). Default 2.
    public var firmwareImageInstance: UInt32
    /// The `AutoActivate` argument of a firmware Download: true (the default) boots the new image
    /// once it is written, as a CWMP Download does.
    public var autoActivateFirmware: Bool
    /// The `Device.DeviceInfo.VendorConfigFile.{i}.` an Upload (`Backup()`) or a Download
    /// (`Restore()`) of `… Vendor Configuration File` uses when the file type names none. Default 1.
    public var vendorConfigFileInstance: UInt32
    /// The `Device.DeviceInfo.VendorLogFile.{i}.` an Upload of `2 Vendor Log File` uses. Default 1.
    public var vendorLogFileInstance: UInt32

    /// Creates options; every argument has the documented default.
    public init(firmwareImageInstance: UInt32 = 2, autoActivateFirmware: Bool = true, vendorConfigFileInstance: UInt32 = 1, vendorLogFileInstance: UInt32 = 1) {
        self.firmwareImageInstance = firmwareImageInstance
        self.autoActivateFirmware = autoActivateFirmware
        self.vendorConfigFileInstance = vendorConfigFileInstance
        self.vendorLogFileInstance = vendorLogFileInstance
    }

    /// The firmware bank to download into: the lowest of `instances` that is not the one
    /// `activeImage` (the value of `Device.DeviceInfo.ActiveFirmwareImage`, a path such as
    /// `Device.DeviceInfo.FirmwareImage.1`) refers to. Nil when the active image is unknown or
    /// there is no other bank.
    public static func inactiveFirmwareImage(activeImage: String?, instances: [UInt32]) -> UInt32? {
        guard let activeImage else { return nil }
        let prefix = "Device.DeviceInfo.FirmwareImage."
        guard activeImage.hasPrefix(prefix) else { return nil }
        var number = activeImage.dropFirst(prefix.count)
        if number.hasSuffix(".") { number = number.dropLast() }
        guard let active = UInt32(number) else { return nil }
        return instances.filter { $0 != active }.min()
    }
}

/// Turns Twinfleet's protocol-agnostic commands into USP requests:
///
/// | command | USP request |
/// |---|---|
/// | GetParameters | Get (`max_depth` 1 when `next_level`, else 0 = whole subtree) |
/// | SetParameters | Set, `allow_partial` false, one UpdateObject per parent object, every parameter required |
/// | AddObject | Add, `allow_partial` false, the initial parameters as required settings |
/// | DeleteObject | Delete, `allow_partial` false |
/// | Reboot | Operate `Device.Reboot()` |
/// | FactoryReset | Operate `Device.FactoryReset()` |
/// | Download | Operate `Device.DeviceInfo.FirmwareImage.{i}.Download()` (file type 1 or empty), `Device.DeviceInfo.VendorConfigFile.{i}.Restore()` (type 3) |
/// | Upload | Operate `Device.DeviceInfo.VendorConfigFile.{i}.Backup()` (types 1 and 3), `Device.DeviceInfo.VendorLogFile.{i}.Upload()` (types 2 and 4) |
/// | Operate | Operate as given |
/// | Refresh | Get of the path with `max_depth` 0; the answer becomes a ParameterReport with `full_sync_root` = the path (``USPDeviceEvents/parameterReports(_:fullSyncRoot:reportID:commandID:maxParametersPerChunk:)``) |
/// | ScheduleInform | none: refused with ``USPCommandError/Code/notSupported`` |
///
/// Every command is one request, step 0; its `msg_id` is ``USPMessageID/command(commandID:attempt:step:)``.
/// Operates carry ``commandKey(for:)`` so OperationComplete and `Boot!` lead back to the command.
public enum USPCommandTranslator {
    /// The request for delivery `attempt` of `command`.
    public static func request(for command: Twinfleet_Bus_V1_Command, attempt: UInt32 = 1, options: USPRequestOptions = USPRequestOptions()) throws(USPCommandError) -> Usp_Msg {
        let msgID = messageID(for: command, attempt: attempt).rawValue
        let id = command.commandID
        switch command.kind {
        case .getParameters(let get)?:
            guard !get.paths.isEmpty else { throw USPCommandError(.invalidCommand, "GetParameters without paths", commandID: id) }
            for path in get.paths where path.isEmpty {
                throw USPCommandError(.invalidCommand, "GetParameters with an empty path", commandID: id)
            }
            return USPMessages.get(msgID: msgID, paths: get.paths, maxDepth: get.nextLevel ? 1 : 0)
        case .setParameters(let set)?:
            return USPMessages.set(msgID: msgID, objects: try setObjects(set, commandID: id))
        case .addObject(let add)?:
            return USPMessages.add(msgID: msgID, objects: [try createObject(add, commandID: id)])
        case .deleteObject(let delete)?:
            let path = try objectPath(delete.objectPath, what: "DeleteObject.object_path", commandID: id)
            return USPMessages.delete(msgID: msgID, paths: [path.rawValue])
        case .reboot?:
            return USPMessages.operate(msgID: msgID, command: "Device.Reboot()", commandKey: commandKey(for: command))
        case .factoryReset?:
            return USPMessages.operate(msgID: msgID, command: "Device.FactoryReset()", commandKey: commandKey(for: command))
        case .download(let download)?:
            let (path, arguments) = try downloadOperation(download, options: options, commandID: id)
            return USPMessages.operate(msgID: msgID, command: path, commandKey: commandKey(for: command), inputArguments: arguments)
        case .upload(let upload)?:
            let (path, arguments) = try uploadOperation(upload, options: options, commandID: id)
            return USPMessages.operate(msgID: msgID, command: path, commandKey: commandKey(for: command), inputArguments: arguments)
        case .operate(let operate)?:
            guard operate.commandPath.hasSuffix("()"), operate.commandPath.count > 2 else {
                throw USPCommandError(.invalidCommand, "Operate.command_path \(quoted(operate.commandPath)) is not a command path ending in ()", commandID: id)
            }
            return USPMessages.operate(msgID: msgID, command: operate.commandPath, commandKey: commandKey(for: command),
                                       inputArguments: operate.inputArgs, sendResponse: operate.sendResp)
        case .refresh(let refresh)?:
            guard !refresh.path.isEmpty else { throw USPCommandError(.invalidCommand, "Refresh without a path", commandID: id) }
            return USPMessages.get(msgID: msgID, paths: [refresh.path], maxDepth: 0)
        case .scheduleInform?:
            throw USPCommandError(.notSupported, "ScheduleInform has no USP form: USP agents stay connected", commandID: id)
        case .setParameterAttributes?:
            throw USPCommandError(
                .notSupported, "SetParameterAttributes has no USP form: add a Device.LocalAgent.Subscription. instance (add-object) for value changes",
                commandID: id)
        case nil:
            throw USPCommandError(.invalidCommand, "command has no kind set", commandID: id)
        }
    }

    /// The `msg_id` of step `step` of delivery `attempt` of `command`.
    public static func messageID(for command: Twinfleet_Bus_V1_Command, attempt: UInt32 = 1, step: UInt32 = 0) -> USPMessageID {
        .command(commandID: command.commandID, attempt: attempt, step: step)
    }

    /// The `command_key` an Operate for `command` carries: the command's own key (Reboot,
    /// Download, Upload, Operate) when it has one, otherwise the command ID, so an
    /// OperationComplete or `Boot!` always names the command that caused it.
    public static func commandKey(for command: Twinfleet_Bus_V1_Command) -> String {
        let own: String = switch command.kind {
        case .reboot(let reboot)?: reboot.commandKey
        case .download(let download)?: download.commandKey
        case .upload(let upload)?: upload.commandKey
        case .operate(let operate)?: operate.commandKey
        default: ""
        }
        return own.isEmpty ? command.commandID : own
    }

    /// One UpdateObject per parent object, in order of first appearance.
    static func setObjects(_ set: Twinfleet_Bus_V1_SetParameters, commandID: String) throws(USPCommandError) -> [USPObjectSettings] {
        guard !set.parameters.isEmpty else { throw USPCommandError(.invalidCommand, "SetParameters without parameters", commandID: commandID) }
        var objects: [USPObjectSettings] = []
        var index: [String: Int] = [:]
        for proto in set.parameters {
            let parameter: Parameter
            do {
                parameter = try Parameter(proto)
            } catch {
                throw USPCommandError(.invalidCommand, "SetParameters: \(error.message)", commandID: commandID)
            }
            guard !parameter.path.isObject, let parent = parameter.path.parent, let name = parameter.path.components.last else {
                throw USPCommandError(.invalidCommand, "SetParameters: \(quoted(parameter.path.rawValue)) is not a parameter inside an object", commandID: commandID)
            }
            let setting = USPParameterSetting(name: name, value: parameter.value.wireString, required: true)
            if let position = index[parent.rawValue] {
                objects[position].parameters.append(setting)
            } else {
                index[parent.rawValue] = objects.count
                objects.append(USPObjectSettings(path: parent.rawValue, parameters: [setting]))
            }
        }
        return objects
    }

    /// The CreateObject of an AddObject: the table and its initial parameters (relative names).
    static func createObject(_ add: Twinfleet_Bus_V1_AddObject, commandID: String) throws(USPCommandError) -> USPObjectSettings {
        let table = try objectPath(add.objectPath, what: "AddObject.object_path", commandID: commandID)
        var settings: [USPParameterSetting] = []
        for proto in add.initialParameters {
            let parameter: Parameter
            do {
                parameter = try Parameter(proto)
            } catch {
                throw USPCommandError(.invalidCommand, "AddObject.initial_parameters: \(error.message)", commandID: commandID)
            }
            guard !parameter.path.isObject else {
                throw USPCommandError(.invalidCommand, "AddObject.initial_parameters: \(quoted(parameter.path.rawValue)) is an object, not a parameter", commandID: commandID)
            }
            settings.append(USPParameterSetting(name: parameter.path.rawValue, value: parameter.value.wireString, required: true))
        }
        return USPObjectSettings(path: table.rawValue, parameters: settings)
    }

    /// A valid object path (ending with a dot).
    static func objectPath(_ text: String, what: String, commandID: String) throws(USPCommandError) -> ParameterPath {
        let path: ParameterPath
        do {
            path = try ParameterPath(validating: text)
        } catch {
            throw USPCommandError(.invalidCommand, "\(what): \(error.message)", commandID: commandID)
        }
        guard path.isObject else {
            throw USPCommandError(.invalidCommand, "\(what) \(quoted(text)) is not an object path (it must end with a dot)", commandID: commandID)
        }
        return path
    }
}
