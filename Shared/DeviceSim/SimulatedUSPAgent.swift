import AsyncHTTPClient
import Foundation
import HTTPTypes
import Logging
import MQTT
import NIOCore
import NIOSSL
import SwiftProtobuf
import USPCodec
import WSClient

/// A TR-369 agent: connects to a controller over a real WebSocket (`v1.usp`) or MQTT (5 or
/// 3.1.1), answers Get, Set, Add, Delete, Operate and GetSupportedDM from its own data model,
/// keeps a real subscription table, and sends Boot!, ValueChange and OperationComplete
/// notifications. With ``rebootTime`` set it really reboots on `Device.Reboot()`,
/// `Device.FactoryReset()` and firmware activation (disconnects, reconnects, sends Boot!), and
/// `FirmwareImage.{i}.Download()` fetches the image over HTTP and checks its size and checksum;
/// `VendorConfigFile.{i}.Backup()` and `VendorLogFile.{i}.Upload()` send a file with HTTP PUT.
/// Everything it receives is kept for assertions.
///
/// The tests' agent and every USP device of `twinfleet-cpe-sim` are this type.
public actor SimulatedUSPAgent {
    public nonisolated let endpointID: String
    public nonisolated let controllerID: String
    /// The data model: full parameter path → value.
    public var parameters: [String: String]
    /// Parameters a Set must refuse (7013).
    public var readOnly: Set<String> = ["Device.DeviceInfo.SoftwareVersion", "Device.DeviceInfo.SerialNumber"]
    /// Types GetSupportedDM reports, by generic path (`Device.WiFi.SSID.{i}.Enable`); string otherwise.
    public var types: [String: Usp_GetSupportedDMResp.ParamValueType] = [:]
    /// When false, requests are recorded but not answered (for timeouts).
    public var answersRequests = true
    /// Every Msg received, in order (the last ``SimulatedCPE/historyLimit``).
    public private(set) var received: [Usp_Msg] = []
    /// DisconnectRecords received (reason, code).
    public private(set) var disconnects: [(String, UInt32)] = []
    /// The `Sec-WebSocket-*` answer is checked by the ingress tests with a raw socket instead.
    public private(set) var closed = false

    private enum Transport {
        case webSocket(WebSocketOutboundWriter)
        /// MQTT: the controller's topic, the agent's own topic, and MQTT 5 or 3.1.1.
        case mqtt(MQTTClient, controllerTopic: String, agentTopic: String, version5: Bool)
    }

    private var transport: Transport?
    /// The Response Topic of the controller's last request (MQTT 5): where answers go.
    private var replyTopic: String?
    private var task: Task<Void, Never>?
    private var counter = 0
    private var asyncRequests = 0
    /// How long a reboot keeps the agent away; nil: reboot commands are acknowledged only.
    public var rebootTime: Duration?
    public var behaviour = SimBehaviour()
    /// The instance number of the guest host ``churnHosts()`` added, while it is there.
    private var guestHost: Int?
    private var guests = 0
    /// Boot! events sent.
    public private(set) var boots = 0
    /// True from a reboot's start until the agent has reconnected: the agent reconnects itself.
    public private(set) var isRebooting = false
    private var client: HTTPClient = .shared
    /// How the agent last connected, to reconnect after a reboot.
    private var reconnect: (@Sendable (SimulatedUSPAgent) async throws -> Void)?
    /// The data model as shipped, which a factory reset restores (built again, not kept).
    private let factoryModel: @Sendable () -> [String: String]
    /// Called with each USP message as it arrives, before it is answered (benchmarks time
    /// deliveries with it).
    private var arrivals: (@Sendable (Usp_Msg) -> Void)?

    public init(endpointID: String, controllerID: String, parameters: [String: String]) {
        self.endpointID = endpointID
        self.controllerID = controllerID
        self.parameters = parameters
        self.factoryModel = { parameters }
    }

    /// An agent with a model from ``SimModelBuilder``: values, the types GetSupportedDM
    /// reports, and read-only parameters a Set refuses.
    public init(endpointID: String, controllerID: String, model: [String: SimParameter], factoryModel: (@Sendable () -> [String: SimParameter])? = nil,
                rebootTime: Duration? = nil, behaviour: SimBehaviour = SimBehaviour(), client: HTTPClient = .shared) {
        self.endpointID = endpointID
        self.controllerID = controllerID
        self.parameters = model.mapValues(\.value)
        if let factoryModel {
            self.factoryModel = { factoryModel().mapValues(\.value) }
        } else {
            let values = self.parameters
            self.factoryModel = { values }
        }
        var types: [String: Usp_GetSupportedDMResp.ParamValueType] = [:]
        var readOnly: Set<String> = []
        for (path, parameter) in model {
            types[Self.generic(path)] = Self.uspType(parameter.type)
            if !parameter.writable { readOnly.insert(path) }
        }
        self.types = types
        self.readOnly = readOnly
        self.rebootTime = rebootTime
        self.behaviour = behaviour
        self.client = client
    }

    static func uspType(_ type: String) -> Usp_GetSupportedDMResp.ParamValueType {
        switch type {
        case "boolean": .paramBoolean
        case "int": .paramInt
        case "unsignedInt": .paramUnsignedInt
        case "long": .paramLong
        case "unsignedLong": .paramUnsignedLong
        case "dateTime": .paramDateTime
        case "base64": .paramBase64
        case "hexBinary": .paramHexBinary
        case "decimal": .paramDecimal
        default: .paramString
        }
    }

    /// `Device.WiFi.SSID.2.Enable` → `Device.WiFi.SSID.{i}.Enable`.
    static func generic(_ path: String) -> String {
        path.split(separator: ".", omittingEmptySubsequences: false)
            .map { $0.allSatisfy(\.isNumber) && !$0.isEmpty ? "{i}" : String($0) }.joined(separator: ".")
    }

    /// A small TR-181 device.
    public static func gateway(serial: String) -> [String: String] {
        [
            "Device.DeviceInfo.Manufacturer": "Twinfleet Test",
            "Device.DeviceInfo.ModelName": "USP-GW",
            "Device.DeviceInfo.SerialNumber": serial,
            "Device.DeviceInfo.SoftwareVersion": "2.0.0",
            "Device.DeviceInfo.UpTime": "42",
            "Device.WiFi.SSID.1.SSID": "home",
            "Device.WiFi.SSID.1.Enable": "true",
            "Device.WiFi.SSID.2.SSID": "guest",
            "Device.WiFi.SSID.2.Enable": "false",
            "Device.ManagementServer.PeriodicInformInterval": "300",
            "Device.RootDataModelVersion": "2.16",
        ]
    }

    public func set(_ path: String, _ value: String) { parameters[path] = value }
    public func setAnswersRequests(_ on: Bool) { answersRequests = on }
    public func observeArrivals(_ observer: @escaping @Sendable (Usp_Msg) -> Void) { arrivals = observer }
    public func setTypes(_ table: [String: Usp_GetSupportedDMResp.ParamValueType]) { types = table }

    // MARK: Connection

    /// Connects to `ws://127.0.0.1:<port><path>`; returns once the WebSocket is open.
    public func connect(port: Int, path: String = "/usp", sendEID: Bool = true, sendConnectRecord: Bool = true, tls: TLSConfiguration? = nil) async throws {
        try await connect(url: "\(tls == nil ? "ws" : "wss")://127.0.0.1:\(port)\(path)", sendEID: sendEID, sendConnectRecord: sendConnectRecord, tls: tls)
    }

    /// Connects to a controller's WebSocket URL (`ws://host:port/usp`); returns once the
    /// WebSocket is open.
    public func connect(url base: String, sendEID: Bool = true, sendConnectRecord: Bool = true, tls: TLSConfiguration? = nil) async throws {
        closed = false
        reconnect = { agent in try await agent.connect(url: base, sendEID: sendEID, sendConnectRecord: sendConnectRecord, tls: tls) }
        var headers = HTTPFields()
        headers[.secWebSocketProtocol] = "v1.usp"
        let query = sendEID ? "?eid=" + (endpointID.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? endpointID) : ""
        let url = base + query
        let (opened, signal) = AsyncStream<Bool>.makeStream()
        let logger = Logger(label: "test-usp-agent")
        task = Task {
            do {
                // An IP address cannot be a TLS server name (SNI): name the test host instead.
                let configuration = WebSocketClientConfiguration(maxFrameSize: 4 << 20, additionalHeaders: headers, sniHostname: tls == nil ? nil : "localhost")
                try await WebSocketClient.connect(url: url, configuration: configuration, tlsConfiguration: tls, logger: logger) { inbound, outbound, _ in
                    await self.attach(outbound)
                    signal.yield(true)
                    for try await message in inbound.messages(maxSize: 4 << 20) {
                        if case .binary(let buffer) = message { await self.handle(Array(buffer.readableBytesView)) }
                    }
                }
            } catch {
                logger.debug("agent connection ended: \(error)")
            }
            self.detach()
            signal.yield(false)
            signal.finish()
        }
        var iterator = opened.makeAsyncIterator()
        guard await iterator.next() == true else { throw SimAgentError.refused }
        if sendConnectRecord {
            var record = baseRecord()
            record.websocketConnect = UspRecord_WebSocketConnectRecord()
            try await sendRaw(try record.serializedBytes())
        }
    }

    /// Closes the WebSocket and waits for the connection task to end.
    public func disconnect() async {
        if case .webSocket(let outbound)? = transport { try? await outbound.close(.normalClosure, reason: nil) }
        let running = task
        await running?.value
    }

    /// Waits until the controller closed the connection.
    public func waitUntilClosed(timeout: Duration = .seconds(10)) async throws {
        let deadline = ContinuousClock.now + timeout
        while !closed {
            guard ContinuousClock.now < deadline else { throw SimAgentError.timeout("connection still open") }
            try await Task.sleep(for: .milliseconds(20))
        }
    }

    private func attach(_ writer: WebSocketOutboundWriter) { transport = .webSocket(writer) }
    private func detach() {
        transport = nil
        closed = true
    }

    /// Connects over MQTT: subscribes to `usp/agent/<id>`, then sends an MQTTConnectRecord to
    /// the controller's topic. With `version5` false it speaks MQTT 3.1.1 and names its topic
    /// with a `/reply-to=` suffix instead of a Response Topic.
    public func connectMQTT(host: String = "127.0.0.1", port: Int, controllerTopic: String, version5: Bool = true, sendConnectRecord: Bool = true) async throws {
        closed = false
        reconnect = { agent in try await agent.connectMQTT(host: host, port: port, controllerTopic: controllerTopic, version5: version5, sendConnectRecord: sendConnectRecord) }
        let agentTopic = "usp/agent/" + endpointID.replacingOccurrences(of: ":", with: "_")
        var configuration = MQTTClient.Configuration(host: host, port: port, clientID: "agent-" + UUID().uuidString.prefix(12))
        configuration.version5 = version5
        let client = try MQTTClient(configuration: configuration, logger: Logger(label: "test-usp-agent-mqtt"))
        try client.subscribe(agentTopic)
        try client.start()
        transport = .mqtt(client, controllerTopic: controllerTopic, agentTopic: agentTopic, version5: version5)
        let (connected, signal) = AsyncStream<Void>.makeStream()
        task = Task {
            var signalled = false
            for await event in client.events {
                switch event {
                case .connected:
                    if !signalled { signal.yield(()); signalled = true }
                case .message(let message):
                    await self.received(message)
                case .disconnected:
                    break
                }
            }
            self.detach()
        }
        var iterator = connected.makeAsyncIterator()
        _ = await iterator.next()
        // Subscriptions are renewed in the connect callback; give the SUBACK a moment.
        try await Task.sleep(for: .milliseconds(200))
        if sendConnectRecord { try await sendMQTTConnect() }
    }

    /// Sends an MQTTConnectRecord naming the agent's topic (as an agent does after every
    /// connection to the broker).
    public func sendMQTTConnect() async throws {
        guard case .mqtt(_, _, let agentTopic, let version5)? = transport else { throw SimAgentError.notConnected }
        var record = baseRecord()
        var connect = UspRecord_MQTTConnectRecord()
        connect.version = version5 ? .v5 : .v311
        connect.subscribedTopic = agentTopic
        record.mqttConnect = connect
        try await sendRaw(try record.serializedBytes())
    }

    private func received(_ message: MQTTClient.Message) async {
        if let topic = message.responseTopic { replyTopic = topic }
        await handle(message.payload)
    }

    /// MQTT: sends a DisconnectRecord and leaves the broker.
    public func disconnectMQTT() async throws {
        guard case .mqtt(let client, _, _, _)? = transport else { return }
        var record = baseRecord()
        record.disconnect.reason = "agent going away"
        try await sendRaw(try record.serializedBytes())
        try await Task.sleep(for: .milliseconds(100))
        client.stop()
        await task?.value
    }

    // MARK: Sending

    /// Sends raw bytes as one binary WebSocket message.
    public func sendRaw(_ bytes: [UInt8]) async throws {
        try await sendRaw(bytes, answer: false)
    }

    /// Answers go to the Response Topic of the controller's request (MQTT 5); everything else
    /// to the controller's topic.
    private func sendRaw(_ bytes: [UInt8], answer: Bool) async throws {
        switch transport {
        case .webSocket(let outbound)?:
            try await outbound.write(.binary(ByteBuffer(bytes: bytes)))
        case .mqtt(let client, let controllerTopic, let agentTopic, let version5)?:
            if version5 {
                try client.publish(answer ? replyTopic ?? controllerTopic : controllerTopic, payload: bytes, responseTopic: agentTopic, contentType: "usp.msg")
            } else {
                try client.publish(controllerTopic + "/reply-to=" + agentTopic, payload: bytes)
            }
        case nil:
            throw SimAgentError.notConnected
        }
    }

    /// Sends `message` in a NoSessionContext record.
    public func send(_ message: Usp_Msg) async throws {
        try await send(message, answer: false)
    }

    private func send(_ message: Usp_Msg, answer: Bool) async throws {
        var record = baseRecord()
        var body = UspRecord_NoSessionContextRecord()
        body.payload = try message.serializedBytes()
        record.noSessionContext = body
        try await sendRaw(try record.serializedBytes(), answer: answer)
    }

    private func baseRecord() -> UspRecord_Record {
        var record = UspRecord_Record()
        record.version = "1.3"
        record.toID = controllerID
        record.fromID = endpointID
        return record
    }

    /// Sends a `Device.Boot!` event on the Boot! subscription (with send_resp); returns its msg_id.
    @discardableResult
    public func sendBoot(cause: String = "LocalReboot", commandKey: String = "", firmwareUpdated: Bool = false) async throws -> String {
        boots += 1
        var event = Usp_Notify.Event()
        event.objPath = "Device."
        event.eventName = "Boot!"
        event.params = ["Cause": cause, "CommandKey": commandKey, "FirmwareUpdated": firmwareUpdated ? "true" : "false",
                        "ParameterMap": "{\"Device.DeviceInfo.SoftwareVersion\":\"\(parameters["Device.DeviceInfo.SoftwareVersion"] ?? "")\"}"]
        return try await notify(.event(event), subscription: subscriptionID(notifType: "Event", containing: "Device.Boot!") ?? "boot", sendResp: true)
    }

    /// Changes a value and notifies it on the ValueChange subscription covering it.
    @discardableResult
    public func sendValueChange(_ path: String, _ value: String) async throws -> String {
        parameters[path] = value
        var change = Usp_Notify.ValueChange()
        change.paramPath = path
        change.paramValue = value
        return try await notify(.valueChange(change), subscription: subscriptionID(notifType: "ValueChange", containing: path) ?? "vc", sendResp: false)
    }

    private func notify(_ notification: Usp_Notify.OneOf_Notification, subscription: String, sendResp: Bool) async throws -> String {
        let message = notifyMessage(notification, subscription: subscription, sendResp: sendResp)
        try await send(message)
        return message.header.msgID
    }

    /// A Notify Msg with a fresh `agent-<n>` msg_id.
    private func notifyMessage(_ notification: Usp_Notify.OneOf_Notification, subscription: String, sendResp: Bool) -> Usp_Msg {
        counter += 1
        var message = Usp_Msg()
        message.header.msgID = "agent-\(counter)"
        message.header.msgType = .notify
        message.body.request.notify.subscriptionID = subscription
        message.body.request.notify.sendResp = sendResp
        message.body.request.notify.notification = notification
        return message
    }

    // MARK: Subscriptions

    /// The subscription table: instance path → its parameters.
    public var subscriptions: [String: [String: String]] {
        var table: [String: [String: String]] = [:]
        let prefix = "Device.LocalAgent.Subscription."
        for (path, value) in parameters where path.hasPrefix(prefix) {
            let rest = path.dropFirst(prefix.count).split(separator: ".", maxSplits: 1)
            guard rest.count == 2 else { continue }
            table[prefix + rest[0] + ".", default: [:]][String(rest[1])] = value
        }
        return table
    }

    /// The ID of an enabled subscription of `notifType` whose ReferenceList covers `path`.
    public func subscriptionID(notifType: String, containing path: String) -> String? {
        subscriptions.values.first { entry in
            entry["NotifType"] == notifType && entry["Enable"] != "false"
                && (entry["ReferenceList"] ?? "").split(separator: ",").contains { path.hasPrefix($0) }
        }?["ID"]
    }

    // MARK: Waiting

    /// Waits for a received Msg matching `predicate`.
    @discardableResult
    public func waitFor(_ what: String, timeout: Duration = .seconds(15), _ predicate: (Usp_Msg) -> Bool) async throws -> Usp_Msg {
        let deadline = ContinuousClock.now + timeout
        while true {
            if let found = received.first(where: predicate) { return found }
            guard ContinuousClock.now < deadline else { throw SimAgentError.timeout(what) }
            try await Task.sleep(for: .milliseconds(20))
        }
    }

    // MARK: Answering

    private func handle(_ bytes: [UInt8]) async {
        guard let record = try? UspRecord_Record(serializedBytes: bytes) else { return }
        switch record.recordType {
        case .disconnect(let disconnect)?:
            disconnects.append((disconnect.reason, disconnect.reasonCode))
            return
        case .noSessionContext(let body)?:
            guard let message = try? Usp_Msg(serializedBytes: body.payload) else { return }
            arrivals?(message)
            received.append(message)
            if received.count > SimulatedCPE.historyLimit { received.removeFirst(received.count - SimulatedCPE.historyLimit) }
            guard answersRequests, case .request(let request)? = message.body.msgBody, let kind = request.reqType else { return }
            if case .operate(let operate) = kind, let rebootTime, let special = await device(operate, msgID: message.header.msgID, rebootTime: rebootTime) {
                try? await send(special, answer: true)
                return
            }
            var answers = [answer(kind, msgID: message.header.msgID)]
            if case .operate(let operate) = kind, operate.command.hasSuffix("Async()") {
                answers.append(completion(of: operate))
            }
            for (index, answer) in answers.enumerated() { try? await send(answer, answer: index == 0) }
        default:
            return
        }
    }

    private func answer(_ request: Usp_Request.OneOf_ReqType, msgID: String) -> Usp_Msg {
        var response = Usp_Response()
        let type: Usp_Header.MsgType
        switch request {
        case .get(let get):
            type = .getResp
            var resp = Usp_GetResp()
            resp.reqPathResults = get.paramPaths.map { read($0, maxDepth: get.maxDepth) }
            response.getResp = resp
        case .set(let set):
            if let failure = writeFailure(set) { return failure(msgID) }
            type = .setResp
            var resp = Usp_SetResp()
            resp.updatedObjResults = set.updateObjs.map { object in
                var updated = Usp_SetResp.UpdatedInstanceResult()
                updated.affectedPath = object.objPath
                for setting in object.paramSettings {
                    parameters[object.objPath + setting.param] = setting.value
                    updated.updatedParams[setting.param] = setting.value
                }
                var success = Usp_SetResp.UpdatedObjectResult.OperationStatus.OperationSuccess()
                success.updatedInstResults = [updated]
                var result = Usp_SetResp.UpdatedObjectResult()
                result.requestedPath = object.objPath
                result.operStatus.operSuccess = success
                return result
            }
            response.setResp = resp
        case .add(let add):
            type = .addResp
            var resp = Usp_AddResp()
            resp.createdObjResults = add.createObjs.map { create in
                let number = nextInstance(of: create.objPath)
                let instance = "\(create.objPath)\(number)."
                for setting in create.paramSettings { parameters[instance + setting.param] = setting.value }
                if create.objPath == "Device.LocalAgent.Subscription." {
                    parameters[instance + "Recipient"] = "Device.LocalAgent.Controller.1"
                }
                var success = Usp_AddResp.CreatedObjectResult.OperationStatus.OperationSuccess()
                success.instantiatedPath = instance
                var result = Usp_AddResp.CreatedObjectResult()
                result.requestedPath = create.objPath
                result.operStatus.operSuccess = success
                return result
            }
            response.addResp = resp
        case .delete(let delete):
            type = .deleteResp
            var resp = Usp_DeleteResp()
            resp.deletedObjResults = delete.objPaths.map { path in
                let affected = parameters.keys.contains { $0.hasPrefix(path) }
                parameters = parameters.filter { !$0.key.hasPrefix(path) }
                var success = Usp_DeleteResp.DeletedObjectResult.OperationStatus.OperationSuccess()
                success.affectedPaths = affected ? [path] : []
                var result = Usp_DeleteResp.DeletedObjectResult()
                result.requestedPath = path
                result.operStatus.operSuccess = success
                return result
            }
            response.deleteResp = resp
        case .operate(let operate):
            type = .operateResp
            var result = Usp_OperateResp.OperationResult()
            result.executedCommand = operate.command
            if operate.command.hasSuffix("Async()") {
                asyncRequests += 1
                result.reqObjPath = "Device.LocalAgent.Request.\(asyncRequests)."
            } else if operate.command.hasSuffix("Fail()") {
                var failure = Usp_OperateResp.OperationResult.CommandFailure()
                failure.errCode = 7022
                failure.errMsg = "command failed on purpose"
                result.cmdFailure = failure
            } else {
                var output = Usp_OperateResp.OperationResult.OutputArgs()
                output.outputArgs = ["Status": "Complete"]
                result.reqOutputArgs = output
            }
            var resp = Usp_OperateResp()
            resp.operationResults = [result]
            response.operateResp = resp
        case .getSupportedDm(let request):
            type = .getSupportedDmResp
            response.getSupportedDmResp = supportedDM(request.objPaths)
        default:
            return error(msgID, code: 7001, "not supported by the test agent")
        }
        var message = Usp_Msg()
        message.header.msgID = msgID
        message.header.msgType = type
        message.body.response = response
        return message
    }

    private func read(_ path: String, maxDepth: UInt32) -> Usp_GetResp.RequestedPathResult {
        var result = Usp_GetResp.RequestedPathResult()
        result.requestedPath = path
        var matched: [String: [String: String]] = [:]
        for (full, value) in parameters {
            if path.hasSuffix(".") {
                guard full.hasPrefix(path) else { continue }
                if maxDepth == 1, full.dropFirst(path.count).contains(".") { continue }
            } else if full != path {
                continue
            }
            let dot = full.lastIndex(of: ".")!
            matched[String(full[...dot]), default: [:]][String(full[full.index(after: dot)...])] = value
        }
        if matched.isEmpty && !(path.hasSuffix(".") && parameters.keys.contains { $0.hasPrefix(path) }) {
            let isKnownObject = path.hasSuffix(".") && (path == "Device." || path == "Device.LocalAgent.Subscription.")
            if !isKnownObject {
                result.errCode = 7026
                result.errMsg = "invalid path \(path)"
                return result
            }
        }
        result.resolvedPathResults = matched.keys.sorted().map { object in
            var resolved = Usp_GetResp.ResolvedPathResult()
            resolved.resolvedPath = object
            resolved.resultParams = matched[object]!
            return resolved
        }
        return result
    }

    private func writeFailure(_ set: Usp_Set) -> ((String) -> Usp_Msg)? {
        for object in set.updateObjs {
            for setting in object.paramSettings {
                let path = object.objPath + setting.param
                if readOnly.contains(path) {
                    return { self.error($0, code: 7013, "\(path) is read-only", paramPath: path) }
                }
                if parameters[path] == nil {
                    return { self.error($0, code: 7026, "\(path) does not exist", paramPath: path) }
                }
            }
        }
        return nil
    }

    private func nextInstance(of table: String) -> Int {
        let numbers = parameters.keys.compactMap { key -> Int? in
            guard key.hasPrefix(table) else { return nil }
            return Int(key.dropFirst(table.count).split(separator: ".").first ?? "")
        }
        return (numbers.max() ?? 0) + 1
    }

    private func supportedDM(_ roots: [String]) -> Usp_GetSupportedDMResp {
        var resp = Usp_GetSupportedDMResp()
        resp.reqObjResults = roots.map { root in
            var objects: [String: [String]] = [:]
            for path in parameters.keys where path.hasPrefix(root) {
                let generic = path.split(separator: ".", omittingEmptySubsequences: false)
                    .map { $0.allSatisfy(\.isNumber) && !$0.isEmpty ? "{i}" : String($0) }.joined(separator: ".")
                let dot = generic.lastIndex(of: ".")!
                let object = String(generic[...dot])
                objects[object, default: []].append(String(generic[generic.index(after: dot)...]))
            }
            var result = Usp_GetSupportedDMResp.RequestedObjectResult()
            result.reqObjPath = root
            result.dataModelInstUri = "urn:broadband-forum-org:tr-181-2-16-0-usp"
            result.supportedObjs = objects.keys.sorted().map { object in
                var supported = Usp_GetSupportedDMResp.SupportedObjectResult()
                supported.supportedObjPath = object
                supported.isMultiInstance = object.hasSuffix("{i}.")
                supported.access = supported.isMultiInstance ? .objAddDelete : .objReadOnly
                supported.supportedParams = Set(objects[object]!).sorted().map { name in
                    var parameter = Usp_GetSupportedDMResp.SupportedParamResult()
                    parameter.paramName = name
                    parameter.access = .paramReadWrite
                    parameter.valueType = types[object + name] ?? .paramString
                    return parameter
                }
                return supported
            }
            return result
        }
        return resp
    }

    private func completion(of operate: Usp_Operate) -> Usp_Msg {
        var complete = Usp_Notify.OperationComplete()
        let command = operate.command
        let dot = command.lastIndex(of: ".")!
        complete.objPath = String(command[...dot])
        complete.commandName = String(command[command.index(after: dot)...])
        complete.commandKey = operate.commandKey
        var output = Usp_Notify.OperationComplete.OutputArgs()
        output.outputArgs = ["Result": "done"]
        complete.reqOutputArgs = output
        return notifyMessage(.operComplete(complete), subscription: subscriptionID(notifType: "OperationComplete", containing: command) ?? "opc", sendResp: true)
    }

    private func error(_ msgID: String, code: UInt32, _ text: String, paramPath: String? = nil) -> Usp_Msg {
        var error = Usp_Error()
        error.errCode = code
        error.errMsg = text
        if let paramPath {
            var parameter = Usp_Error.ParamError()
            parameter.paramPath = paramPath
            parameter.errCode = code
            parameter.errMsg = text
            error.paramErrs = [parameter]
        }
        var message = Usp_Msg()
        message.header.msgID = msgID
        message.header.msgType = .error
        message.body.error = error
        return message
    }
}

