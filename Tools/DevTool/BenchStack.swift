import ArgumentParser
import BusContracts
import DeviceSim
import Foundation
import Kafka
import Logging
import NIOConcurrencyHelpers
import PostgresNIO
import ShardedPostgres

/// The fleet benchmark: a simulated fleet (DeviceSim, in this process) against the running
/// stack — twin-store, command-dispatcher, cwmp-ingress and usp-ingress as separate processes on
/// the platform topics. Phase 1 registers every device (bootstrap, full synchronisation of its
/// data model into its twin); phase 2 runs the fleet at its inform interval for a while and
/// offers Set commands. Prints a Markdown report: registration time, sessions/s and USP
/// records/s accepted, inform → twin lag, command queued → result-in-twin latency, CPU and
/// memory per process, and errors. `scripts/bench.sh stack` starts the stack and runs it.
struct BenchStack: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "bench-stack", abstract: "Whole-stack fleet benchmark with simulated devices (prints a Markdown report).")

    @Option(help: "TR-069 devices.") var cwmp = 1000
    @Option(help: "TR-369 agents (WebSocket).") var usp = 200
    @Option(help: "Data-model size: full or compact.") var model = "compact"
    @Option(help: "Periodic inform interval in seconds during the steady phase.") var informInterval = 60.0
    @Option(help: "Seconds over which first contacts are spread.") var ramp = 30.0
    @Option(help: "Seconds of steady load measured after registration.") var seconds = 120.0
    @Option(help: "Set commands per second offered during the steady phase.") var commandRate = 5.0
    @Option(help: "Most seconds to wait for registration.") var registrationTimeout = 900.0
    @Option(help: "Most CWMP sessions at a time (256: enough for 333 sessions/s here).") var maxSessions = 256
    @Option var acsURL: String
    @Option var uspURL: String
    @Option var controllerID = "self::twinfleet-controller"
    @Option var cwmpUsername = "cpe"
    @Option var cwmpPassword = "cpe-dev-password"
    @Option var crUsername = "acs"
    @Option var crPassword = "cr-dev-password"
    @Option(help: "Broadband Forum data models.") var dataModels = "../shared/specs/data-models"
    @Option(help: "Processes to measure, name=pid (repeatable).") var process: [String] = []

    func run() async throws {
        let environment = ToolEnvironment()
        guard let size = SimModelSize(rawValue: model) else { throw ValidationError("--model is full or compact") }
        var configuration = FleetConfiguration()
        configuration.cwmpDevices = cwmp
        configuration.uspDevices = usp
        configuration.tr098Share = 0.2
        configuration.modelSize = size
        configuration.serialPrefix = "BN"
        configuration.acsURL = acsURL
        configuration.uspURL = uspURL
        configuration.controllerID = controllerID
        configuration.credentials = .shared(username: cwmpUsername, password: cwmpPassword)
        configuration.connectionRequestUsername = crUsername
        configuration.connectionRequestPassword = crPassword
        // No periodic informs while the fleet registers; the steady phase sets the interval.
        configuration.informInterval = .seconds(86_400)
        configuration.ramp = .seconds(ramp)
        configuration.maxConcurrentSessions = maxSessions
        configuration.dataModels = dataModels
        let fleet = try Fleet(configuration: configuration, logger: Logger(label: "cpe-sim"))
        let modelSizes = await fleet.cpes.prefix(50).asyncMap { await $0.parameters.count }
        let parameterCount = modelSizes.reduce(0, +) / max(modelSizes.count, 1)

        // The observer: device events (informs and value changes, with the ingress's time),
        // command results (Refresh completions: a device's twin is complete), twin changes (when
        // each became visible) and dead letters.
        let observer = Observer()
        let consumer = try KafkaConsumer(
            configuration: try environment.kafka(clientID: "bench-stack"),
            options: .init(groupID: "bench-stack-\(UUID().uuidString.prefix(8))", topics: [Topic.deviceEvents, Topic.commandResults, Topic.twinChanges, Topic.deadLetter]),
            logger: environment.logger,
            rebalanceHandler: { event in
                guard case .assigned(let assigned) = event else { return [:] }
                return Dictionary(uniqueKeysWithValues: assigned.map { ($0, KafkaConsumer.StartOffset.end) })
            })
        let reading = Task { for await batch in consumer.batches { observer.observe(batch) } }
        try await Task.sleep(for: .seconds(3))

        let devices = Set(fleet.cpes.map(\.deviceID) + fleet.agents.map(\.endpointID))
        var expected: [String: Int] = [:]
        for cpe in fleet.cpes { expected[cpe.deviceID] = await cpe.parameters.count }
        for agent in fleet.agents { expected[agent.endpointID] = await agent.parameters.count }
        let (postgres, postgresTask) = try await environment.postgres()
        defer { postgresTask.cancel() }
        let started = ContinuousClock.now
        let cpuStart = processTimes()
        let running = Task { try await fleet.run() }

        // Phase 1: registration. Every device's Refresh succeeds first; its twin is complete
        // when the twin store has applied every parameter its device has.
        var registered = 0
        while ContinuousClock.now - started < .seconds(registrationTimeout), observer.synced(devices) < devices.count {
            try await Task.sleep(for: .seconds(1))
        }
        let refreshed = ContinuousClock.now - started
        while ContinuousClock.now - started < .seconds(registrationTimeout) {
            registered = 0
            for shard in postgres.shards.indices {
                let rows = try await postgres.client(forShard: shard).query("SELECT device_id, count(*)::int FROM parameters GROUP BY device_id", logger: environment.logger)
                for try await (device, count) in rows.decode((String, Int).self) where count >= expected[device] ?? Int.max { registered += 1 }
            }
            if registered == devices.count { break }
            try await Task.sleep(for: .seconds(2))
        }
        let registration = ContinuousClock.now - started
        let cpuRegistration = processTimes()
        let registeredAll = registered == devices.count

        // Phase 2: steady load, with Set commands for random devices. Devices switch to the
        // steady interval within 5 s and their first periodic inform is spread over it.
        fleet.setInformInterval(.seconds(informInterval))
        try await Task.sleep(for: .seconds(informInterval))
        observer.startWindow()
        let producer = try KafkaProducer(configuration: try environment.kafka(clientID: "bench-stack-producer"), logger: environment.logger)
        let steadyStart = ContinuousClock.now
        let cpuSteady = processTimes()
        let statsBefore = fleet.statistics
        var offered = 0
        let deviceList = Array(devices).sorted()
        while ContinuousClock.now - steadyStart < .seconds(seconds) {
            if commandRate > 0 {
                let device = deviceList.randomElement()!
                let isUSP = device.hasPrefix("os::")
                let root = isUSP || !device.contains("-DSL-") ? "Device." : "InternetGatewayDevice."
                let path = root == "Device." ? "Device.WiFi.SSID.1.SSID" : "InternetGatewayDevice.LANDevice.1.WLANConfiguration.1.SSID"
                offered += 1
                var command = Twinfleet_Bus_V1_Command()
                command.commandID = "bench-set-\(offered)-\(UUID().uuidString.prefix(8))"
                command.deviceID = device
                command.tenantID = "default"
                command.createdAtUs = Date().unixMicroseconds
                var parameter = Twinfleet_Bus_V1_Parameter()
                parameter.path = path
                parameter.value.stringValue = "bench-\(offered)"
                command.setParameters.parameters = [parameter]
                var envelope = Twinfleet_Bus_V1_CommandEnvelope()
                envelope.requested.command = command
                observer.queued(parameter.value.stringValue, at: Double(command.createdAtUs) / 1e6)
                _ = try? await producer.send(OutgoingRecord(topic: Topic.commands, key: device, value: try envelope.serializedBytes()))
                try await Task.sleep(for: .seconds(1 / commandRate))
            } else {
                try await Task.sleep(for: .seconds(1))
            }
        }
        // Let the last commands land.
        try await Task.sleep(for: .seconds(min(30, informInterval)))
        let window = (ContinuousClock.now - steadyStart).seconds
        let cpuEnd = processTimes()
        let statsAfter = fleet.statistics
        let report = observer.report()
        running.cancel()
        _ = await running.result
        await fleet.shutdown()
        consumer.requestShutdown()
        reading.cancel()

        print("### Fleet benchmark: \(cwmp) CWMP + \(usp) USP simulated devices, \(size.rawValue) models (~\(parameterCount) parameters per TR-181 CWMP device)")
        print()
        print("| measure | value |")
        print("|---|---|")
        print("| devices registered with complete twins | \(registered) of \(devices.count)\(registeredAll ? "" : " (timed out)") in \(String(format: "%.1f", registration.seconds)) s (\(String(format: "%.0f", Double(registered) / max(registration.seconds, 0.001))) devices/s) |")
        print("| every device's Refresh succeeded (data model read and published) | after \(String(format: "%.1f", refreshed.seconds)) s |")
        print("| parameters synchronised during registration | \(report.registrationParameters) (\(String(format: "%.0f", Double(report.registrationParameters) / max(registration.seconds, 0.001)))/s) |")
        print("| steady window | \(String(format: "%.0f", window)) s, inform interval \(Int(informInterval)) s |")
        print("| CWMP informs offered | \(String(format: "%.1f", Double(cwmp) / informInterval))/s (\(cwmp) devices every \(Int(informInterval)) s), at most \(maxSessions) sessions at a time |")
        print("| CWMP informs accepted (on the bus) | \(report.informs) (\(String(format: "%.1f", Double(report.informs) / window))/s); sim sessions ok \(statsAfter.sessionsSucceeded - statsBefore.sessionsSucceeded), failed \(statsAfter.sessionsFailed - statsBefore.sessionsFailed) |")
        print("| USP records accepted (value changes on the bus) | \(report.valueChanges) (\(String(format: "%.1f", Double(report.valueChanges) / window))/s) |")
        print("| inform → twin-visible lag (ingress receipt → twin change committed) | p50 \(ms(report.lag, 0.5)) ms, p99 \(ms(report.lag, 0.99)) ms (\(report.lag.count) samples) |")
        print("| Set queued → result in twin | p50 \(ms(report.commandLatency, 0.5)) ms, p99 \(ms(report.commandLatency, 0.99)) ms (\(report.commandLatency.count) of \(offered) commands) |")
        print("| final results of the Sets | \(report.setResults.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", "))\(report.setErrors.isEmpty ? "" : " — " + report.setErrors.map { "\($0.key): \($0.value.prefix(100))" }.joined(separator: "; ")) |")
        print("| errors | dead letters \(report.deadLetters), sim session failures \(statsAfter.sessionsFailed), USP failures \(statsAfter.uspFailures)\(statsAfter.lastError.map { " (last: \($0.prefix(120)))" } ?? "") |")
        print()
        print("| process | CPU during registration (cores) | CPU during steady window (cores) | RSS now / peak (MiB) |")
        print("|---|---|---|---|")
        let registrationSeconds = max(registration.seconds, 0.001)
        for name in cpuEnd.keys.sorted() {
            let registrationCPU = (cpuRegistration[name]?.cpu ?? 0) - (cpuStart[name]?.cpu ?? 0)
            let steadyCPU = (cpuEnd[name]?.cpu ?? 0) - (cpuSteady[name]?.cpu ?? 0)
            print("| \(name) | \(String(format: "%.2f", registrationCPU / registrationSeconds)) | \(String(format: "%.2f", steadyCPU / window)) | \(cpuEnd[name]!.rss / 1024) / \(cpuEnd[name]!.peak / 1024) |")
        }
    }

    private func ms(_ samples: [Double], _ p: Double) -> String {
        guard !samples.isEmpty else { return "–" }
        let sorted = samples.sorted()
        return String(format: "%.0f", sorted[min(sorted.count - 1, max(0, Int((Double(sorted.count) * p).rounded(.up)) - 1))] * 1000)
    }

    /// CPU seconds and memory (KiB) of each measured process, and of this one (`cpe-sim+bench`).
    private func processTimes() -> [String: (cpu: Double, rss: Int, peak: Int)] {
        var result: [String: (Double, Int, Int)] = [:]
        var targets = process.compactMap { entry -> (String, String)? in
            let parts = entry.split(separator: "=", maxSplits: 1)
            return parts.count == 2 ? (String(parts[0]), String(parts[1])) : nil
        }
        targets.append(("cpe-sim+bench", "self"))
        let ticks = Double(sysconf(Int32(_SC_CLK_TCK)))
        for (name, pid) in targets {
            guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
                  let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8) else { continue }
            // Fields after the command name (which may hold spaces): utime is the 14th, stime the 15th.
            let fields = stat[stat.index(after: stat.lastIndex(of: ")")!)...].split(separator: " ")
            let cpu = ((Double(fields[11]) ?? 0) + (Double(fields[12]) ?? 0)) / ticks
            func kib(_ key: String) -> Int {
                status.split(separator: "\n").first { $0.hasPrefix(key) }.flatMap { Int($0.split(separator: " ").dropFirst().first ?? "") } ?? 0
            }
            result[name] = (cpu, kib("VmRSS:"), kib("VmHWM:"))
        }
        return result
    }
}

