import BusContracts
import CWMPCodec
import TwinfleetModel

/// Turns protocol-agnostic commands into CWMP RPCs (``start(_:environment:)``) and reads the
/// CPE's responses (``advance(_:command:response:environment:ids:)``). Pure functions of their
/// inputs.
enum CommandProgram {
    /// The first RPC of `command`, or its refusal when it cannot be carried out over CWMP or is
    /// malformed (then nothing is sent).
    static func start(_ command: Twinfleet_Bus_V1_Command, environment: ProgramEnvironment) -> CommandAdvance {
        switch command.kind {
        case .getParameters(let get)?: return startGet(get)
        case .setParameters(let set)?: return startSet(set)
        case .addObject(let add)?: return startAdd(add)
        case .deleteObject(let delete)?:
            guard let path = objectPath(delete.objectPath) else {
                return .refuse(.invalidCommand, "DeleteObject.object_path \(BusConversion.quote(delete.objectPath)) is not an object instance path")
            }
            return send(.deleteObject(DeleteObject(objectName: path, parameterKey: delete.parameterKey)), .deleteObject(path: path))
        case .reboot(let reboot)?:
            return send(.reboot(Reboot(commandKey: commandKey(reboot.commandKey, command))), .acknowledged)
        case .factoryReset?:
            return send(.factoryReset, .acknowledged)
        case .download(let download)?:
            guard !download.url.isEmpty, !download.fileType.isEmpty else {
                return .refuse(.invalidCommand, "Download needs url and file_type")
            }
            let key = commandKey(download.commandKey, command)
            // CWMP's FileSize is an unsignedInt: larger files are announced as unknown (0).
            let size = UInt32(exactly: download.fileSize) ?? 0
            let rpc = Download(commandKey: key, fileType: download.fileType, url: download.url, username: download.username,
                               password: download.password, fileSize: size, targetFileName: download.targetFileName,
                               delaySeconds: download.delaySeconds)
            return send(.download(rpc), .transfer(isDownload: true, commandKey: key))
        case .upload(let upload)?:
            guard !upload.url.isEmpty, !upload.fileType.isEmpty else {
                return .refuse(.invalidCommand, "Upload needs url and file_type")
            }
            let key = commandKey(upload.commandKey, command)
            let rpc = Upload(commandKey: key, fileType: upload.fileType, url: upload.url, username: upload.username,
                             password: upload.password, delaySeconds: upload.delaySeconds)
            return send(.upload(rpc), .transfer(isDownload: false, commandKey: key))
        case .scheduleInform(let schedule)?:
            guard schedule.delaySeconds >= 1 else {
                return .refuse(.invalidCommand, "ScheduleInform.delay_seconds must be at least 1")
            }
            return send(.scheduleInform(ScheduleInform(delaySeconds: schedule.delaySeconds, commandKey: commandKey(schedule.commandKey, command))), .acknowledged)
        case .refresh(let refresh)?:
            let requested = refresh.path.isEmpty ? environment.deviceRoot : refresh.path
            guard let root = objectPath(requested) else {
                return .refuse(.invalidCommand, "Refresh.path \(BusConversion.quote(refresh.path)) is not an object path")
            }
            return send(.getParameterNames(GetParameterNames(parameterPath: root, nextLevel: false)), .refreshNames(root: root))
        case .operate?:
            return .refuse(.notSupportedByProtocol, "Operate is a USP command")
        case .setParameterAttributes(let attributes)?:
            return startSetAttributes(attributes)
        case nil:
            return .refuse(.invalidCommand, "the command has no kind set (a newer producer?)")
        }
    }

    /// GetParameterValues of the paths; with `next_level`, GetParameterNames of each object
    /// path first (CWMP's GetParameterValues has no depth).
    private static func startGet(_ get: Twinfleet_Bus_V1_GetParameters) -> CommandAdvance {
        guard !get.paths.isEmpty else { return .refuse(.invalidCommand, "GetParameters has no paths") }
        var objects: [String] = [], plain: [String] = []
        for path in get.paths {
            guard let valid = try? ParameterPath(validating: path) else {
                return .refuse(.invalidCommand, "GetParameters path \(BusConversion.quote(path)) is not a path")
            }
            if valid.isObject { objects.append(path) } else { plain.append(path) }
        }
        if get.nextLevel, let first = objects.first {
            return send(.getParameterNames(GetParameterNames(parameterPath: first, nextLevel: true)),
                        .getNames(pending: Array(objects.dropFirst()), leaves: plain, writable: [:]))
        }
        return send(.getParameterValues(GetParameterValues(parameterNames: get.paths)), .getValues(writable: [:]))
    }

