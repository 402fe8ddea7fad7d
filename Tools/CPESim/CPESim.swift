import ArgumentParser
import DeviceSim
import Foundation
import Hummingbird
import Logging
import ServiceRuntime

/// `twinfleet-cpe-sim`: thousands of simulated CWMP and USP devices against a running
/// Twinfleet (docs/SIMULATOR.md).
@main
struct CPESim: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "twinfleet-cpe-sim",
        abstract: "Runs simulated TR-069 CPEs and TR-369 agents with realistic TR-181/TR-098 data models against Twinfleet.")

    @Option(help: "TR-069 devices.") var cwmp = 10
    @Option(help: "Share of the TR-069 devices with the TR-098 (InternetGatewayDevice.) model.") var tr098Share = 0.2
    @Option(help: "TR-369 agents.") var usp = 5
    @Option(help: "Share of the TR-369 agents on MQTT (the rest use WebSocket).") var mqttShare = 0.0
    @Option(help: "Serial numbers are <prefix><7 digits>; USP endpoint IDs os::<prefix>U<7 digits>.") var serialPrefix = "SIM"
    @Option(help: "Number of the first device (to run several simulators side by side).") var firstNumber = 1
    @Option(help: "The ACS URL (cwmp-ingress).") var acsURL = "http://127.0.0.1:7547/"
    @Option(help: "CPE username for the ACS (shared credentials).") var cwmpUsername = "cpe"
    @Option(help: "CPE password for the ACS (shared credentials).") var cwmpPassword = "cpe-dev-password"
    @Option(help: "With this secret, every CPE's username is its serial number and its password derived from the secret (CWMP_CREDENTIALS=derived).") var credentialSecret: String?
    @Option(help: "The usp-ingress WebSocket URL.") var uspURL = "ws://127.0.0.1:8090/usp"
    @Option(help: "The MQTT broker host for MQTT agents.") var mqttHost = "127.0.0.1"
    @Option(help: "The MQTT broker port for MQTT agents.") var mqttPort = 1883
    @Option(help: "The controller's MQTT topic.") var mqttTopic = "usp/controller/twinfleet"
    @Option(help: "The controller's USP endpoint ID.") var controllerID = "self::twinfleet-controller"
    @Option(help: "Host the connection-request listener binds and advertises.") var crHost = "127.0.0.1"
    @Option(help: "Connection-request port (0: any free port).") var crPort = 0
    @Option(help: "Host name the ACS reaches the connection-request listener by (default: --cr-host).") var crAdvertiseHost: String?
    @Option(help: "Username the ACS must use for connection requests.") var crUsername = "acs"
    @Option(help: "Password the ACS must use for connection requests.") var crPassword = "cr-dev-password"
    @Option(help: "With this secret, each CPE's connection-request username is its device ID and its password derived from the secret (CWMP_CR_CREDENTIAL_SECRET).") var crCredentialSecret: String?
    @Option(help: "Periodic inform interval in seconds (USP: value-change interval).") var informInterval = 300.0
    @Option(help: "Variation of the interval (0.1 = ±10 %).") var jitter = 0.1
    @Flag(help: "Boot storm: every device makes its first contact at once.") var bootStorm = false
    @Option(help: "Seconds over which first contacts are spread (without --boot-storm).") var ramp = 10.0
    @Option(help: "Most CWMP sessions at a time.") var maxSessions = 64
    @Option(help: "Seconds a reboot keeps a device away.") var rebootTime = 2.0
    @Option(help: "Share of devices that, at each interval, go offline and return.") var flappingShare = 0.0
    @Option(help: "Seconds a flapping device stays offline.") var offlineTime = 60.0
    @Option(help: "Share of devices whose firmware install fails.") var firmwareFailureShare = 0.0
    @Option(help: "Share of devices that boot-loop after a firmware install.") var rebootLoopShare = 0.0
    @Option(help: "Share of devices whose Wi-Fi degrades.") var wifiDegradeShare = 0.0
    @Option(help: "Share of devices whose throughput drops.") var throughputDropShare = 0.0
    @Option(help: "Share of devices whose LAN hosts come and go (TR-069: Active changes; USP: a guest host is added and deleted).") var hostsChurnShare = 0.0
    @Option(help: "Firmware version devices start with.") var software = "1.0.0"
    @Option(help: "Data-model size: full (about 1,000 parameters per TR-181 device) or compact (about a third).") var model = "full"
    @Option(help: "The Broadband Forum data-model directory.") var dataModels = "../shared/specs/data-models"
    @Option(help: "Port of /metrics and /health (0: none).") var metricsPort = 0
    @Option(help: "Address /metrics and the firmware server listen on.") var metricsHost = "127.0.0.1"
    @Option(help: "Port of the firmware file server, /firmware/<version>.bin (0: none).") var firmwarePort = 0
    @Option(help: "Stop after this many seconds (0: run until interrupted).") var duration = 0.0

    func run() async throws {
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = ProcessInfo.processInfo.environment["LOG_LEVEL"].flatMap(Logger.Level.init(rawValue:)) ?? .info
            return handler
        }
        let registry = MetricsSetup.bootstrapPrometheus()
        let logger = Logger(label: "cpe-sim")
        var configuration = FleetConfiguration()
        configuration.cwmpDevices = cwmp
        configuration.tr098Share = tr098Share
        configuration.uspDevices = usp
        configuration.mqttShare = mqttShare
        configuration.serialPrefix = serialPrefix
        configuration.firstNumber = firstNumber
        configuration.acsURL = acsURL
        configuration.credentials = credentialSecret.map { .derived(secret: $0) } ?? .shared(username: cwmpUsername, password: cwmpPassword)
        configuration.uspURL = uspURL
        configuration.mqttHost = mqttHost
        configuration.mqttPort = mqttPort
        configuration.mqttControllerTopic = mqttTopic
        configuration.controllerID = controllerID
        configuration.connectionRequestHost = crHost
        configuration.connectionRequestPort = crPort
        configuration.connectionRequestAdvertisedHost = crAdvertiseHost
        configuration.connectionRequestUsername = crUsername
        configuration.connectionRequestPassword = crPassword
        configuration.connectionRequestSecret = crCredentialSecret
        configuration.informInterval = .seconds(informInterval)
        configuration.jitter = jitter
        configuration.bootStorm = bootStorm
        configuration.ramp = .seconds(ramp)
        configuration.maxConcurrentSessions = maxSessions
        configuration.rebootTime = .seconds(rebootTime)
        configuration.flappingShare = flappingShare
        configuration.offlineTime = .seconds(offlineTime)
        configuration.firmwareFailureShare = firmwareFailureShare
        configuration.rebootLoopShare = rebootLoopShare
        configuration.wifiDegradeShare = wifiDegradeShare
        configuration.throughputDropShare = throughputDropShare
        configuration.hostsChurnShare = hostsChurnShare
        configuration.software = software
        guard let size = SimModelSize(rawValue: model) else { throw ValidationError("--model is full or compact") }
        configuration.modelSize = size
        configuration.dataModels = dataModels
        let started = ContinuousClock.now
        let fleet = try Fleet(configuration: configuration, logger: logger)
        logger.info("built \(cwmp + usp) devices in \(ContinuousClock.now - started)")
        let firmware = firmwarePort > 0 ? FirmwareServer(host: metricsHost, port: firmwarePort) : nil
        let health = HealthState()
        let (metricsPort, metricsHost, duration) = (self.metricsPort, self.metricsHost, self.duration)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await fleet.run() }
            if let firmware {
                group.addTask { try await firmware.run() }
                logger.info("firmware images at http://\(metricsHost):\(firmwarePort)/firmware/<version>.bin")
            }
            if metricsPort > 0 {
                group.addTask {
                    let router = Router()
                    OperationsServer.addRoutes(to: router, health: health, registry: registry)
                    try await Application(router: router, configuration: .init(address: .hostname(metricsHost, port: metricsPort)), logger: logger).run()
                }
            }
            group.addTask {
                // A summary line every 10 s; the run ends after `duration`, if given.
                let end = duration > 0 ? ContinuousClock.now + .seconds(duration) : nil
                while end.map({ ContinuousClock.now < $0 }) ?? true {
                    try await Task.sleep(for: .seconds(10))
                    let stats = fleet.statistics
                    logger.info("sessions \(stats.sessionsSucceeded) ok / \(stats.sessionsFailed) failed, connection requests \(stats.connectionRequests), USP connections \(stats.uspConnections), boots \(stats.uspBoots), notifications \(stats.uspNotifications), USP failures \(stats.uspFailures)\(stats.lastError.map { " — last error: \($0)" } ?? "")")
                }
            }
            group.addTask {
                // SIGINT/SIGTERM end the run.
                let (signals, signalled) = AsyncStream<Void>.makeStream()
                for signalNumber in [SIGINT, SIGTERM] {
                    signal(signalNumber, SIG_IGN)
                    let source = DispatchSource.makeSignalSource(signal: signalNumber)
                    source.setEventHandler { signalled.yield() }
                    source.resume()
                    SignalSources.keep(source)
                }
                var iterator = signals.makeAsyncIterator()
                _ = await iterator.next()
            }
            try await group.next()
            group.cancelAll()
        }
        await fleet.shutdown()
        let stats = fleet.statistics
        print("cpe-sim: \(stats.sessionsSucceeded) sessions ok, \(stats.sessionsFailed) failed, \(stats.uspBoots) USP boots, \(stats.uspNotifications) notifications")
    }
}

/// Keeps signal sources alive for the process's lifetime.
enum SignalSources {
    nonisolated(unsafe) static var sources: [any DispatchSourceSignal] = []
    static func keep(_ source: any DispatchSourceSignal) { sources.append(source) }
}
