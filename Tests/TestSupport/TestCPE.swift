import AsyncHTTPClient
import CWMPCodec
import Foundation
import HTTPAuth
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import TwinfleetModel

/// One parameter of a test CPE's data model.
public struct TestParameter: Sendable, Hashable {
    public var value: String
    /// The `xsi:type` without prefix: `string`, `unsignedInt`, `boolean`, …
    public var type: String
    public var writable: Bool

    public init(_ value: String, type: String = "string", writable: Bool = false) {
        self.value = value
        self.type = type
        self.writable = writable
    }
}

/// A TR-069 CPE for tests, speaking real HTTP and SOAP to an ACS: it authenticates with Digest,
/// informs, answers the ACS's RPCs from and into its own data model (GetParameterNames,
/// GetParameterValues, SetParameterValues, AddObject, DeleteObject, Reboot, FactoryReset,
/// Download), and serves Digest-protected connection requests that open a session.
public actor TestCPE {
    public let oui: String
    public let productClass: String
    public let serial: String
    /// The ACS URL; ``use(acsURL:)`` moves the CPE to another instance (a load balancer without
    /// affinity sends each session anywhere).
    public private(set) var acsURL: String
    public let username: String
    public let password: String
    public private(set) var parameters: [String: TestParameter]
    /// The RPC method names the ACS sent, one list per session.
    public private(set) var sessions: [[String]] = []
    /// Connection requests that passed authentication.
    public private(set) var connectionRequests = 0
    /// Connection requests refused (wrong credentials, no credentials).
    public private(set) var refusedConnectionRequests = 0
    private var connectionRequestTask: Task<Void, any Error>?
    private var sessionInProgress = false
    private var pendingEvents: [String] = []

    /// The device ID the ACS derives (each part percent-encoded, as `DeviceID.cwmp` does).
    public var deviceID: String {
        (try? DeviceID.cwmp(oui: oui, productClass: productClass, serialNumber: serial).rawValue) ?? "\(oui)-\(productClass)-\(serial)"
    }

    public init(serial: String, oui: String = "00D09E", productClass: String = "HGW", acsURL: String, username: String, password: String,
                parameters: [String: TestParameter]) {
        self.serial = serial
        self.oui = oui
        self.productClass = productClass
        self.acsURL = acsURL
        self.username = username
        self.password = password
        self.parameters = parameters
    }

    /// A small TR-181 data model: identity, management server, two SSIDs.
    public static func gatewayModel(serial: String, software: String = "1.0.0") -> [String: TestParameter] {
        [
            "Device.DeviceInfo.Manufacturer": TestParameter("Acme"),
            "Device.DeviceInfo.ModelName": TestParameter("HGW-9000"),
            "Device.DeviceInfo.SerialNumber": TestParameter(serial),
            "Device.DeviceInfo.SoftwareVersion": TestParameter(software),
            "Device.DeviceInfo.UpTime": TestParameter("4242", type: "unsignedInt"),
            "Device.ManagementServer.PeriodicInformInterval": TestParameter("3600", type: "unsignedInt", writable: true),
            "Device.ManagementServer.ConnectionRequestURL": TestParameter(""),
            "Device.WiFi.SSIDNumberOfEntries": TestParameter("2", type: "unsignedInt"),
            "Device.WiFi.SSID.1.Enable": TestParameter("true", type: "boolean", writable: true),
            "Device.WiFi.SSID.1.SSID": TestParameter("home", writable: true),
            "Device.WiFi.SSID.2.Enable": TestParameter("false", type: "boolean", writable: true),
            "Device.WiFi.SSID.2.SSID": TestParameter("guest", writable: true),
        ]
    }

    public func value(_ path: String) -> String? { parameters[path]?.value }

    public func use(acsURL: String) { self.acsURL = acsURL }

    // MARK: Sessions

    /// Runs one session: Inform with `events`, then answers every RPC until the ACS ends the
    /// session with an empty response. Returns the RPC names the ACS sent.
    @discardableResult
    public func session(events: [String] = ["1 BOOT"]) async throws -> [String] {
        sessionInProgress = true
        defer { sessionInProgress = false }
        var log: [String] = []
        let informBody = encode(.inform(inform(events: events)), id: "inform-\(sessions.count + 1)")
        var response = try await post(informBody, cookie: nil, authorization: nil)
        if response.status == 401 {
            let uri = URL(string: acsURL).map { $0.path.isEmpty ? "/" : $0.path } ?? "/"
            let authorization = try ClientAuthorizer.authorization(
                answering: response.challenges, username: username, password: password, method: "POST", uri: uri,
                cnonce: String(UInt64.random(in: 0...UInt64.max), radix: 16), allowBasic: false)
            response = try await post(informBody, cookie: nil, authorization: authorization.headerValue)
        }
        guard response.status == 200 else { throw TestCPEError("Inform answered \(response.status): \(String(decoding: response.body, as: UTF8.self))") }
        guard let cookie = response.cookie else { throw TestCPEError("no session cookie") }
        var next: [UInt8] = []
        for _ in 0..<500 {
            response = try await post(next, cookie: cookie, authorization: nil)
            if response.status == 204 || (response.status == 200 && response.body.isEmpty) { break }
            guard response.status == 200 else { throw TestCPEError("ACS answered \(response.status) after \(log)") }
            let envelope = try CWMPDecoder().decode(response.body)
            log.append(envelope.message.methodName)
            next = encode(answer(envelope.message), id: envelope.header.id, namespace: envelope.namespace)
        }
        sessions.append(log)
        return log
    }

    private func inform(events: [String]) -> Inform {
        var list: [ParameterValueStruct] = []
        for path in ["Device.DeviceInfo.SoftwareVersion", "Device.DeviceInfo.ModelName", "Device.ManagementServer.ConnectionRequestURL"] {
            if let parameter = parameters[path] { list.append(ParameterValueStruct(name: path, value: .raw(text: parameter.value, typeName: "xsd:\(parameter.type)"))) }
        }
        return Inform(
            deviceId: DeviceIdStruct(manufacturer: "Acme", oui: oui, productClass: productClass, serialNumber: serial),
            events: events.map { EventStruct(eventCode: EventCode(rawValue: $0)) }, currentTime: Date(), parameterList: list)
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
                list += paths.map { ParameterValueStruct(name: $0, value: .raw(text: parameters[$0]!.value, typeName: "xsd:\(parameters[$0]!.type)")) }
            }
            return .getParameterValuesResponse(GetParameterValuesResponse(parameterList: list))
        case .setParameterValues(let set):
            var faults: [SetParameterValuesFault] = []
            for item in set.parameterList {
                guard let current = parameters[item.name] else {
                    faults.append(SetParameterValuesFault(parameterName: item.name, code: .invalidParameterName, string: "no such parameter"))
                    continue
                }
                if !current.writable { faults.append(SetParameterValuesFault(parameterName: item.name, code: .nonWritableParameter, string: "read-only")) }
            }
            if !faults.isEmpty {
                return .fault(CWMPFault(code: .cpeInvalidArguments, string: "Invalid arguments", setParameterValuesFaults: faults))
            }
            for item in set.parameterList { parameters[item.name]?.value = item.value.text }
            return .setParameterValuesResponse(SetParameterValuesResponse(status: .applied))
        case .addObject(let add):
            let numbers = parameters.keys.compactMap { key -> UInt32? in
                guard key.hasPrefix(add.objectName) else { return nil }
                return UInt32(key.dropFirst(add.objectName.count).prefix { $0 != "." })
            }
            let number = (numbers.max() ?? 0) + 1
            let template = parameters.keys.filter { $0.hasPrefix(add.objectName + "1.") }
            for key in template {
                let suffix = key.dropFirst((add.objectName + "1.").count)
                var copy = parameters[key]!
                copy.value = copy.type == "boolean" ? "false" : ""
                parameters["\(add.objectName)\(number).\(suffix)"] = copy
            }
            return .addObjectResponse(AddObjectResponse(instanceNumber: number, status: .applied))
        case .deleteObject(let delete):
            let doomed = parameters.keys.filter { $0.hasPrefix(delete.objectName) }
            guard !doomed.isEmpty else { return .fault(CWMPFault(code: .invalidParameterName, string: delete.objectName)) }
            for key in doomed { parameters[key] = nil }
            return .deleteObjectResponse(DeleteObjectResponse(status: .applied))
        case .reboot:
            pendingEvents.append("M Reboot")
            return .rebootResponse
        case .factoryReset:
            return .factoryResetResponse
        case .getRPCMethods:
            return .getRPCMethodsResponse(GetRPCMethodsResponse(methodList: ["GetRPCMethods", "GetParameterNames", "GetParameterValues", "SetParameterValues", "AddObject", "DeleteObject", "Reboot", "FactoryReset", "Download"]))
        default:
            return .fault(CWMPFault(code: .cpeMethodNotSupported, string: "\(request.methodName) not supported by this test CPE"))
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
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(60))
        let bytes = try await response.body.collect(upTo: 8 << 20)
        let setCookie = response.headers["set-cookie"].first.map { String($0.prefix { $0 != ";" }) }
        return ACSResponse(status: Int(response.status.code), body: Array(buffer: bytes), challenges: response.headers["www-authenticate"],
                        cookie: setCookie ?? cookie)
    }

    // MARK: Connection requests

    /// Serves connection requests on 127.0.0.1 (Digest with `username`/`password`), each
    /// answered 200 and followed by a session with `6 CONNECTION REQUEST`. Sets the data model's
    /// ConnectionRequestURL and returns it.
    public func serveConnectionRequests(username: String, password: String) async throws -> String {
        let port = freeLocalPort()
        let path = "/cr/\(serial)"
        let authenticator = ServerAuthenticator(configuration: .init(realm: "test-cpe", nonceSecret: Array("cpe-nonce-secret-\(serial)".utf8)))
        let router = Router()
        router.get(RouterPath(path)) { [self] request, _ -> Hummingbird.Response in
            let now = Date()
            var result = AuthenticationResult.challenge(stale: false)
            if let header = request.headers[.authorization], let parsed = try? AuthorizationHeader(parsing: header) {
                result = authenticator.authenticate(
                    parsed, credential: parsed.username == username ? .password(password) : nil, method: "GET",
                    requestURI: request.uri.description, basicAllowed: false, at: now)
            }
            guard case .authenticated = result else {
                if request.headers[.authorization] != nil { await self.refused() }
                var headers = HTTPFields()
                for value in authenticator.challengeHeaderValues(for: result, at: now) { headers.append(HTTPField(name: .wwwAuthenticate, value: value)) }
                return Response(status: .unauthorized, headers: headers)
            }
            await self.connectionRequested()
            return Response(status: .ok)
        }
        let app = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: port)), logger: Logger(label: "test-cpe"))
        connectionRequestTask = Task { try await app.run() }
        let url = "http://127.0.0.1:\(port)\(path)"
        parameters["Device.ManagementServer.ConnectionRequestURL"] = TestParameter(url)
        // Wait until it listens.
        for _ in 0..<100 {
            if (try? await HTTPClient.shared.execute(HTTPClientRequest(url: url), timeout: .seconds(1))) != nil { break }
            try await Task.sleep(for: .milliseconds(50))
        }
        return url
    }

    private func refused() { refusedConnectionRequests += 1 }

    private func connectionRequested() {
        connectionRequests += 1
        // TR-069: a connection request while a session is open is ignored.
        guard !sessionInProgress else { return }
        sessionInProgress = true
        Task { _ = try? await self.session(events: ["6 CONNECTION REQUEST"]) }
    }

    public func stop() {
        connectionRequestTask?.cancel()
    }
}

public struct TestCPEError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}