    /// SetParameterValues with each value's `xsi:type` taken from its typed value.
    private static func startSet(_ set: Twinfleet_Bus_V1_SetParameters) -> CommandAdvance {
        guard !set.parameters.isEmpty else { return .refuse(.invalidCommand, "SetParameters has no parameters") }
        var list: [ParameterValueStruct] = []
        for proto in set.parameters {
            let parameter: Parameter
            do {
                parameter = try Parameter(proto)
            } catch {
                return .refuse(.invalidCommand, error.message)
            }
            guard !parameter.path.isObject else {
                return .refuse(.invalidCommand, "SetParameters path \(parameter.path) is an object, not a parameter")
            }
            list.append(ParameterValueStruct(name: parameter.path.rawValue, value: parameter.value))
        }
        return send(.setParameterValues(SetParameterValues(parameterList: list, parameterKey: set.parameterKey)), .setValues(set.parameters))
    }

    /// SetParameterAttributes: each entry names a parameter or an object subtree and changes its
    /// notification, its access list, or both.
    private static func startSetAttributes(_ set: Twinfleet_Bus_V1_SetParameterAttributes) -> CommandAdvance {
        guard !set.attributes.isEmpty else { return .refuse(.invalidCommand, "SetParameterAttributes has no attributes") }
        var list: [SetParameterAttributesStruct] = []
        for attribute in set.attributes {
            guard (try? ParameterPath(validating: attribute.path)) != nil else {
                return .refuse(.invalidCommand, "SetParameterAttributes path \(BusConversion.quote(attribute.path)) is not a path")
            }
            guard attribute.notificationChange || attribute.accessListChange else {
                return .refuse(.invalidCommand, "SetParameterAttributes entry for \(attribute.path) changes nothing")
            }
            guard attribute.notification <= 6, let notification = ParameterNotification(rawValue: UInt8(attribute.notification)) else {
                return .refuse(.invalidCommand, "SetParameterAttributes notification \(attribute.notification) for \(attribute.path) is not 0-6")
            }
            guard attribute.accessList.allSatisfy({ $0 == "Subscriber" }) else {
                return .refuse(.invalidCommand, "SetParameterAttributes access list for \(attribute.path) may hold only \"Subscriber\"")
            }
            list.append(SetParameterAttributesStruct(
                name: attribute.path, notificationChange: attribute.notificationChange, notification: notification,
                accessListChange: attribute.accessListChange, accessList: attribute.accessList))
        }
        return send(.setParameterAttributes(SetParameterAttributes(parameterList: list)), .acknowledged)
    }

    /// AddObject; the initial values are checked now (against a stand-in instance number) so a
    /// bad one refuses the command before an object is created.
    private static func startAdd(_ add: Twinfleet_Bus_V1_AddObject) -> CommandAdvance {
        guard let path = objectPath(add.objectPath) else {
            return .refuse(.invalidCommand, "AddObject.object_path \(BusConversion.quote(add.objectPath)) is not an object path")
        }
        var initial: [RelativeValue] = []
        for proto in add.initialParameters {
            guard let candidate = try? ParameterPath(validating: path + "1." + proto.path), !candidate.isObject else {
                return .refuse(.invalidCommand, "AddObject initial parameter \(BusConversion.quote(proto.path)) is not a parameter name relative to the instance")
            }
            guard proto.hasValue, let value = try? ParameterValue(proto.value) else {
                return .refuse(.invalidCommand, "AddObject initial parameter \(proto.path) has no valid value")
            }
            initial.append(RelativeValue(name: proto.path, value: value))
        }
        return send(.addObject(AddObject(objectName: path, parameterKey: add.parameterKey)),
                    .addObject(objectPath: path, parameterKey: add.parameterKey, initial: initial))
    }

    /// The CWMP CommandKey: the command's own key, else its command ID, so that the
    /// TransferComplete or `M …` event of a later session names the command.
    static func commandKey(_ own: String, _ command: Twinfleet_Bus_V1_Command) -> String {
        own.isEmpty ? command.commandID : own
    }

    /// `text` when it is a valid object path (ending in a dot), else nil.
    static func objectPath(_ text: String) -> String? {
        guard let path = try? ParameterPath(validating: text), path.isObject else { return nil }
        return text
    }

    static func send(_ message: CWMPMessage, _ stage: CommandStage) -> CommandAdvance {
        CommandAdvance(move: .send(message, stage))
    }
}