public enum SimAgentError: Error {
    case refused
    case notConnected
    case timeout(String)
}

// MARK: Device behaviour: reboots, factory resets and firmware

extension SimulatedUSPAgent {
    /// The answer to an Operate the agent carries out as a device would (reboot, factory reset,
    /// firmware download and activation), with the work scheduled after the answer; nil for
    /// any other command.
    fileprivate func device(_ operate: Usp_Operate, msgID: String, rebootTime: Duration) async -> Usp_Msg? {
        let command = operate.command
        var result = Usp_OperateResp.OperationResult()
        result.executedCommand = command
        result.reqOutputArgs = Usp_OperateResp.OperationResult.OutputArgs()
        switch command {
        case "Device.Reboot()":
            Task { await self.reboot(after: rebootTime, cause: "RemoteReboot", commandKey: operate.commandKey, firmwareUpdated: false) }
        case "Device.FactoryReset()":
            Task {
                self.resetModel()
                await self.reboot(after: rebootTime, cause: "RemoteFactoryReset", commandKey: operate.commandKey, firmwareUpdated: false)
            }
        case _ where Self.isUpload(command):
            // Backup() and Upload() are asynchronous: OperationComplete once the file is sent.
            let object = String(command[...command.lastIndex(of: ".")!])
            guard parameters.keys.contains(where: { $0.hasPrefix(object) }) else { return error(msgID, code: 7026, "\(object) does not exist") }
            asyncRequests += 1
            result.reqObjPath = "Device.LocalAgent.Request.\(asyncRequests)."
            Task { await self.upload(operate) }
        default:
            guard command.hasPrefix("Device.DeviceInfo.FirmwareImage."), command.hasSuffix(".Download()") || command.hasSuffix(".Activate()") else { return nil }
            let image = String(command.dropLast(command.hasSuffix(".Download()") ? "Download()".count : "Activate()".count))
            if command.hasSuffix(".Activate()") {
                guard let version = parameters[image + "Version"], !version.isEmpty else {
                    return error(msgID, code: 7022, "\(image) holds no firmware")
                }
                Task { await self.activate(image: image, version: version, rebootTime: rebootTime, commandKey: operate.commandKey) }
            } else {
                asyncRequests += 1
                result.reqObjPath = "Device.LocalAgent.Request.\(asyncRequests)."
                Task { await self.download(operate, image: image, rebootTime: rebootTime) }
            }
        }
        var resp = Usp_OperateResp()
        resp.operationResults = [result]
        var message = Usp_Msg()
        message.header.msgID = msgID
        message.header.msgType = .operateResp
        message.body.response.operateResp = resp
        return message
    }

