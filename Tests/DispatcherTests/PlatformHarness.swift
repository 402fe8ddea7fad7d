import AsyncHTTPClient
import BusContracts
import Foundation
import Kafka
import PostgresNIO
import ShardedPostgres
import SwiftProtobuf
import Testing
import TestSupport

/// The real executables on the test PostgreSQL and the dev broker: twin-store,
/// command-dispatcher and one cwmp-ingress instance with its inbox, on the platform topics.
final class PlatformHarness: @unchecked Sendable {
    let environment: TestEnvironment
    let databases: TestDatabases
    let instance: String
    let acsURL: String
    let cpeUsername = "cpe"
    let cpePassword = "cpe-test-password"
    let crUsername = "acs"
    let crPassword = "cr-test-password"
    private(set) var twinStore: ChildProcess?
    private(set) var dispatcher: ChildProcess?
    private(set) var ingress: ChildProcess?
    /// Further ingress instances (``startUSPIngress()``, ``startSecondCWMPIngress()``), by instance ID.
    private(set) var extraIngresses: [String: ChildProcess] = [:]
    /// The USP controller endpoint ID of every usp-ingress of the harness.
    static let uspController = "self::tf-platform-test"
    private let cwmpPort: Int
    private let dispatcherGroup = TestEnvironment.unique("dispatcher")
    /// Topics of this harness alone: harnesses running side by side must not see each other's
    /// devices (each dispatcher would plan the other's sessions).
    let eventsTopic = TestEnvironment.unique("events")
    let commandsTopic = TestEnvironment.unique("commands")
    let resultsTopic = TestEnvironment.unique("results")
    private let twinGroup = TestEnvironment.unique("twin-store")
    /// Further variables of every cwmp-ingress the harness starts.
    private var cwmpVariables: [String: String] = [:]

    private init(environment: TestEnvironment, databases: TestDatabases, instance: String, cwmpPort: Int) {
        self.environment = environment
        self.databases = databases
        self.instance = instance
        self.cwmpPort = cwmpPort
        acsURL = "http://127.0.0.1:\(cwmpPort)/acs"
    }

    static func start(dispatcherBatchSize: Int = 50, cwmpVariables: [String: String] = [:]) async throws -> PlatformHarness {
        let environment = try TestEnvironment.current()
        let databases = try await TestDatabases.create(shards: 2, in: environment)
        let instance = TestEnvironment.unique("cwmp")
        try await environment.createTopic(try Topic.deliveries(instance: instance), partitions: 1)
        let harness = PlatformHarness(environment: environment, databases: databases, instance: instance, cwmpPort: freeLocalPort())
        harness.cwmpVariables = cwmpVariables
        for topic in [harness.eventsTopic, harness.commandsTopic, harness.resultsTopic] {
            try await environment.createTopic(topic, partitions: environment.partitionCount)
        }
        try await harness.startTwinStore()
        try await harness.startDispatcher(batchSize: dispatcherBatchSize)
        try await harness.startIngress()
        return harness
    }

    func variables(ops port: Int) -> [String: String] {
        var variables = environment.childEnvironment(postgres: databases)
        variables["HTTP_HOST"] = "127.0.0.1"
        variables["HTTP_PORT"] = String(port)
        return variables
    }

    func startTwinStore() async throws {
        let port = freeLocalPort()
        var variables = variables(ops: port)
        variables["TWINSTORE_GROUP"] = twinGroup
        variables["TWINSTORE_EVENTS_TOPIC"] = eventsTopic
        variables["TWINSTORE_COMMANDS_TOPIC"] = commandsTopic
        variables["TWINSTORE_RESULTS_TOPIC"] = resultsTopic
        twinStore = try await launch("twinfleet-twin-store", variables, ops: port)
    }

