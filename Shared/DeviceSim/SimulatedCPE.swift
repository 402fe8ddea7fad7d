import AsyncHTTPClient
import CWMPCodec
import Foundation
import HTTPAuth
import NIOCore
import TwinfleetModel

/// How a simulated device misbehaves (the simulator's knobs, per device).
public struct SimBehaviour: Sendable, Hashable {
    /// A firmware download is fetched but the install fails (CWMP fault 9010, USP 7021).
    public var firmwareInstallFails = false
    /// After a firmware install the device reboots again and again (a boot loop) until it
    /// gets another firmware or a factory reset.
    public var rebootLoops = false
    /// Wi-Fi degrades: associated clients' signal weakens and the noise floor rises a little
    /// with every inform.
    public var wifiDegrades = false
    /// Throughput drops: traffic counters grow at a tenth of the normal rate.
    public var throughputDrops = false
    /// LAN hosts come and go: with every inform interval a TR-069 device's host goes active or
    /// inactive (a `4 VALUE CHANGE`), and a USP agent's guest host joins (ObjectCreation) or
    /// leaves (ObjectDeletion).
    public var hostsChurn = false

    public init(firmwareInstallFails: Bool = false, rebootLoops: Bool = false, wifiDegrades: Bool = false, throughputDrops: Bool = false,
                hostsChurn: Bool = false) {
        self.firmwareInstallFails = firmwareInstallFails
        self.rebootLoops = rebootLoops
        self.wifiDegrades = wifiDegrades
        self.throughputDrops = throughputDrops
        self.hostsChurn = hostsChurn
    }
}