    private func resetModel() { parameters = factoryModel() }

    /// Drops the connection, stays away for `time`, reconnects and sends Boot!.
    private func reboot(after time: Duration, cause: String, commandKey: String, firmwareUpdated: Bool) async {
        isRebooting = true
        defer { isRebooting = false }
        // A device answers, then takes a moment to shut down.
        try? await Task.sleep(for: .seconds(1))
        switch transport {
        case .webSocket?: await disconnect()
        case .mqtt(let client, _, _, _)?:
            client.stop()
            await task?.value
        case nil: break
        }
        try? await Task.sleep(for: time)
        parameters["Device.DeviceInfo.UpTime"] = "0"
        guard let reconnect else { return }
        for attempt in 0..<30 {
            do {
                try await reconnect(self)
                break
            } catch {
                try? await Task.sleep(for: .milliseconds(200 * (attempt + 1)))
            }
        }
        // The controller sets up its subscriptions on connect; Boot! goes on the Boot! one.
        let deadline = ContinuousClock.now + .seconds(5)
        while subscriptionID(notifType: "Event", containing: "Device.Boot!") == nil, ContinuousClock.now < deadline {
            try? await Task.sleep(for: .milliseconds(50))
        }
        _ = try? await sendBoot(cause: cause, commandKey: commandKey, firmwareUpdated: firmwareUpdated)
    }