    func startDispatcher(batchSize: Int = 50) async throws {
        let port = freeLocalPort()
        var variables = variables(ops: port)
        variables["DISPATCHER_GROUP"] = dispatcherGroup
        variables["DISPATCHER_EVENTS_TOPIC"] = eventsTopic
        variables["DISPATCHER_COMMANDS_TOPIC"] = commandsTopic
        variables["DISPATCHER_RESULTS_TOPIC"] = resultsTopic
        variables["DISPATCHER_TICK_MS"] = "100"
        variables["DISPATCHER_CONNECTION_REQUEST_BASE_SECONDS"] = "3"
        variables["DISPATCHER_RETRY_BASE_SECONDS"] = "1"
        variables["DISPATCHER_BATCH_SIZE"] = String(batchSize)
        // A killed member's partitions move on after 6 s instead of librdkafka's 45 s.
        variables["KAFKA_PROPERTIES"] = "session.timeout.ms=6000;heartbeat.interval.ms=1000"
        dispatcher = try await launch("twinfleet-command-dispatcher", variables, ops: port)
    }

    func startIngress() async throws {
        ingress = try await launchCWMPIngress(instance: instance, acsPort: cwmpPort)
    }

    /// A cwmp-ingress on the harness's topics with the harness's credentials.
    private func launchCWMPIngress(instance: String, acsPort: Int) async throws -> ChildProcess {
        let port = freeLocalPort()
        var variables = variables(ops: port)
        variables["INSTANCE_ID"] = instance
        variables["CWMP_HOST"] = "127.0.0.1"
        variables["CWMP_PORT"] = String(acsPort)
        variables["CWMP_USERNAME"] = cpeUsername
        variables["CWMP_PASSWORD"] = cpePassword
        variables["CWMP_NONCE_SECRET"] = "a-test-secret-of-enough-bytes"
        variables["CWMP_PLAN_WAIT_MS"] = "30000"
        variables["CWMP_CR_USERNAME"] = crUsername
        variables["CWMP_CR_PASSWORD"] = crPassword
        variables["CWMP_EVENTS_TOPIC"] = eventsTopic
        variables["CWMP_RESULTS_TOPIC"] = resultsTopic
        variables.merge(cwmpVariables) { _, extra in extra }
        return try await launch("twinfleet-cwmp-ingress", variables, ops: port)
    }

    /// Starts another cwmp-ingress instance on the harness's topics (same credentials and nonce
    /// secret, as pods behind one load balancer); returns its ACS URL.
    func startSecondCWMPIngress() async throws -> (instance: String, acsURL: String) {
        let instance = TestEnvironment.unique("cwmp")
        try await environment.createTopic(try Topic.deliveries(instance: instance), partitions: 1)
        let acsPort = freeLocalPort()
        extraIngresses[instance] = try await launchCWMPIngress(instance: instance, acsPort: acsPort)
        return (instance, "http://127.0.0.1:\(acsPort)/acs")
    }

    /// Starts a usp-ingress instance on the harness's topics; returns its instance ID and
    /// WebSocket port.
    func startUSPIngress() async throws -> (instance: String, wsPort: Int) {
        let instance = TestEnvironment.unique("usp")
        try await environment.createTopic(try Topic.deliveries(instance: instance), partitions: 1)
        let port = freeLocalPort(), wsPort = freeLocalPort()
        var variables = variables(ops: port)
        variables["INSTANCE_ID"] = instance
        variables["USP_HOST"] = "127.0.0.1"
        variables["USP_WS_PORT"] = String(wsPort)
        variables["USP_ENDPOINT_ID"] = Self.uspController
        variables["USP_ALLOWED_AGENTS"] = "os::*"
        variables["USP_EVENTS_TOPIC"] = eventsTopic
        variables["USP_RESULTS_TOPIC"] = resultsTopic
        extraIngresses[instance] = try await launch("twinfleet-usp-ingress", variables, ops: port)
        return (instance, wsPort)
    }

    func killDispatcher() async {
        dispatcher?.signal(SIGKILL)
        _ = await dispatcher?.waitForExit(timeout: .seconds(10))
        dispatcher = nil
    }

