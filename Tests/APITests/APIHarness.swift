import AsyncHTTPClient
import BusContracts
import Foundation
import Kafka
import NIOCore
import NIOHTTP1
import Testing
import TestSupport
import TwinfleetModel

/// twin-store and the api executable on the test PostgreSQL and dev broker, on topics of their
/// own; devices are created by publishing the events an ingress would.
final class APIHarness: @unchecked Sendable {
    let environment: TestEnvironment
    let databases: TestDatabases
    let eventsTopic = TestEnvironment.unique("api-events")
    let commandsTopic = TestEnvironment.unique("api-commands")
    let resultsTopic = TestEnvironment.unique("api-results")
    /// The bootstrap administrator of the root tenant (`default`).
    let adminKey = "tfk_00000000000000ad_" + String(repeating: "A", count: 43)
    let jwtSecret = "the-test-identity-provider-shares-this-secret"
    private(set) var twinStore: ChildProcess?
    private(set) var api: ChildProcess?
    private(set) var apiPort = 0
    let producer: KafkaProducer

    private init(environment: TestEnvironment, databases: TestDatabases, producer: KafkaProducer) {
        self.environment = environment
        self.databases = databases
        self.producer = producer
    }

    /// Two harnesses at a time: each runs a twin-store and one or more api processes, and the
    /// suite's other targets run alongside; a two-core CI machine must not drown in processes.
    static let slots = AsyncSlots(2)

    static func start(apiVariables: [String: String] = [:]) async throws -> APIHarness {
        await slots.acquire()
        do {
            return try await launch(apiVariables: apiVariables)
        } catch {
            await slots.release()
            throw error
        }
    }

    private static func launch(apiVariables: [String: String]) async throws -> APIHarness {
        let environment = try TestEnvironment.current()
        let databases = try await TestDatabases.create(shards: 2, in: environment)
        let harness = APIHarness(environment: environment, databases: databases,
                                 producer: try KafkaProducer(configuration: environment.kafka(), logger: TestEnvironment.logger))
        for topic in [harness.eventsTopic, harness.commandsTopic, harness.resultsTopic] {
            try await environment.createTopic(topic, partitions: environment.partitionCount)
        }
        let opsPort = freeLocalPort()
        var variables = harness.variables(ops: opsPort)
        variables["TWINSTORE_GROUP"] = TestEnvironment.unique("twin-store")
        variables["TWINSTORE_EVENTS_TOPIC"] = harness.eventsTopic
        variables["TWINSTORE_COMMANDS_TOPIC"] = harness.commandsTopic
        variables["TWINSTORE_RESULTS_TOPIC"] = harness.resultsTopic
        harness.twinStore = try await harness.launch("twinfleet-twin-store", variables, ops: opsPort)
        (harness.api, harness.apiPort) = try await harness.launchAPI(apiVariables)
        return harness
    }

    func variables(ops port: Int) -> [String: String] {
        var variables = environment.childEnvironment(postgres: databases)
        variables["HTTP_HOST"] = "127.0.0.1"
        variables["HTTP_PORT"] = String(port)
        return variables
    }

    /// Another api process on the same databases and topics (its own settings on top).
    func launchAPI(_ extra: [String: String] = [:]) async throws -> (ChildProcess, Int) {
        let opsPort = freeLocalPort(), port = freeLocalPort()
        var variables = variables(ops: opsPort)
        variables["API_HOST"] = "127.0.0.1"
        variables["API_PORT"] = String(port)
        variables["API_BOOTSTRAP_KEY"] = adminKey
        variables["API_JWT_SECRET"] = jwtSecret
        variables["API_JWT_ISSUER"] = "test-idp"
        variables["API_DATA_MODEL_DIR"] = Self.dataModelDirectory
        variables["API_COMMANDS_TOPIC"] = commandsTopic
        variables["API_RESULTS_TOPIC"] = resultsTopic
        variables["API_RATE_PER_SECOND"] = "1000"
        variables["API_RATE_BURST"] = "2000"
        variables.merge(extra) { _, new in new }
        return (try await launch("twinfleet-api", variables, ops: opsPort), port)
    }