    /// Fetches the image, checks size and checksum, stores it in the image slot; completes the
    /// operation (OperationComplete) and, with AutoActivate, reboots into it.
    private func download(_ operate: Usp_Operate, image: String, rebootTime: Duration) async {
        let arguments = operate.inputArgs
        var failure: (UInt32, String)?
        var version = ""
        do {
            let bytes = try await SimFirmware.fetch(arguments["URL"] ?? "", username: arguments["Username"] ?? "", password: arguments["Password"] ?? "",
                                                    client: client, timeout: .seconds(60))
            if let size = arguments["FileSize"].flatMap(Int.init), size != bytes.count {
                failure = (7022, "expected \(size) bytes, got \(bytes.count)")
            } else if let sum = arguments["CheckSum"], !sum.isEmpty, SimFirmware.sha256(bytes) != sum.lowercased() {
                failure = (7022, "checksum mismatch")
            } else if let found = SimFirmware.version(of: bytes) {
                version = found
                if behaviour.firmwareInstallFails { failure = (7022, "install failed: flash write error") }
            } else {
                failure = (7022, "not a firmware image for this device")
            }
        } catch let error as SimFirmware.FetchError {
            failure = (error.uspError, error.description)
        } catch {
            failure = (7022, "\(error)")
        }
        if failure == nil {
            parameters[image + "Version"] = version
            parameters[image + "Available"] = "true"
            parameters[image + "Status"] = "Available"
        }
        await complete(operate, failure: failure)
        if failure == nil, arguments["AutoActivate"] == "true" {
            await activate(image: image, version: version, rebootTime: rebootTime, commandKey: operate.commandKey)
        }
    }

