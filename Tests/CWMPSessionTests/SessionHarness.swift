import BusContracts
import CWMPCodec
import CWMPSession
import Foundation
import Testing
import TwinfleetModel

/// The start of every test clock.
let t0 = Date(timeIntervalSince1970: 1_750_000_000)
let codecDecoder = CWMPDecoder()
let codecEncoder = CWMPEncoder()

/// The identity most tests use; its device ID escapes the `-` of the serial number.
let testIdentity = DeviceIdStruct(manufacturer: "ACME Networks", oui: "00D09E", productClass: "IGD", serialNumber: "SN-1")
let testDeviceID = "00D09E-IGD-SN%2D1"

/// Drives one session like the ingress would, with a clock that only moves when told.
struct Harness {
    var session: CWMPSession
    var now = t0
    var cpeIDs = 0

    init(configuration: CWMPSessionConfiguration = CWMPSessionConfiguration(), sessionID: String = "s1") {
        let context = CWMPSessionContext(sessionID: sessionID, instanceID: "cwmp-ingress-0", tenantID: "tenant-a",
                                         remoteAddress: "192.0.2.10:40000", tls: true)
        session = CWMPSession(context: context, configuration: configuration, now: t0)
    }

    /// POSTs an envelope built by the codec, with a fresh cwmp:ID unless one is given.
    mutating func post(_ message: CWMPMessage, id: String? = nil, namespace: CWMPNamespace = .v1_0) -> CWMPSessionStep {
        cpeIDs += 1
        let envelope = CWMPEnvelope(header: CWMPHeader(id: id ?? "cpe-\(cpeIDs)"), message: message, namespace: namespace)
        return session.receive(request: CWMPHTTPRequest(body: codecEncoder.encode(envelope), soapAction: message.methodName), now: now)
    }

    /// POSTs raw bytes.
    mutating func post(bytes: [UInt8]) -> CWMPSessionStep {
        session.receive(request: CWMPHTTPRequest(body: bytes), now: now)
    }

    /// POSTs nothing.
    mutating func postEmpty() -> CWMPSessionStep {
        session.receive(request: .empty, now: now)
    }

    /// The CPE's answer to the RPC in `step`, echoing its cwmp:ID.
    mutating func answer(_ step: CWMPSessionStep, with message: CWMPMessage) throws -> CWMPSessionStep {
        let rpc = try sentRPC(step)
        return post(message, id: rpc.id)
    }

    /// Delivers a command for this session.
    mutating func deliver(_ command: Twinfleet_Bus_V1_Command, attempt: UInt32 = 1, sessionID: String? = nil) -> CWMPSessionStep {
        var delivery = Twinfleet_Bus_V1_Delivery()
        delivery.deviceID = testDeviceID
        delivery.instanceID = "cwmp-ingress-0"
        delivery.sessionID = sessionID ?? session.sessionID
        var body = Twinfleet_Bus_V1_CommandDelivery()
        body.command = command
        body.attempt = attempt
        delivery.command = body
        return session.receive(delivery: delivery, now: now)
    }

    /// Delivers the end of the plan.
    mutating func endPlan(planned: UInt32 = 0) -> CWMPSessionStep {
        var delivery = Twinfleet_Bus_V1_Delivery()
        delivery.deviceID = testDeviceID
        delivery.sessionID = session.sessionID
        var end = Twinfleet_Bus_V1_EndOfPlan()
        end.plannedCommands = planned
        delivery.endOfPlan = end
        return session.receive(delivery: delivery, now: now)
    }

    /// Sends a plain Inform (with a ConnectionRequestURL) and checks it was accepted.
    @discardableResult
    mutating func inform(_ events: [EventStruct] = [EventStruct(eventCode: .boot)], parameters: [ParameterValueStruct] = defaultInformParameters,
                         identity: DeviceIdStruct = testIdentity, namespace: CWMPNamespace = .v1_0) throws -> CWMPSessionStep {
        let inform = Inform(deviceId: identity, events: events, currentTime: t0, parameterList: parameters)
        let step = post(.inform(inform), namespace: namespace)
        guard case .informResponse = try decodeResponse(step).message else {
            Issue.record("Inform was not answered with InformResponse")
            return step
        }
        return step
    }

    /// Inform, then an empty POST: the session is parked, waiting for its plan.
    mutating func informAndPark() throws {
        try inform()
        let step = postEmpty()
        #expect(step.reply == .hold(until: now.addingTimeInterval(Double(session.configuration.planWait.components.seconds))))
    }

    mutating func advance(seconds: Double) {
        now = now.addingTimeInterval(seconds)
    }
}

let defaultInformParameters = [
    ParameterValueStruct(name: "Device.DeviceInfo.SoftwareVersion", value: .string("2.1.0")),
    ParameterValueStruct(name: "Device.DeviceInfo.ModelName", value: .string("Gateway 9")),
    ParameterValueStruct(name: "Device.ManagementServer.ConnectionRequestURL", value: .string("http://198.51.100.7:7547/cr")),
]