    /// `../shared/specs/data-models` next to the repository.
    static var dataModelDirectory: String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("shared/specs/data-models").path
    }

    static var repositoryRoot: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    }

    private func launch(_ executable: String, _ variables: [String: String], ops port: Int) async throws -> ChildProcess {
        let process = try ChildProcess(executable, [], environment: environment, variables: variables)
        guard await waitUntilReady(opsPort: port, timeout: .seconds(90)) else {
            process.signal(SIGKILL)
            throw TestCPEError("\(executable) did not become ready: \(process.standardErrorTail)")
        }
        return process
    }

    func stop() async {
        for process in [api, twinStore].compactMap({ $0 }) {
            process.signal(SIGTERM)
            _ = await process.waitForExit(timeout: .seconds(20))
        }
        await producer.shutdown()
        await Self.slots.release()
    }

    var logs: String { "--- api\n\(api?.standardErrorTail ?? "")\n--- twin-store\n\(twinStore?.standardErrorTail ?? "")" }

    /// Publishes an Inform (and optionally a parameter report) for each device and waits until
    /// the twin-store has applied them.
    func addDevices(_ devices: [String], tenant: String, software: String = "1.0", protocol deviceProtocol: Twinfleet_Bus_V1_DeviceProtocol = .cwmp,
                    parameters: [Twinfleet_Bus_V1_Parameter] = [], at time: Date = Date()) async throws {
        var records: [OutgoingRecord] = []
        for device in devices {
            var inform = Events.inform(device, at: time, software: software, tenant: tenant)
            inform.protocol = deviceProtocol
            records.append(Events.record(inform, topic: eventsTopic))
            if !parameters.isEmpty {
                var report = Events.report(device, at: time.addingTimeInterval(0.001), tenant: tenant, parameters)
                report.protocol = deviceProtocol
                records.append(Events.record(report, topic: eventsTopic))
            }
        }
        _ = try await producer.sendAll(records)
        let client = APIClient(port: apiPort, key: adminKey)
        let applied = await eventually(timeout: .seconds(60), every: .milliseconds(200)) {
            var all = true
            for device in devices {
                let response = try? await client.call(.GET, "/v1/devices/\(device)")
                let version = (response?.object["device"] as? [String: Any])?["twinVersion"] as? Int ?? 0
                if version < (parameters.isEmpty ? 1 : 2) { all = false; break }
            }
            return all
        }
        if !applied { throw TestCPEError("the twin-store did not apply the devices: \(logs)") }
    }

    func client(key: String? = nil) -> APIClient { APIClient(port: apiPort, key: key ?? adminKey) }
}

/// A JSON response.
struct APIResponse: Sendable {
    var status: Int
    var headers: HTTPHeaders
    var body: Data

    var json: Any? { try? JSONSerialization.jsonObject(with: body, options: [.fragmentsAllowed]) }
    var object: [String: Any] { json as? [String: Any] ?? [:] }
    var items: [[String: Any]] { object["items"] as? [[String: Any]] ?? [] }
    var text: String { String(decoding: body, as: UTF8.self) }
    var problemType: String? { (object["type"] as? String)?.replacingOccurrences(of: "https://twinfleet.dev/problems/", with: "") }
    func header(_ name: String) -> String? { headers.first(name: name) }
}

/// Calls the API over real HTTP on 127.0.0.1.
struct APIClient: Sendable {
    let port: Int
    var key: String?
    var bearer: String?

    init(port: Int, key: String?, bearer: String? = nil) {
        self.port = port
        self.key = key
        self.bearer = bearer
    }

    func call(_ method: HTTPMethod, _ path: String, json: Any? = nil, body: Data? = nil, headers extra: [String: String] = [:]) async throws -> APIResponse {
        var request = HTTPClientRequest(url: "http://127.0.0.1:\(port)\(path)")
        request.method = method
        if let bearer { request.headers.add(name: "Authorization", value: "Bearer \(bearer)") } else if let key { request.headers.add(name: "X-API-Key", value: key) }
        if let json {
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(data: try JSONSerialization.data(withJSONObject: json)))
        } else if let body {
            request.body = .bytes(ByteBuffer(data: body))
        }
        for (name, value) in extra { request.headers.replaceOrAdd(name: name, value: value) }
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(30))
        let bytes = try await response.body.collect(upTo: 16 << 20)
        return APIResponse(status: Int(response.status.code), headers: response.headers, body: Data(buffer: bytes))
    }
}

/// Runs a program to its end; its exit status and everything it wrote (stdout and stderr).
func runProgram(_ path: String, _ arguments: [String], environment extra: [String: String] = [:], in directory: URL? = nil) throws -> (status: Int32, output: String) {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: path)
    process.arguments = arguments
    if let directory { process.currentDirectoryURL = directory }
    process.environment = ProcessInfo.processInfo.environment.merging(extra) { _, new in new }
    let output = Pipe()
    process.standardOutput = output
    process.standardError = output
    try process.run()
    let data = output.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return (process.terminationStatus, String(decoding: data, as: UTF8.self))
}