    /// Sends OperationComplete for an asynchronous command: output arguments, or the failure.
    private func complete(_ operate: Usp_Operate, failure: (UInt32, String)?) async {
        var complete = Usp_Notify.OperationComplete()
        let command = operate.command
        let dot = command.lastIndex(of: ".")!
        complete.objPath = String(command[...dot])
        complete.commandName = String(command[command.index(after: dot)...])
        complete.commandKey = operate.commandKey
        if let failure {
            var commandFailure = Usp_Notify.OperationComplete.CommandFailure()
            commandFailure.errCode = failure.0
            commandFailure.errMsg = failure.1
            complete.cmdFailure = commandFailure
        } else {
            complete.reqOutputArgs = Usp_Notify.OperationComplete.OutputArgs()
        }
        let message = notifyMessage(.operComplete(complete), subscription: subscriptionID(notifType: "OperationComplete", containing: command) ?? "opc", sendResp: true)
        try? await send(message)
    }

    /// `Device.DeviceInfo.VendorConfigFile.{i}.Backup()` or `…VendorLogFile.{i}.Upload()`.
    static func isUpload(_ command: String) -> Bool {
        (command.hasPrefix("Device.DeviceInfo.VendorConfigFile.") && command.hasSuffix(".Backup()"))
            || (command.hasPrefix("Device.DeviceInfo.VendorLogFile.") && command.hasSuffix(".Upload()"))
    }