/// What the benchmark reads from the bus.
private final class Observer: Sendable {
    struct State {
        var refreshed: Set<String> = []
        var registrationParameters = 0
        var window = false
        var informs = 0
        var valueChanges = 0
        var eventTimes: [String: Double] = [:]
        var lag: [Double] = []
        var queued: [String: Double] = [:]
        var commandLatency: [Double] = []
        var deadLetters = 0
        /// Final results of the benchmark's Sets, by status (and one error text each).
        var setResults: [String: Int] = [:]
        var setErrors: [String: String] = [:]
    }
    private let state = NIOLockedValueBox(State())

    func observe(_ batch: [ConsumedRecord]) {
        state.withLockedValue { state in
            for record in batch {
                switch record.topic {
                case Topic.deviceEvents:
                    guard let event = try? Twinfleet_Bus_V1_DeviceEvent(serializedBytes: record.value) else { continue }
                    switch event.body {
                    case .inform?:
                        if state.window {
                            state.informs += 1
                            state.eventTimes[event.eventID] = Double(event.occurredAtUs) / 1e6
                        }
                    case .valueChange?:
                        if state.window {
                            state.valueChanges += 1
                            state.eventTimes[event.eventID] = Double(event.occurredAtUs) / 1e6
                        }
                    case .parameterReport(let report)?:
                        if !state.window { state.registrationParameters += report.parameters.count }
                    default: break
                    }
                case Topic.commandResults:
                    guard let result = try? Twinfleet_Bus_V1_CommandResult(serializedBytes: record.value) else { continue }
                    if result.commandID.hasPrefix("refresh-"), result.status == .succeeded { state.refreshed.insert(result.deviceID) }
                    if result.commandID.hasPrefix("bench-set-"), [.succeeded, .failed, .cancelled, .expired].contains(result.status) {
                        let status = "\(result.status)"
                        state.setResults[status, default: 0] += 1
                        if result.status != .succeeded { state.setErrors[status] = "\(result.error.code) \(result.error.message)" }
                    }
                case Topic.twinChanges:
                    guard state.window, let change = try? Twinfleet_Bus_V1_TwinChange(serializedBytes: record.value) else { continue }
                    let committed = Double(change.committedAtUs) / 1e6
                    if let time = state.eventTimes.removeValue(forKey: change.cause.sourceID) {
                        state.lag.append(committed - time)
                    }
                    // A Set's value reported in the twin (not the desired value its command
                    // shows): the change may be caused by the result or by a record applied in
                    // the same run, so it is matched by its unique value.
                    if change.cause.topic != Topic.commands {
                        for parameter in change.parameterChanges where parameter.newValue.stringValue.hasPrefix("bench-") {
                            if let queued = state.queued.removeValue(forKey: parameter.newValue.stringValue) { state.commandLatency.append(committed - queued) }
                        }
                    }
                case Topic.deadLetter:
                    if state.window { state.deadLetters += 1 }
                default: break
                }
            }
        }
    }

    func synced(_ devices: Set<String>) -> Int { state.withLockedValue { $0.refreshed.intersection(devices).count } }
    func startWindow() { state.withLockedValue { $0.window = true } }
    func queued(_ value: String, at time: Double) { state.withLockedValue { $0.queued[value] = time } }

    struct Report {
        var registrationParameters: Int
        var informs: Int
        var valueChanges: Int
        var lag: [Double]
        var commandLatency: [Double]
        var deadLetters: Int
        var setResults: [String: Int]
        var setErrors: [String: String]
    }

    func report() -> Report {
        state.withLockedValue { Report(registrationParameters: $0.registrationParameters, informs: $0.informs, valueChanges: $0.valueChanges,
                                       lag: $0.lag, commandLatency: $0.commandLatency, deadLetters: $0.deadLetters,
                                       setResults: $0.setResults, setErrors: $0.setErrors) }
    }
}

extension Duration {
    var seconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
}

extension Sequence {
    func asyncMap<T>(_ transform: (Element) async -> T) async -> [T] {
        var results: [T] = []
        for element in self { results.append(await transform(element)) }
        return results
    }
}
