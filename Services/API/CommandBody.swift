import BusContracts
import DataModel
import Foundation
import TwinfleetModel

/// A command as clients write it (`POST /v1/devices/{deviceId}/commands`) and read it back
/// (`request` of a command). One flat object: `kind` says which of the kind-specific fields
/// apply. File-server passwords are never returned.
struct CommandBody: Codable, Sendable, Equatable {
    struct SetParameter: Codable, Sendable, Equatable {
        var path: String
        /// The value as text (`"6"`, `"true"`, `"2026-11-23T10:00:00Z"`).
        var value: String
        /// The TR-106 type; when absent, the data model's type of the parameter.
        var type: String?
    }

    /// One parameter's (or subtree's) attributes to change: the notification, the access list,
    /// or both; an absent field is left as it is.
    struct Attribute: Codable, Sendable, Equatable {
        var path: String
        /// 0 off, 1 passive, 2 active, 3–6 lightweight variants (TR-069).
        var notification: Int?
        /// Who besides the ACS may write it: `["Subscriber"]` or `[]`.
        var accessList: [String]?
    }

    static let kinds = ["get-parameters", "set-parameters", "add-object", "delete-object", "reboot", "factory-reset", "download",
                        "upload", "operate", "refresh", "schedule-inform", "set-parameter-attributes"]

    var kind: String
    var priority: Int?
    var notBefore: Date?
    var expiresAt: Date?
    var independent: Bool?
    var paths: [String]?
    var nextLevel: Bool?
    var parameters: [SetParameter]?
    var parameterKey: String?
    var objectPath: String?
    var commandKey: String?
    var url: String?
    var fileType: String?
    var fileSize: Int64?
    var sha256: String?
    var username: String?
    var password: String?
    var targetFileName: String?
    var delaySeconds: Int?
    var commandPath: String?
    var inputArgs: [String: String]?
    var sendResponse: Bool?
    var path: String?
    var attributes: [Attribute]?

    init(kind: String) { self.kind = kind }

    /// The body of a queued command, as the twin stores it (secrets already removed).
    init(_ command: Twinfleet_Bus_V1_Command) {
        kind = command.kindName
        priority = Int(command.priority)
        notBefore = command.notBeforeUs > 0 ? Date(unixMicroseconds: command.notBeforeUs) : nil
        expiresAt = command.expiresAtUs > 0 ? Date(unixMicroseconds: command.expiresAtUs) : nil
        independent = command.independent
        switch command.kind {
        case .getParameters(let get):
            paths = get.paths
            nextLevel = get.nextLevel
        case .setParameters(let set):
            parameters = set.parameters.map { SetParameter(proto: $0) }
            parameterKey = set.parameterKey
        case .addObject(let add):
            objectPath = add.objectPath
            parameterKey = add.parameterKey
            parameters = add.initialParameters.isEmpty ? nil : add.initialParameters.map { SetParameter(proto: $0) }
        case .deleteObject(let delete):
            objectPath = delete.objectPath
            parameterKey = delete.parameterKey
        case .reboot(let reboot):
            commandKey = reboot.commandKey
        case .factoryReset, nil:
            break
        case .download(let download):
            url = download.url
            fileType = download.fileType
            fileSize = download.fileSize > 0 ? Int64(clamping: download.fileSize) : nil
            sha256 = download.sha256.isEmpty ? nil : download.sha256
            username = download.username.isEmpty ? nil : download.username
            targetFileName = download.targetFileName.isEmpty ? nil : download.targetFileName
            delaySeconds = Int(download.delaySeconds)
            commandKey = download.commandKey
        case .upload(let upload):
            url = upload.url
            fileType = upload.fileType
            username = upload.username.isEmpty ? nil : upload.username
            delaySeconds = Int(upload.delaySeconds)
            commandKey = upload.commandKey
        case .operate(let operate):
            commandPath = operate.commandPath
            commandKey = operate.commandKey
            inputArgs = operate.inputArgs
            sendResponse = operate.sendResp
        case .refresh(let refresh):
            path = refresh.path.isEmpty ? nil : refresh.path
        case .scheduleInform(let schedule):
            delaySeconds = Int(schedule.delaySeconds)
            commandKey = schedule.commandKey
        case .setParameterAttributes(let set):
            attributes = set.attributes.map { attribute in
                Attribute(path: attribute.path,
                          notification: attribute.notificationChange ? Int(attribute.notification) : nil,
                          accessList: attribute.accessListChange ? attribute.accessList : nil)
            }
        }
    }
}