    /// Sends the configuration (every writable parameter, XML) or the log (one line per boot
    /// and request) to the URL with an HTTP PUT, then OperationComplete (7022 on failure).
    private func upload(_ operate: Usp_Operate) async {
        let arguments = operate.inputArgs
        let log = operate.command.hasSuffix(".Upload()")
        let body = log
            ? Array(("boots: \(boots)\n" + received.map { "received \($0.header.msgType) \($0.header.msgID)\n" }.joined()).utf8)
            : SimFirmware.configurationFile(attributes: [("endpoint", endpointID)],
                                            parameters: parameters.filter { !readOnly.contains($0.key) }.map { ($0.key, nil, $0.value) })
        var failure: (UInt32, String)?
        do {
            try await SimFirmware.upload(body, to: arguments["URL"] ?? "", contentType: log ? "text/plain" : "application/xml",
                                         username: arguments["Username"] ?? "", password: arguments["Password"] ?? "", client: client, timeout: .seconds(60))
        } catch let error as SimFirmware.FetchError {
            failure = (error.uspError, error.description)
        } catch {
            failure = (7022, "\(error)")
        }
        await complete(operate, failure: failure)
    }

    private func activate(image: String, version: String, rebootTime: Duration, commandKey: String) async {
        parameters["Device.DeviceInfo.SoftwareVersion"] = version
        parameters["Device.DeviceInfo.ActiveFirmwareImage"] = String(image.dropLast())
        await reboot(after: rebootTime, cause: "RemoteReboot", commandKey: commandKey, firmwareUpdated: true)
    }