/// The envelope of a step's response, decoded back with the codec.
func decodeResponse(_ step: CWMPSessionStep) throws -> CWMPEnvelope {
    let response = try #require(step.response, "expected an HTTP response, got \(String(describing: step.reply))")
    #expect(response.status == 200)
    #expect(response.headers["Content-Type"] == CWMPHTTPResponse.xmlContentType)
    return try codecDecoder.decode(response.body)
}

/// The RPC a step sent: cwmp:ID, HoldRequests and message, decoded back with the codec.
func sentRPC(_ step: CWMPSessionStep) throws -> (id: String, holdRequests: Bool?, message: CWMPMessage) {
    let envelope = try decodeResponse(step)
    #expect(!envelope.message.isResponse, "expected an ACS request, got \(envelope.message.methodName)")
    return (try #require(envelope.header.id), envelope.header.holdRequests, envelope.message)
}

/// The CWMP fault a step answered with.
func sentFault(_ step: CWMPSessionStep) throws -> CWMPFault {
    let envelope = try decodeResponse(step)
    guard case .fault(let fault) = envelope.message else {
        Issue.record("expected a fault, got \(envelope.message.methodName)")
        throw HarnessError.unexpected
    }
    return fault
}

enum HarnessError: Error { case unexpected }

/// True when the step answered 204.
func isNoContent(_ step: CWMPSessionStep) -> Bool {
    step.response?.status == 204 && step.response?.body.isEmpty == true
}

/// A command of the test device.
func command(_ id: String, _ kind: Twinfleet_Bus_V1_Command.OneOf_Kind, independent: Bool = false, expiresAt: Date? = nil) -> Twinfleet_Bus_V1_Command {
    var command = Twinfleet_Bus_V1_Command()
    command.commandID = id
    command.deviceID = testDeviceID
    command.tenantID = "tenant-a"
    command.independent = independent
    command.kind = kind
    if let expiresAt { command.expiresAtUs = expiresAt.unixMicroseconds }
    return command
}

func busParameter(_ path: String, _ value: ParameterValue) -> Twinfleet_Bus_V1_Parameter {
    Twinfleet_Bus_V1_Parameter(Parameter(path: try! ParameterPath(validating: path), value: value))
}

func getParameters(_ paths: [String], nextLevel: Bool = false) -> Twinfleet_Bus_V1_Command.OneOf_Kind {
    var get = Twinfleet_Bus_V1_GetParameters()
    get.paths = paths
    get.nextLevel = nextLevel
    return .getParameters(get)
}

func setParameters(_ parameters: [Twinfleet_Bus_V1_Parameter], key: String = "") -> Twinfleet_Bus_V1_Command.OneOf_Kind {
    var set = Twinfleet_Bus_V1_SetParameters()
    set.parameters = parameters
    set.parameterKey = key
    return .setParameters(set)
}

func refresh(_ path: String) -> Twinfleet_Bus_V1_Command.OneOf_Kind {
    var refresh = Twinfleet_Bus_V1_Refresh()
    refresh.path = path
    return .refresh(refresh)
}

func download(_ url: String, key: String = "") -> Twinfleet_Bus_V1_Command.OneOf_Kind {
    var download = Twinfleet_Bus_V1_Download()
    download.url = url
    download.fileType = "1 Firmware Upgrade Image"
    download.fileSize = 1_234
    download.commandKey = key
    return .download(download)
}

extension CWMPSessionStep {
    /// The results' (command ID, status) pairs, in order.
    var statuses: [(String, Twinfleet_Bus_V1_CommandStatus)] { results.map { ($0.commandID, $0.status) } }

    /// The event bodies, in order.
    var bodies: [Twinfleet_Bus_V1_DeviceEvent.OneOf_Body?] { events.map(\.body) }

    /// The presence events' kinds.
    var presenceKinds: [Twinfleet_Bus_V1_Presence.Kind] {
        events.compactMap { if case .presence(let presence)? = $0.body { presence.kind } else { nil } }
    }

    /// The parameter reports, in order.
    var reports: [Twinfleet_Bus_V1_ParameterReport] {
        events.compactMap { if case .parameterReport(let report)? = $0.body { report } else { nil } }
    }
}

/// Compares (command ID, status) lists.
func sameStatuses(_ actual: [(String, Twinfleet_Bus_V1_CommandStatus)], _ expected: [(String, Twinfleet_Bus_V1_CommandStatus)]) -> Bool {
    actual.count == expected.count && zip(actual, expected).allSatisfy { $0.0 == $1.0 && $0.1 == $1.1 }
}

/// One of the shared CWMP RPC vectors (`../shared/specs/vectors/cwmp-rpc` next to the
/// repository), found from this file's real path.
func vector(_ name: String) throws -> String {
    let directory = URL(fileURLWithPath: #filePath).resolvingSymlinksInPath()
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("../shared/specs/vectors/cwmp-rpc").standardizedFileURL
    return try String(contentsOf: directory.appendingPathComponent(name), encoding: .utf8)
}