extension CommandBody.SetParameter {
    init(proto: Twinfleet_Bus_V1_Parameter) {
        path = proto.path
        if let value = try? ParameterValue(proto.value) {
            self.value = value.wireString
            type = value.type.rawValue
        } else {
            value = ""
        }
    }
}

/// Turns a ``CommandBody`` into a bus command for one device, checking it against the typed
/// data model first. Every problem found is reported at once, each naming its field.
struct CommandBuilder {
    let schema: DataModelSchema
    /// Longest time ahead `expiresAt` may be.
    var maxLifetime: TimeInterval = 30 * 86_400

    func build(_ body: CommandBody, protocol deviceProtocol: DeviceProtocol, now: Date) throws(APIProblem) -> Twinfleet_Bus_V1_Command {
        var errors: [APIProblem.FieldError] = []
        func fail(_ field: String, _ message: String) { errors.append(.init(field: field, message: message)) }
        var command = Twinfleet_Bus_V1_Command()

        if let priority = body.priority {
            if (-1000...1000).contains(priority) { command.priority = Int32(priority) } else { fail("/priority", "must be from -1000 to 1000") }
        }
        if let notBefore = body.notBefore { command.notBeforeUs = notBefore.unixMicroseconds }
        if let expiresAt = body.expiresAt {
            if expiresAt <= now { fail("/expiresAt", "is in the past") }
            else if expiresAt.timeIntervalSince(now) > maxLifetime { fail("/expiresAt", "is more than \(Int(maxLifetime / 86_400)) days ahead") }
            else { command.expiresAtUs = expiresAt.unixMicroseconds }
        }
        if let notBefore = body.notBefore, let expiresAt = body.expiresAt, notBefore >= expiresAt {
            fail("/notBefore", "must be before expiresAt")
        }
        command.independent = body.independent ?? false

        func path(_ text: String, field: String, object: Bool? = nil) -> ParameterPath? {
            guard let parsed = try? ParameterPath(validating: text) else {
                fail(field, "is not a valid parameter path")
                return nil
            }
            if let object, parsed.isObject != object { fail(field, object ? "must be an object path ending in '.'" : "must be a parameter path, not an object"); return nil }
            return parsed
        }
        func known(_ parsed: ParameterPath, field: String) {
            guard !parsed.isVendorSpecific, schema.model(root: parsed.root, protocol: deviceProtocol) != nil else {
                if schema.model(root: parsed.root, protocol: deviceProtocol) == nil, !parsed.isVendorSpecific {
                    fail(field, "the root \(parsed.root). is not a data model of \(deviceProtocol) devices")
                }
                return
            }
            if schema.lookup(parsed, protocol: deviceProtocol) == nil { fail(field, "is not in the \(deviceProtocol) data model") }
        }
        func parameters(_ list: [CommandBody.SetParameter], field: String, creatingInstance: Bool) -> [Twinfleet_Bus_V1_Parameter] {
            var result: [Twinfleet_Bus_V1_Parameter] = []
            for (index, item) in list.enumerated() {
                let at = "\(field)/\(index)"
                guard let parsed = path(item.path, field: "\(at)/path", object: false) else { continue }
                var value: ParameterValue
                if let typeName = item.type {
                    guard let type = try? ParameterType(parsing: typeName) else {
                        fail("\(at)/type", "must be one of \(ParameterType.allCases.map(\.rawValue).joined(separator: ", "))")
                        continue
                    }
                    guard let typed = try? ParameterValue(parsing: item.value, as: type) else {
                        fail("\(at)/value", "is not a valid \(type.rawValue)")
                        continue
                    }
                    value = typed
                } else {
                    value = .string(item.value)
                }
                do {
                    value = item.type == nil
                        ? try schema.validateSet(path: parsed, value: item.value, protocol: deviceProtocol, creatingInstance: creatingInstance)
                        : try schema.validateSet(path: parsed, value: value, protocol: deviceProtocol, creatingInstance: creatingInstance)
                } catch {
                    let valueCodes: Set<ValidationError.Code> = [.typeMismatch, .outOfRange, .tooLong, .tooShort, .notInEnumeration, .patternMismatch, .tooFewItems, .tooManyItems]
                    fail(valueCodes.contains(error.code) ? "\(at)/value" : "\(at)/path", error.message)
                    continue
                }
                result.append(Twinfleet_Bus_V1_Parameter(Parameter(path: parsed, value: value)))
            }
            return result
        }
        func key(_ text: String?, field: String) -> String {
            let text = text ?? ""
            if text.utf8.count > 32 { fail(field, "is longer than 32 bytes (TR-069 CommandKey and ParameterKey)") }
            return text
        }
        func unexpected(_ names: [(String, Bool)]) {
            for (name, present) in names where present { fail("/\(name)", "does not apply to \(body.kind)") }
        }

        switch body.kind {
        case "get-parameters":
            let paths = body.paths ?? []
            if paths.isEmpty { fail("/paths", "is required: one or more paths (an object path ending in '.' reads its subtree)") }
            if paths.count > 1000 { fail("/paths", "has more than 1000 paths") }
            var get = Twinfleet_Bus_V1_GetParameters()
            for (index, text) in paths.enumerated() {
                if let parsed = path(text, field: "/paths/\(index)") { known(parsed, field: "/paths/\(index)"); get.paths.append(parsed.rawValue) }
            }
            get.nextLevel = body.nextLevel ?? false
            command.getParameters = get
        case "set-parameters":
            let list = body.parameters ?? []
            if list.isEmpty { fail("/parameters", "is required: one or more {path, value}") }
            if list.count > 1000 { fail("/parameters", "has more than 1000 parameters") }
            var set = Twinfleet_Bus_V1_SetParameters()
            set.parameters = parameters(list, field: "/parameters", creatingInstance: false)
            let paths = set.parameters.map(\.path)
            if Set(paths).count != paths.count { fail("/parameters", "names a path twice") }
            set.parameterKey = key(body.parameterKey, field: "/parameterKey")
            command.setParameters = set
        case "add-object":
            var add = Twinfleet_Bus_V1_AddObject()
            if let text = body.objectPath, let parsed = path(text, field: "/objectPath", object: true) {
                do { try schema.validateAddObject(path: parsed, protocol: deviceProtocol) } catch { fail("/objectPath", error.message) }
                add.objectPath = parsed.rawValue
            } else if body.objectPath == nil { fail("/objectPath", "is required: the table, e.g. Device.IP.Interface.") }
            add.parameterKey = key(body.parameterKey, field: "/parameterKey")
            if let list = body.parameters {
                if deviceProtocol == .cwmp { fail("/parameters", "CWMP AddObject takes no initial values; set them after the object exists") }
                for (index, item) in list.enumerated() {
                    guard let value = item.type.flatMap({ try? ParameterType(parsing: $0) }).flatMap({ try? ParameterValue(parsing: item.value, as: $0) })
                        ?? (item.type == nil ? .string(item.value) : nil) else {
                        fail("/parameters/\(index)/value", "is not a valid \(item.type ?? "")")
                        continue
                    }
                    guard !item.path.isEmpty, !item.path.contains("."), (try? ParameterPath(validating: add.objectPath + "1." + item.path)) != nil else {
                        fail("/parameters/\(index)/path", "must be a parameter name relative to the new instance, e.g. Enable")
                        continue
                    }
                    var parameter = Twinfleet_Bus_V1_Parameter()
                    parameter.path = item.path
                    parameter.value = Twinfleet_Bus_V1_ParameterValue(value)
                    add.initialParameters.append(parameter)
                }
            }
            command.addObject = add
        case "delete-object":
            var delete = Twinfleet_Bus_V1_DeleteObject()
            if let text = body.objectPath, let parsed = path(text, field: "/objectPath", object: true) {
                do { try schema.validateDeleteObject(path: parsed, protocol: deviceProtocol) } catch { fail("/objectPath", error.message) }
                delete.objectPath = parsed.rawValue
            } else if body.objectPath == nil { fail("/objectPath", "is required: the instance, e.g. Device.IP.Interface.3.") }
            delete.parameterKey = key(body.parameterKey, field: "/parameterKey")
            command.deleteObject = delete
        case "reboot":
            var reboot = Twinfleet_Bus_V1_Reboot()
            reboot.commandKey = key(body.commandKey, field: "/commandKey")
            command.reboot = reboot
        case "factory-reset":
            command.factoryReset = Twinfleet_Bus_V1_FactoryReset()
        case "download", "upload":
            let url = body.url ?? ""
            if let parsed = URL(string: url), let scheme = parsed.scheme?.lowercased(), ["http", "https", "ftp"].contains(scheme), parsed.host != nil {
            } else {
                fail("/url", url.isEmpty ? "is required" : "must be an absolute http, https or ftp URL")
            }
            if url.utf8.count > 256 { fail("/url", "is longer than 256 bytes (TR-069 URL)") }
            let fileType = body.fileType ?? ""
            let pattern = body.kind == "download" ? #"^([1-5] |[1-9] |X [0-9A-F]{6} )"# : #"^([1-5] |X [0-9A-F]{6} )"#
            if fileType.range(of: pattern, options: .regularExpression) == nil {
                fail("/fileType", fileType.isEmpty ? "is required, e.g. \"1 Firmware Upgrade Image\"" : "must be a TR-069 file type, e.g. \"1 Firmware Upgrade Image\" or \"X 00D09E Vendor Type\"")
            }
            let delay = body.delaySeconds ?? 0
            if !(0...86_400 * 7).contains(delay) { fail("/delaySeconds", "must be from 0 to 604800") }
            if body.kind == "download" {
                var download = Twinfleet_Bus_V1_Download()
                download.url = url
                download.fileType = fileType
                if let size = body.fileSize { if size >= 0 { download.fileSize = UInt64(size) } else { fail("/fileSize", "must not be negative") } }
                if let sha = body.sha256 {
                    if sha.count == 64, sha.allSatisfy(\.isHexDigit) { download.sha256 = sha.lowercased() } else { fail("/sha256", "must be 64 hexadecimal digits") }
                }
                download.username = body.username ?? ""
                download.password = body.password ?? ""
                download.targetFileName = body.targetFileName ?? ""
                download.delaySeconds = UInt32(clamping: delay)
                download.commandKey = key(body.commandKey, field: "/commandKey")
                command.download = download
            } else {
                var upload = Twinfleet_Bus_V1_Upload()
                upload.url = url
                upload.fileType = fileType
                upload.username = body.username ?? ""
                upload.password = body.password ?? ""
                upload.delaySeconds = UInt32(clamping: delay)
                upload.commandKey = key(body.commandKey, field: "/commandKey")
                command.upload = upload
            }
        case "operate":
            if deviceProtocol != .usp { fail("/kind", "operate is a USP command; this device speaks \(deviceProtocol)") }
            var operate = Twinfleet_Bus_V1_Operate()
            let text = body.commandPath ?? ""
            if text.isEmpty { fail("/commandPath", "is required, e.g. Device.WiFi.NeighboringWiFiDiagnostic()") }
            else if !text.hasSuffix("()") { fail("/commandPath", "must name a command, ending in ()") }
            else if deviceProtocol == .usp, !text.contains(".X_"), schema.lookup(text, protocol: .usp) == nil {
                fail("/commandPath", "is not a command of the USP data model")
            }
            operate.commandPath = text
            operate.commandKey = body.commandKey ?? ""
            operate.inputArgs = body.inputArgs ?? [:]
            operate.sendResp = body.sendResponse ?? true
            command.operate = operate
        case "refresh":
            var refresh = Twinfleet_Bus_V1_Refresh()
            if let text = body.path {
                if let parsed = path(text, field: "/path", object: true) { known(parsed, field: "/path"); refresh.path = parsed.rawValue }
            }
            command.refresh = refresh
        case "schedule-inform":
            if deviceProtocol != .cwmp { fail("/kind", "schedule-inform is a CWMP command; this device speaks \(deviceProtocol)") }
            var schedule = Twinfleet_Bus_V1_ScheduleInform()
            let delay = body.delaySeconds ?? 0
            if !(1...86_400 * 7).contains(delay) { fail("/delaySeconds", "must be from 1 to 604800") }
            schedule.delaySeconds = UInt32(clamping: delay)
            schedule.commandKey = key(body.commandKey, field: "/commandKey")
            command.scheduleInform = schedule
        case "set-parameter-attributes":
            if deviceProtocol != .cwmp {
                fail("/kind", "set-parameter-attributes is a CWMP command; a USP agent reports changes through its subscriptions (add-object of Device.LocalAgent.Subscription.)")
            }
            let list = body.attributes ?? []
            if list.isEmpty { fail("/attributes", "is required: one or more {path, notification, accessList}") }
            if list.count > 1000 { fail("/attributes", "has more than 1000 entries") }
            var set = Twinfleet_Bus_V1_SetParameterAttributes()
            for (index, item) in list.enumerated() {
                let at = "/attributes/\(index)"
                guard let parsed = path(item.path, field: "\(at)/path") else { continue }
                known(parsed, field: "\(at)/path")
                var attribute = Twinfleet_Bus_V1_ParameterAttribute()
                attribute.path = parsed.rawValue
                if item.notification == nil && item.accessList == nil { fail(at, "changes nothing: give notification, accessList or both") }
                if let notification = item.notification {
                    if (0...6).contains(notification) {
                        attribute.notificationChange = true
                        attribute.notification = UInt32(notification)
                    } else {
                        fail("\(at)/notification", "must be 0 (off), 1 (passive), 2 (active) or 3-6 (lightweight, TR-069 Amendment 6)")
                    }
                }
                if let access = item.accessList {
                    if access.allSatisfy({ $0 == "Subscriber" }) && access.count <= 1 {
                        attribute.accessListChange = true
                        attribute.accessList = access
                    } else {
                        fail("\(at)/accessList", "must be [] or [\"Subscriber\"]")
                    }
                }
                set.attributes.append(attribute)
            }
            command.setParameterAttributes = set
        default:
            fail("/kind", "must be one of \(CommandBody.kinds.joined(separator: ", "))")
        }
        let kind = body.kind
        unexpected([
            ("paths", body.paths != nil && kind != "get-parameters"), ("nextLevel", body.nextLevel != nil && kind != "get-parameters"),
            ("parameters", body.parameters != nil && kind != "set-parameters" && kind != "add-object"),
            ("parameterKey", body.parameterKey != nil && !["set-parameters", "add-object", "delete-object"].contains(kind)),
            ("objectPath", body.objectPath != nil && !["add-object", "delete-object"].contains(kind)),
            ("commandKey", body.commandKey != nil && !["reboot", "download", "upload", "operate", "schedule-inform"].contains(kind)),
            ("url", body.url != nil && !["download", "upload"].contains(kind)), ("fileType", body.fileType != nil && !["download", "upload"].contains(kind)),
            ("fileSize", body.fileSize != nil && kind != "download"), ("sha256", body.sha256 != nil && kind != "download"),
            ("targetFileName", body.targetFileName != nil && kind != "download"),
            ("username", body.username != nil && !["download", "upload"].contains(kind)), ("password", body.password != nil && !["download", "upload"].contains(kind)),
            ("delaySeconds", body.delaySeconds != nil && !["download", "upload", "schedule-inform"].contains(kind)),
            ("commandPath", body.commandPath != nil && kind != "operate"), ("inputArgs", body.inputArgs != nil && kind != "operate"),
            ("sendResponse", body.sendResponse != nil && kind != "operate"), ("path", body.path != nil && kind != "refresh"),
            ("attributes", body.attributes != nil && kind != "set-parameter-attributes"),
        ])
        if !errors.isEmpty {
            throw APIProblem(.validationFailed, errors.count == 1 ? "\(errors[0].field): \(errors[0].message)" : "\(errors.count) fields are invalid", errors: errors)
        }
        return command
    }
}