    /// A guest's device joins the LAN (a new `Device.Hosts.Host.{i}.`, ObjectCreation with its
    /// PhysAddress) or, when one is there, leaves it (ObjectDeletion) — each notified when a
    /// subscription covers the table.
    public func churnHosts() async throws {
        let table = "Device.Hosts.Host."
        if let guest = guestHost {
            let instance = table + "\(guest)."
            for key in parameters.keys where key.hasPrefix(instance) { parameters[key] = nil }
            guestHost = nil
            countHosts()
            if let subscription = subscriptionID(notifType: "ObjectDeletion", containing: instance) {
                var deletion = Usp_Notify.ObjectDeletion()
                deletion.objPath = instance
                try await send(notifyMessage(.objDeletion(deletion), subscription: subscription, sendResp: false))
            }
            return
        }
        let numbers = instances(of: table)
        guard let template = numbers.min() else { return }
        let number = (numbers.max() ?? 0) + 1
        guests += 1
        let mac = String(format: "02:5a:%02x:%02x:%02x:%02x", (guests >> 24) & 0xFF, (guests >> 16) & 0xFF, (guests >> 8) & 0xFF, guests & 0xFF)
        let instance = table + "\(number)."
        for (key, value) in parameters where key.hasPrefix(table + "\(template).") {
            parameters[instance + key.dropFirst((table + "\(template).").count)] = value
        }
        parameters[instance + "PhysAddress"] = mac
        parameters[instance + "IPAddress"] = "192.168.1.\(200 + guests % 50)"
        parameters[instance + "HostName"] = "guest-\(guests)"
        if parameters[instance + "Active"] != nil { parameters[instance + "Active"] = "true" }
        guestHost = number
        countHosts()
        if let subscription = subscriptionID(notifType: "ObjectCreation", containing: instance) {
            var creation = Usp_Notify.ObjectCreation()
            creation.objPath = instance
            creation.uniqueKeys = ["PhysAddress": mac]
            try await send(notifyMessage(.objCreation(creation), subscription: subscription, sendResp: false))
        }
    }

    private func countHosts() {
        guard parameters["Device.Hosts.HostNumberOfEntries"] != nil else { return }
        parameters["Device.Hosts.HostNumberOfEntries"] = String(instances(of: "Device.Hosts.Host.").count)
    }

    /// The instance numbers of a table (`Device.Hosts.Host.`) the model has.
    private func instances(of table: String) -> Set<Int> {
        Set(parameters.keys.compactMap { key in key.hasPrefix(table) ? Int(key.dropFirst(table.count).prefix { $0 != "." }) : nil })
    }

    /// Changes a value on the device and notifies it if a ValueChange subscription covers it.
    public func changeLocally(_ path: String, to value: String) async throws {
        if subscriptionID(notifType: "ValueChange", containing: path) != nil {
            try await sendValueChange(path, value)
        } else {
            parameters[path] = value
        }
    }

    /// True while connected.
    public var isConnected: Bool { transport != nil && !closed }
}