    private func launch(_ executable: String, _ variables: [String: String], ops port: Int) async throws -> ChildProcess {
        let process = try ChildProcess(executable, [], environment: environment, variables: variables)
        let ready = await waitUntilReady(opsPort: port, timeout: .seconds(90))
        if !ready {
            process.signal(SIGKILL)
            throw TestCPEError.make("\(executable) did not become ready: \(process.standardErrorTail)")
        }
        return process
    }

    /// Starts the platform, runs `body` with a producer and the shards, records a failure with the
    /// services' logs, and stops everything.
    static func run(
        dispatcherBatchSize: Int = 50, cwmpVariables: [String: String] = [:],
        _ body: (PlatformHarness, KafkaProducer, ShardedPostgres) async throws -> Void
    ) async throws {
        let harness = try await start(dispatcherBatchSize: dispatcherBatchSize, cwmpVariables: cwmpVariables)
        let producer = try KafkaProducer(configuration: harness.environment.kafka(), logger: TestEnvironment.logger)
        do {
            try await withShardedPostgres(harness.databases, partitionCount: harness.environment.partitionCount) { postgres in
                try await body(harness, producer, postgres)
            }
        } catch {
            Issue.record("\(error)\n\(harness.logs)")
        }
        await producer.shutdown()
        await harness.stop()
    }

    func stop() async {
        for process in Array(extraIngresses.values) + [ingress, dispatcher, twinStore].compactMap({ $0 }) {
            process.signal(SIGTERM)
            _ = await process.waitForExit(timeout: .seconds(20))
        }
    }

    var logs: String {
        (["ingress": ingress, "dispatcher": dispatcher, "twin-store": twinStore].merging(extraIngresses.mapValues { $0 }) { first, _ in first })
            .sorted { $0.key < $1.key }
            .compactMap { name, process in process.map { "--- \(name)\n\($0.standardErrorTail)" } }
            .joined(separator: "\n")
    }

    /// A test CPE pointed at this platform's ACS.
    func cpe(serial: String) -> TestCPE {
        TestCPE(serial: serial, acsURL: acsURL, username: cpeUsername, password: cpePassword, parameters: TestCPE.gatewayModel(serial: serial))
    }

    /// A CPE that answers connection requests with the harness's pair and has made its first
    /// contact (a `0 BOOTSTRAP` session); with its device ID.
    func bootstrappedCPE(serial: String) async throws -> (cpe: TestCPE, device: String) {
        let cpe = cpe(serial: serial)
        _ = try await cpe.serveConnectionRequests(username: crUsername, password: crPassword)
        try await cpe.session(events: ["0 BOOTSTRAP"])
        return (cpe, await cpe.deviceID)
    }

    /// Queues a command on `cpe.commands.v1`.
    func queue(_ command: Twinfleet_Bus_V1_Command, producer: KafkaProducer) async throws {
        var envelope = Twinfleet_Bus_V1_CommandEnvelope()
        envelope.requested.command = command
        _ = try await producer.send(OutgoingRecord(topic: commandsTopic, key: command.deviceID, value: try envelope.serializedBytes()))
    }

    func cancel(_ commandID: String, device: String, producer: KafkaProducer) async throws {
        var envelope = Twinfleet_Bus_V1_CommandEnvelope()
        envelope.cancelled.commandID = commandID
        envelope.cancelled.deviceID = device
        envelope.cancelled.reason = "test"
        _ = try await producer.send(OutgoingRecord(topic: commandsTopic, key: device, value: try envelope.serializedBytes()))
    }

    /// The first value the query returns on any shard (the device lives on one).
    func text(_ postgres: ShardedPostgres, _ query: PostgresQuery) async throws -> String? {
        for shard in postgres.shards {
            for try await value in try await shard.query(query, logger: TestEnvironment.logger).decode(String?.self) {
                if let value { return value }
            }
        }
        return nil
    }
}

extension TestCPEError {
    static func make(_ text: String) -> TestCPEError { TestCPEError(text) }
}