/// A TR-069 CPE speaking real HTTP and SOAP to an ACS: it authenticates with Digest (and keeps
/// the ACS's session cookie), informs with the right event codes (BOOTSTRAP on first contact,
/// BOOT, PERIODIC, VALUE CHANGE, CONNECTION REQUEST, TRANSFER COMPLETE with M Download /
/// M Reboot), answers the ACS's RPCs from and into its own data model (GetRPCMethods,
/// GetParameterNames, GetParameterValues, SetParameterValues, GetParameterAttributes,
/// SetParameterAttributes, AddObject, DeleteObject, Reboot, FactoryReset, Download — faults
/// where the standard says), fetches firmware over real HTTP and reboots into it, and serves
/// connection requests through a ``ConnectionRequestServer``.
///
/// The tests' CPE and every CWMP device of `twinfleet-cpe-sim` are this type.
public actor SimulatedCPE {
    public nonisolated let oui: String
    public nonisolated let productClass: String
    public nonisolated let serial: String
    public nonisolated let manufacturer: String
    /// The ACS URL; ``use(acsURL:)`` moves the CPE to another instance (a load balancer without
    /// affinity sends each session anywhere).
    public private(set) var acsURL: String
    public nonisolated let username: String
    public nonisolated let password: String
    public private(set) var parameters: [String: SimParameter]
    public var behaviour: SimBehaviour
    /// The RPC method names the ACS sent, one list per session (the last ``historyLimit``).
    public private(set) var sessions: [[String]] = []
    /// The event codes of every accepted Inform (`M Reboot` with its command key as
    /// `M Reboot:<key>`), one list per session (the last ``historyLimit``).
    public private(set) var informs: [[String]] = []
    /// How many sessions, Informs and transfers the CPE remembers for inspection: a fleet runs
    /// for days, and what it keeps per device must not grow with the sessions.
    public nonisolated static let historyLimit = 200
    private var sessionCount = 0
    /// Connection requests that passed authentication.
    public private(set) var connectionRequests = 0
    /// Connection requests refused (wrong credentials, no credentials).
    public private(set) var refusedConnectionRequests = 0
    /// TransferCompletes sent (command key, fault code), the last ``historyLimit``.
    public private(set) var transfersReported: [(commandKey: String, faultCode: UInt32)] = []
    /// Who runs the session a connection request asks for; by default the CPE itself.
    private var sessionRunner: (@Sendable (SimulatedCPE, [String]) async -> Void)?
    private var sessionInProgress = false
    /// True while the device reboots: no session starts.
    private var rebooting = false
    /// Work the CPE does after the session that asked for it: a reboot, a download, a reset.
    private var pendingActions: [PendingAction] = []
    /// TransferCompletes to send in the next session.
    private var transferCompletes: [TransferComplete] = []
    /// Events of the next session that the CPE owes (`M Reboot`, `7 TRANSFER COMPLETE`, …).
    private var owedEvents: [EventStruct] = []
    /// Parameters whose value changed on the device, reported with `4 VALUE CHANGE`.
    private var changedLocally: Set<String> = []
    /// The data model as shipped, which a factory reset restores. Built again when needed
    /// rather than kept: a kept copy would double a fleet's memory once the live model changes.
    private let factoryModel: @Sendable () -> [String: SimParameter]
    private let client: HTTPClient
    private var bootedAt = Date()
    private var loopsLeft = 0

    private enum PendingAction {
        case reboot(commandKey: String)
        case factoryReset
        case download(Download, started: Date)
        case upload(Upload, started: Date)
    }

    /// The device ID the ACS derives (each part percent-encoded, as `DeviceID.cwmp` does).
    public nonisolated var deviceID: String {
        (try? DeviceID.cwmp(oui: oui, productClass: productClass, serialNumber: serial).rawValue) ?? "\(oui)-\(productClass)-\(serial)"
    }

    public init(serial: String, oui: String = "00D09E", productClass: String = "HGW", manufacturer: String = "Acme", acsURL: String,
                username: String, password: String, parameters: [String: SimParameter], factoryModel: (@Sendable () -> [String: SimParameter])? = nil,
                behaviour: SimBehaviour = SimBehaviour(), client: HTTPClient = .shared) {
        self.serial = serial
        self.oui = oui
        self.productClass = productClass
        self.manufacturer = manufacturer
        self.acsURL = acsURL
        self.username = username
        self.password = password
        self.parameters = parameters
        self.factoryModel = factoryModel ?? { parameters }
        self.behaviour = behaviour
        self.client = client
    }

    /// A small TR-181 data model: identity, management server, two SSIDs.
    public static func gatewayModel(serial: String, software: String = "1.0.0") -> [String: SimParameter] {
        [
            "Device.DeviceInfo.Manufacturer": SimParameter("Acme"),
            "Device.DeviceInfo.ModelName": SimParameter("HGW-9000"),
            "Device.DeviceInfo.SerialNumber": SimParameter(serial),
            "Device.DeviceInfo.SoftwareVersion": SimParameter(software),
            "Device.DeviceInfo.UpTime": SimParameter("4242", type: "unsignedInt"),
            "Device.ManagementServer.PeriodicInformInterval": SimParameter("3600", type: "unsignedInt", writable: true),
            "Device.ManagementServer.ConnectionRequestURL": SimParameter(""),
            "Device.WiFi.SSIDNumberOfEntries": SimParameter("2", type: "unsignedInt"),
            "Device.WiFi.SSID.1.Enable": SimParameter("true", type: "boolean", writable: true),
            "Device.WiFi.SSID.1.SSID": SimParameter("home", writable: true),
            "Device.WiFi.SSID.2.Enable": SimParameter("false", type: "boolean", writable: true),
            "Device.WiFi.SSID.2.SSID": SimParameter("guest", writable: true),
        ]
    }

    /// `Device.` or `InternetGatewayDevice.`, from the data model.
    public var root: String {
        parameters.keys.contains { $0.hasPrefix("InternetGatewayDevice.") } ? "InternetGatewayDevice." : "Device."
    }

    public func value(_ path: String) -> String? { parameters[path]?.value }

    public func use(acsURL: String) { self.acsURL = acsURL }

    public func setBehaviour(_ behaviour: SimBehaviour) { self.behaviour = behaviour }

    /// Routes the sessions that connection requests ask for through `runner` (the fleet's
    /// scheduler, which counts and limits them).
    public func setSessionRunner(_ runner: @escaping @Sendable (SimulatedCPE, [String]) async -> Void) { sessionRunner = runner }

    /// Sets the connection-request URL in the data model.
    public func setConnectionRequestURL(_ url: String) {
        let path = root + "ManagementServer.ConnectionRequestURL"
        if parameters[path] == nil { parameters[path] = SimParameter(url) } else { parameters[path]!.value = url }
    }

    /// Sets the credentials the device's connection-request listener accepts, in its data model
    /// (`ManagementServer.ConnectionRequestUsername` and `…Password`), where the ACS may change
    /// them with SetParameterValues.
    public func setConnectionRequestCredentials(username: String, password: String) {
        parameters[root + "ManagementServer.ConnectionRequestUsername"] = SimParameter(username, writable: true)
        parameters[root + "ManagementServer.ConnectionRequestPassword"] = SimParameter(password, writable: true)
    }

    /// The credentials the connection-request listener accepts now; nil when the model has none.
    public var connectionRequestCredentials: (username: String, password: String)? {
        guard let username = parameters[root + "ManagementServer.ConnectionRequestUsername"]?.value,
              let password = parameters[root + "ManagementServer.ConnectionRequestPassword"]?.value else { return nil }
        return (username, password)
    }

    /// Changes a value on the device (as its user or firmware would); reported with
    /// `4 VALUE CHANGE` in the next session, which starts at once when the ACS set active
    /// notification (2) on the parameter (TR-069 A.3.2.4).
    public func changeLocally(_ path: String, to value: String) {
        guard parameters[path] != nil else { return }
        parameters[path]!.value = value
        changedLocally.insert(path)
        if notification(of: path) == .active { startValueChangeSession() }
    }

    /// The notification attribute that applies to `path` (set on it or on an object above it).
    private func notification(of path: String) -> ParameterNotification {
        if let own = notifications[path] { return own }
        return notifications.filter { $0.key.hasSuffix(".") && path.hasPrefix($0.key) }.max { $0.key.count < $1.key.count }?.value ?? .off
    }

    private var valueChangeSessionPending = false

    /// An active notification: one session with `4 VALUE CHANGE` soon (changes made meanwhile
    /// go in the same session).
    private func startValueChangeSession() {
        guard !valueChangeSessionPending else { return }
        valueChangeSessionPending = true
        startSession(["4 VALUE CHANGE"], after: .milliseconds(100))
    }

    /// A session the CPE opens on its own (connection request, active notification, scheduled
    /// inform): through the fleet's runner when there is one; `owing` is added to the events
    /// the device owes just before it.
    private func startSession(_ events: [String], after delay: Duration = .zero, owing event: EventStruct? = nil) {
        let runner = sessionRunner
        Task {
            if delay > .zero { try? await Task.sleep(for: delay) }
            if let event, !self.owedEvents.contains(event) { self.owedEvents.append(event) }
            if let runner {
                await runner(self, events)
            } else {
                _ = try? await self.session(events: events)
            }
        }
    }

    /// Lets `seconds` of device time pass: uptime and traffic counters grow, a degrading
    /// Wi-Fi gets worse, and with churning hosts one host goes active or inactive.
    public func advance(seconds: Int) {
        guard seconds > 0 else { return }
        let root = self.root
        bump(root + "DeviceInfo.UpTime", by: seconds)
        let rate = behaviour.throughputDrops ? 12_500 : 125_000
        for (path, parameter) in parameters where parameter.type == "unsignedLong" || parameter.type == "unsignedInt" {
            if path.hasSuffix("Stats.BytesReceived") || path.hasSuffix("Stats.BytesSent") || path.hasSuffix(".TotalBytesReceived") || path.hasSuffix(".TotalBytesSent") {
                bump(path, by: rate * seconds)
            } else if path.hasSuffix("Stats.PacketsReceived") || path.hasSuffix("Stats.PacketsSent") {
                bump(path, by: rate / 1000 * seconds)
            }
        }
        if behaviour.wifiDegrades {
            for (path, parameter) in parameters where path.hasSuffix(".SignalStrength") {
                let now = Int(parameter.value) ?? -60
                parameters[path]!.value = String(max(now - 1, -95))
                changedLocally.insert(path)
            }
        }
        if behaviour.hostsChurn {
            let hosts = parameters.keys.filter { $0.contains("Hosts.Host.") && $0.hasSuffix(".Active") }.sorted()
            if !hosts.isEmpty {
                let path = hosts[hostTicks % hosts.count]
                hostTicks += 1
                changeLocally(path, to: parameters[path]!.value == "true" || parameters[path]!.value == "1" ? "false" : "true")
            }
        }
    }

    private var hostTicks = 0

    private func bump(_ path: String, by amount: Int) {
        guard let parameter = parameters[path] else { return }
        let limit: UInt64 = parameter.type == "unsignedInt" ? UInt64(UInt32.max) : UInt64.max
        let now = UInt64(parameter.value) ?? 0
        let next = now > limit - UInt64(amount) ? UInt64(amount) : now + UInt64(amount)
        parameters[path]!.value = String(next)
    }

    // MARK: Sessions

    /// Runs one session: Inform with `events` (plus the events the CPE owes: TRANSFER
    /// COMPLETE, M Reboot, VALUE CHANGE), the CPE's own requests (TransferComplete), then
    /// answers every RPC until the ACS ends the session with an empty response. Returns the
    /// RPC names the ACS sent.
    @discardableResult
    public func session(events: [String] = ["1 BOOT"]) async throws -> [String] {
        // One session at a time, and none while rebooting (a timer that fires meanwhile makes
        // its session wait).
        while sessionInProgress || rebooting { try await Task.sleep(for: .milliseconds(20)) }
        // Only owed events (after a follow-up): none left, no session.
        if events.isEmpty, owedEvents.isEmpty, transferCompletes.isEmpty { return [] }
        sessionInProgress = true
        defer { sessionInProgress = false }
        var log: [String] = []
        var informEvents = events.map { EventStruct(eventCode: EventCode(rawValue: $0)) }
        for owed in owedEvents where !informEvents.contains(owed) { informEvents.append(owed) }
        let changed = changedLocally
        // Changes from here on need a session of their own.
        valueChangeSessionPending = false
        if !changed.isEmpty, !informEvents.contains(where: { $0.eventCode.rawValue == "4 VALUE CHANGE" }) {
            informEvents.append(EventStruct(eventCode: EventCode(rawValue: "4 VALUE CHANGE")))
        }
        let informBody = encode(.inform(inform(events: informEvents, changed: changed)), id: "inform-\(sessions.count + 1)")
        var response = try await post(informBody, cookie: nil, authorization: nil)
        if response.status == 401 {
            let uri = URL(string: acsURL).map { $0.path.isEmpty ? "/" : $0.path } ?? "/"
            let authorization = try ClientAuthorizer.authorization(
                answering: response.challenges, username: username, password: password, method: "POST", uri: uri,
                cnonce: String(UInt64.random(in: 0...UInt64.max), radix: 16), allowBasic: false)
            response = try await post(informBody, cookie: nil, authorization: authorization.headerValue)
        }
        guard response.status == 200 else { throw SimError("Inform answered \(response.status): \(String(decoding: response.body, as: UTF8.self))") }
        guard let cookie = response.cookie else { throw SimError("no session cookie") }
        // The Inform was accepted: what it carried is no longer owed.
        Self.remember(&informs, informEvents.map { $0.commandKey.isEmpty ? $0.eventCode.rawValue : "\($0.eventCode.rawValue):\($0.commandKey)" })
        // Only what this Inform carried: an event owed since (a scheduled inform firing
        // mid-session) waits for the next one.
        owedEvents.removeAll { informEvents.contains($0) }
        changedLocally.subtract(changed)
        // CPE requests first: every TransferComplete the CPE owes.
        while let transfer = transferCompletes.first {
            response = try await post(encode(.transferComplete(transfer), id: "tc-\(sessionCount + 1)"), cookie: cookie, authorization: nil)
            guard response.status == 200 else { throw SimError("TransferComplete answered \(response.status)") }
            transferCompletes.removeFirst()
            Self.remember(&transfersReported, (transfer.commandKey, transfer.fault.code.rawValue))
        }
        var next: [UInt8] = []
        for _ in 0..<5000 {
            response = try await post(next, cookie: cookie, authorization: nil)
            if response.status == 204 || (response.status == 200 && response.body.isEmpty) { break }
            guard response.status == 200 else { throw SimError("ACS answered \(response.status) after \(log)") }
            let envelope = try CWMPDecoder().decode(response.body)
            log.append(envelope.message.methodName)
            next = encode(answer(envelope.message), id: envelope.header.id, namespace: envelope.namespace)
        }
        sessionCount += 1
        Self.remember(&sessions, log)
        return log
    }

    private static func remember<Element>(_ list: inout [Element], _ element: Element) {
        list.append(element)
        if list.count > historyLimit { list.removeFirst(list.count - historyLimit) }
    }

    /// The forced inform parameters the device has, plus UpTime and whatever changed locally.
    private func inform(events: [EventStruct], changed: Set<String>) -> Inform {
        let root = self.root
        var paths = ["DeviceInfo.HardwareVersion", "DeviceInfo.SoftwareVersion", "DeviceInfo.ModelName", "DeviceInfo.ProvisioningCode", "DeviceInfo.UpTime",
                     "ManagementServer.ConnectionRequestURL", "ManagementServer.ParameterKey"].map { root + $0 }
        if root == "InternetGatewayDevice." { paths.append("InternetGatewayDevice.WANDevice.1.WANConnectionDevice.1.WANIPConnection.1.ExternalIPAddress") }
        paths += changed.sorted().filter { !paths.contains($0) }
        let list = paths.compactMap { path in
            parameters[path].map { ParameterValueStruct(name: path, value: .raw(text: $0.value, typeName: "xsd:\($0.type)")) }
        }
        return Inform(
            deviceId: DeviceIdStruct(manufacturer: manufacturer, oui: oui, productClass: productClass, serialNumber: serial),
            events: events, currentTime: Date(), parameterList: list)
    }

    private func encode(_ message: CWMPMessage, id: String?, namespace: CWMPNamespace = .v1_2) -> [UInt8] {
        CWMPEncoder().encode(CWMPEnvelope(header: CWMPHeader(id: id), message: message, namespace: namespace))
    }

    /// The CPE's answer to one ACS request, applied to the data model.
    private func answer(_ request: CWMPMessage) -> CWMPMessage {
        switch request {
        case .getParameterNames(let get):
            let names = namesUnder(get.parameterPath, nextLevel: get.nextLevel)
            guard !names.isEmpty else { return .fault(CWMPFault(code: .invalidParameterName, string: get.parameterPath)) }
            return .getParameterNamesResponse(GetParameterNamesResponse(parameterList: names))
        case .getParameterValues(let get):
            var list: [ParameterValueStruct] = []
            for name in get.parameterNames {
                let paths = name.hasSuffix(".") || name.isEmpty ? parameters.keys.filter { $0.hasPrefix(name) }.sorted() : (parameters[name] == nil ? [] : [name])
                guard !paths.isEmpty else { return .fault(CWMPFault(code: .invalidParameterName, string: name)) }
                // Passwords read back empty (TR-069 Annex A).
                list += paths.map { ParameterValueStruct(name: $0, value: .raw(text: $0.hasSuffix("Password") ? "" : parameters[$0]!.value, typeName: "xsd:\(parameters[$0]!.type)")) }
            }
            return .getParameterValuesResponse(GetParameterValuesResponse(parameterList: list))
        case .setParameterValues(let set):
            var faults: [SetParameterValuesFault] = []
            for item in set.parameterList {
                guard let current = parameters[item.name] else {
                    faults.append(SetParameterValuesFault(parameterName: item.name, code: .invalidParameterName, string: "no such parameter"))
                    continue
                }
                if !current.writable {
                    faults.append(SetParameterValuesFault(parameterName: item.name, code: .nonWritableParameter, string: "read-only"))
                } else if !Self.fits(item.value.text, type: current.type) {
                    faults.append(SetParameterValuesFault(parameterName: item.name, code: .invalidParameterValue, string: "not a valid \(current.type)"))
                }
            }
            if !faults.isEmpty {
                return .fault(CWMPFault(code: .cpeInvalidArguments, string: "Invalid arguments", setParameterValuesFaults: faults))
            }
            for item in set.parameterList { parameters[item.name]?.value = item.value.text }
            if let key = parameters[root + "ManagementServer.ParameterKey"], key.value != set.parameterKey {
                parameters[root + "ManagementServer.ParameterKey"]!.value = set.parameterKey
            }
            return .setParameterValuesResponse(SetParameterValuesResponse(status: .applied))
        case .getParameterAttributes(let get):
            var list: [ParameterAttributeStruct] = []
            for name in get.parameterNames {
                let paths = name.hasSuffix(".") || name.isEmpty ? parameters.keys.filter { $0.hasPrefix(name) }.sorted() : (parameters[name] == nil ? [] : [name])
                guard !paths.isEmpty else { return .fault(CWMPFault(code: .invalidParameterName, string: name)) }
                list += paths.map { ParameterAttributeStruct(name: $0, notification: notifications[$0] ?? .off, accessList: []) }
            }
            return .getParameterAttributesResponse(GetParameterAttributesResponse(parameterList: list))
        case .setParameterAttributes(let set):
            for item in set.parameterList {
                let paths = item.name.hasSuffix(".") ? parameters.keys.filter { $0.hasPrefix(item.name) } : (parameters[item.name] == nil ? [] : [item.name])
                guard !paths.isEmpty else { return .fault(CWMPFault(code: .invalidParameterName, string: item.name)) }
                if item.notificationChange {
                    for path in paths { notifications[path] = item.notification }
                    // Parameters created under the object later inherit it.
                    if item.name.hasSuffix(".") { notifications[item.name] = item.notification }
                }
            }
            return .setParameterAttributesResponse
        case .addObject(let add):
            guard add.objectName.hasSuffix("."), parameters.keys.contains(where: { $0.hasPrefix(add.objectName) }) || add.objectName.hasSuffix("Subscription.") else {
                return .fault(CWMPFault(code: .invalidParameterName, string: add.objectName))
            }
            let numbers = parameters.keys.compactMap { key -> UInt32? in
                guard key.hasPrefix(add.objectName) else { return nil }
                return UInt32(key.dropFirst(add.objectName.count).prefix { $0 != "." })
            }
            let number = (numbers.max() ?? 0) + 1
            let templateNumber = numbers.min() ?? 1
            let template = parameters.keys.filter { $0.hasPrefix(add.objectName + "\(templateNumber).") }
            for key in template {
                let suffix = key.dropFirst((add.objectName + "\(templateNumber).").count)
                // Only the new instance's own parameters, not those of its sub-tables' instances.
                if suffix.split(separator: ".").dropLast().contains(where: { $0.allSatisfy(\.isNumber) }) { continue }
                var copy = parameters[key]!
                copy.value = copy.type == "boolean" ? "false" : (copy.type == "string" ? "" : "0")
                parameters["\(add.objectName)\(number).\(suffix)"] = copy
            }
            return .addObjectResponse(AddObjectResponse(instanceNumber: number, status: .applied))
        case .deleteObject(let delete):
            let doomed = parameters.keys.filter { $0.hasPrefix(delete.objectName) }
            guard !doomed.isEmpty, delete.objectName.hasSuffix(".") else { return .fault(CWMPFault(code: .invalidParameterName, string: delete.objectName)) }
            for key in doomed { parameters[key] = nil }
            return .deleteObjectResponse(DeleteObjectResponse(status: .applied))
        case .reboot(let reboot):
            pendingActions.append(.reboot(commandKey: reboot.commandKey))
            return .rebootResponse
        case .factoryReset:
            pendingActions.append(.factoryReset)
            return .factoryResetResponse
        case .download(let download):
            guard let scheme = URL(string: download.url)?.scheme?.lowercased(), scheme == "http" || scheme == "https" else {
                return .fault(CWMPFault(code: .unsupportedTransferProtocol, string: "only HTTP and HTTPS downloads are supported"))
            }
            guard download.fileType == "1 Firmware Upgrade Image" else {
                return .fault(CWMPFault(code: .cpeRequestDenied, string: "file type \(download.fileType) is not supported"))
            }
            pendingActions.append(.download(download, started: Date()))
            return .downloadResponse(TransferResponse(status: .pending))
        case .upload(let upload):
            guard let scheme = URL(string: upload.url)?.scheme?.lowercased(), scheme == "http" || scheme == "https" else {
                return .fault(CWMPFault(code: .unsupportedTransferProtocol, string: "only HTTP and HTTPS uploads are supported"))
            }
            guard Self.uploadContent(upload.fileType) != nil else {
                return .fault(CWMPFault(code: .cpeRequestDenied, string: "file type \(upload.fileType) is not supported"))
            }
            pendingActions.append(.upload(upload, started: Date()))
            return .uploadResponse(TransferResponse(status: .pending))
        case .scheduleInform(let schedule):
            guard schedule.delaySeconds > 0 else { return .fault(CWMPFault(code: .cpeInvalidArguments, string: "DelaySeconds must be at least 1")) }
            scheduleInform(after: .seconds(Int(schedule.delaySeconds)), commandKey: schedule.commandKey)
            return .scheduleInformResponse
        case .getRPCMethods:
            return .getRPCMethodsResponse(GetRPCMethodsResponse(methodList: Self.methods))
        default:
            return .fault(CWMPFault(code: .cpeMethodNotSupported, string: "\(request.methodName) is not supported by this CPE"))
        }
    }

    private var notifications: [String: ParameterNotification] = [:]

    static let methods = ["GetRPCMethods", "GetParameterNames", "GetParameterValues", "SetParameterValues", "GetParameterAttributes",
                          "SetParameterAttributes", "AddObject", "DeleteObject", "Reboot", "FactoryReset", "Download", "Upload", "ScheduleInform"]

    /// Whether `text` is a valid value of the CWMP type.
    static func fits(_ text: String, type: String) -> Bool {
        switch type {
        case "boolean": return ["true", "false", "1", "0"].contains(text)
        case "unsignedInt": return UInt32(text) != nil
        case "int": return Int32(text) != nil
        case "unsignedLong": return UInt64(text) != nil
        case "long": return Int64(text) != nil
        default: return true
        }
    }

    /// GetParameterNames: the parameters and objects under `path` (all levels, or the next).
    private func namesUnder(_ path: String, nextLevel: Bool) -> [ParameterInfoStruct] {
        let root = path.isEmpty ? "" : path
        if !root.isEmpty, !root.hasSuffix(".") {
            return parameters[root].map { [ParameterInfoStruct(name: root, writable: $0.writable)] } ?? []
        }
        var objects: Set<String> = []
        var leaves: [ParameterInfoStruct] = []
        for (key, parameter) in parameters where key.hasPrefix(root) {
            let rest = key.dropFirst(root.count)
            let parts = rest.split(separator: ".", omittingEmptySubsequences: false)
            if nextLevel {
                if parts.count == 1 { leaves.append(ParameterInfoStruct(name: key, writable: parameter.writable)) } else { objects.insert(root + parts[0] + ".") }
            } else {
                leaves.append(ParameterInfoStruct(name: key, writable: parameter.writable))
                var prefix = root
                for part in parts.dropLast() {
                    prefix += part + "."
                    objects.insert(prefix)
                }
            }
        }
        var list = objects.sorted().map { ParameterInfoStruct(name: $0, writable: false) }
        if !root.isEmpty, !nextLevel, !leaves.isEmpty { list.insert(ParameterInfoStruct(name: root, writable: false), at: 0) }
        list += leaves.sorted { $0.name < $1.name }
        return list
    }

    // MARK: After a session

    /// Carries out what the last session asked for — fetches and installs a firmware, reboots,
    /// resets — and returns the events of the session the device then opens (empty: only the
    /// events it owes), or nil when it owes none. `rebootTime` is how long the device is away
    /// while it reboots; no session runs meanwhile.
    public func followUp(firmwareFetchTimeout: Duration = .seconds(60), rebootTime: Duration = .zero) async -> [String]? {
        if pendingActions.isEmpty, loopsLeft > 0 {
            // A boot loop: the new firmware crashes and the device boots again.
            loopsLeft -= 1
            await reboot(for: rebootTime, owing: [EventStruct(eventCode: EventCode(rawValue: "1 BOOT"))], transfers: [])
            return []
        }
        guard !pendingActions.isEmpty else { return nil }
        let actions = pendingActions
        pendingActions = []
        var owed: [EventStruct] = []
        var transfers: [TransferComplete] = []
        var rebooted = false
        for action in actions {
            switch action {
            case .reboot(let key):
                owed.append(EventStruct(eventCode: EventCode(rawValue: "M Reboot"), commandKey: key))
                rebooted = true
            case .factoryReset:
                parameters = factoryModel()
                owed.insert(EventStruct(eventCode: EventCode(rawValue: "0 BOOTSTRAP")), at: 0)
                rebooted = true
                loopsLeft = 0
            case .download(let download, let started):
                let fault = await install(download, timeout: firmwareFetchTimeout)
                transfers.append(TransferComplete(commandKey: download.commandKey, fault: fault, startTime: started, completeTime: Date()))
                owed.append(EventStruct(eventCode: EventCode(rawValue: "7 TRANSFER COMPLETE")))
                owed.append(EventStruct(eventCode: EventCode(rawValue: "M Download"), commandKey: download.commandKey))
                if fault.isSuccess {
                    rebooted = true
                    loopsLeft = behaviour.rebootLoops ? 3 : 0
                }
            case .upload(let upload, let started):
                if upload.delaySeconds > 0 { try? await Task.sleep(for: .seconds(Int(upload.delaySeconds))) }
                let fault = await send(upload, timeout: firmwareFetchTimeout)
                transfers.append(TransferComplete(commandKey: upload.commandKey, fault: fault, startTime: started, completeTime: Date()))
                owed.append(EventStruct(eventCode: EventCode(rawValue: "7 TRANSFER COMPLETE")))
                owed.append(EventStruct(eventCode: EventCode(rawValue: "M Upload"), commandKey: upload.commandKey))
            }
        }
        if rebooted { owed.insert(EventStruct(eventCode: EventCode(rawValue: "1 BOOT")), at: owed.first?.eventCode.rawValue == "0 BOOTSTRAP" ? 1 : 0) }
        await reboot(for: rebooted ? rebootTime : .zero, owing: owed, transfers: transfers)
        return []
    }

    /// Away for `time` (no session runs meanwhile), then back with the events and
    /// TransferCompletes the next session must carry.
    private func reboot(for time: Duration, owing owed: [EventStruct], transfers: [TransferComplete]) async {
        if time > .zero {
            rebooting = true
            try? await Task.sleep(for: time)
            rebooting = false
            bootedAt = Date()
            if parameters[root + "DeviceInfo.UpTime"] != nil { parameters[root + "DeviceInfo.UpTime"]!.value = "0" }
        }
        for event in owed where !owedEvents.contains(event) { owedEvents.append(event) }
        transferCompletes += transfers
    }

    /// The content type of what an Upload of `fileType` sends, or nil for a type this CPE
    /// does not have.
    static func uploadContent(_ fileType: String) -> String? {
        if fileType.hasPrefix("1 Vendor Configuration File") || fileType.hasPrefix("3 Vendor Configuration File") { return "application/xml" }
        if fileType.hasPrefix("2 Vendor Log File") || fileType.hasPrefix("4 Vendor Log File") { return "text/plain" }
        return nil
    }

    /// The vendor configuration file: every writable parameter with its value.
    public func configurationFile() -> [UInt8] {
        SimFirmware.configurationFile(
            attributes: [("serial", serial), ("software", parameters[root + "DeviceInfo.SoftwareVersion"]?.value ?? "")],
            parameters: parameters.filter(\.value.writable).map { ($0.key, $0.value.type, $0.value.value) })
    }

    /// The vendor log file: one line per inform this CPE sent.
    public func logFile() -> [UInt8] {
        Array(informs.enumerated().map { "session \($0.offset + 1): \($0.element.joined(separator: ", "))\n" }.joined().utf8)
    }

    /// Sends the file an Upload asks for.
    private func send(_ upload: Upload, timeout: Duration) async -> TransferFault {
        let contentType = Self.uploadContent(upload.fileType) ?? "application/octet-stream"
        let body = contentType == "text/plain" ? logFile() : configurationFile()
        do {
            try await SimFirmware.upload(body, to: upload.url, contentType: contentType, username: upload.username, password: upload.password,
                                         client: client, timeout: timeout)
            return .success
        } catch let error as SimFirmware.FetchError {
            return TransferFault(code: CWMPFaultCode(error.cwmpFault), string: error.description)
        } catch {
            return TransferFault(code: .uploadFailure, string: "\(error)")
        }
    }

    /// A ScheduleInform: after `delay`, a session with `3 SCHEDULED` and `M ScheduleInform`.
    private func scheduleInform(after delay: Duration, commandKey: String) {
        startSession(["3 SCHEDULED"], after: delay, owing: EventStruct(eventCode: EventCode(rawValue: "M ScheduleInform"), commandKey: commandKey))
    }

    /// Fetches the image over HTTP and installs it: the size must match, the image must be a
    /// Twinfleet test firmware, and the device's knob may make the install fail.
    private func install(_ download: Download, timeout: Duration) async -> TransferFault {
        let image: [UInt8]
        do {
            image = try await SimFirmware.fetch(download.url, username: download.username, password: download.password, client: client, timeout: timeout)
        } catch let error as SimFirmware.FetchError {
            return TransferFault(code: CWMPFaultCode(error.cwmpFault), string: error.description)
        } catch {
            return TransferFault(code: .unableToContactFileServer, string: "\(error)")
        }
        if download.fileSize > 0, image.count != Int(download.fileSize) {
            return TransferFault(code: .fileCorrupted, string: "expected \(download.fileSize) bytes, got \(image.count)")
        }
        guard let version = SimFirmware.version(of: image) else { return TransferFault(code: .fileCorrupted, string: "not a firmware image for this device") }
        guard !behaviour.firmwareInstallFails else { return TransferFault(code: .fileTransferFailure, string: "install failed: flash write error") }
        let root = self.root
        parameters[root + "DeviceInfo.SoftwareVersion"]?.value = version
        parameters[root + "DeviceInfo.FirmwareImage.2.Version"]?.value = version
        parameters[root + "DeviceInfo.FirmwareImage.2.Available"]?.value = "true"
        parameters[root + "DeviceInfo.ActiveFirmwareImage"]?.value = "Device.DeviceInfo.FirmwareImage.2"
        return .success
    }

    // MARK: HTTP

    private struct ACSResponse {
        var status: Int
        var body: [UInt8]
        var challenges: [String]
        var cookie: String?
    }

    private func post(_ body: [UInt8], cookie: String?, authorization: String?) async throws -> ACSResponse {
        var request = HTTPClientRequest(url: acsURL)
        request.method = .POST
        request.headers.add(name: "content-type", value: "text/xml; charset=utf-8")
        if !body.isEmpty { request.headers.add(name: "SOAPAction", value: "") }
        if let cookie { request.headers.add(name: "cookie", value: cookie) }
        if let authorization { request.headers.add(name: "authorization", value: authorization) }
        request.body = .bytes(ByteBuffer(bytes: body))
        let response = try await client.execute(request, timeout: .seconds(60))
        let bytes = try await response.body.collect(upTo: 8 << 20)
        let setCookie = response.headers["set-cookie"].first.map { String($0.prefix { $0 != ";" }) }
        return ACSResponse(status: Int(response.status.code), body: Array(buffer: bytes), challenges: response.headers["www-authenticate"],
                           cookie: setCookie ?? cookie)
    }

    // MARK: Connection requests

    private var connectionRequestTask: Task<Void, any Error>?

    /// Serves this CPE's connection requests on a listener of its own on 127.0.0.1 (Digest
    /// with `username`/`password`); sets the data model's ConnectionRequestURL and returns it.
    /// A fleet shares one ``ConnectionRequestServer`` instead.
    public func serveConnectionRequests(username: String, password: String) async throws -> String {
        let server = ConnectionRequestServer(port: 0)
        connectionRequestTask = Task { try await server.run() }
        let port = await server.port()
        return await server.register(self, username: username, password: password, port: port)
    }

    /// Stops the CPE's own connection-request listener.
    public func stop() {
        connectionRequestTask?.cancel()
    }

    func refusedConnectionRequest() { refusedConnectionRequests += 1 }

    /// An authenticated connection request: opens a session with `6 CONNECTION REQUEST`
    /// unless one is open (TR-069 says to ignore it then).
    func connectionRequested() {
        connectionRequests += 1
        guard !sessionInProgress, !rebooting else { return }
        startSession(["6 CONNECTION REQUEST"])
    }

    /// True while a session runs.
    public var isInSession: Bool { sessionInProgress }
}
