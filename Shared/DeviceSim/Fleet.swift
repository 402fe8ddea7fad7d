import AsyncHTTPClient
import Foundation
import HTTPAuth
import Logging
import Metrics
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix

/// What a simulated fleet is and how it behaves.
public struct FleetConfiguration: Sendable {
    /// TR-069 devices; `tr098Share` of them use the TR-098 model, the rest TR-181.
    public var cwmpDevices = 10
    public var tr098Share = 0.2
    /// TR-369 agents; `mqttShare` of them connect over MQTT, the rest over WebSocket.
    public var uspDevices = 5
    public var mqttShare = 0.0
    /// Serial numbers are `<serialPrefix><number>`; USP endpoint IDs `os::<serialPrefix><number>`.
    public var serialPrefix = "SIM"
    public var firstNumber = 1
    public var acsURL = "http://127.0.0.1:7547/"
    /// `shared`: every CPE uses ``cwmpUsername``/``cwmpPassword``; `derived`: the username is
    /// the serial number and the password derives from ``credentialSecret`` (the ACS's
    /// `CWMP_CREDENTIALS=derived`).
    public var credentials = Credentials.shared(username: "cpe", password: "cpe-dev-password")
    public var uspURL = "ws://127.0.0.1:8090/usp"
    public var mqttHost = "127.0.0.1"
    public var mqttPort = 1883
    public var mqttControllerTopic = "usp/controller/twinfleet"
    public var controllerID = "self::twinfleet-controller"
    /// Where the devices' connection requests are served, and with which credentials the ACS
    /// must ask (TR-069's ConnectionRequestUsername/Password).
    public var connectionRequestHost = "127.0.0.1"
    public var connectionRequestPort = 0
    /// The host name in the connection-request URLs (``connectionRequestHost`` when nil).
    public var connectionRequestAdvertisedHost: String?
    public var connectionRequestUsername = "acs"
    public var connectionRequestPassword = "cr-dev-password"
    /// When set, each CPE's connection-request username is its device ID and its password is
    /// derived from it under this secret (the ACS's `CWMP_CR_CREDENTIAL_SECRET`); the shared
    /// username and password above are then unused.
    public var connectionRequestSecret: String?
    /// Periodic inform interval (USP: the ValueChange interval) and how much it varies (0.1 =
    /// ±10 %).
    public var informInterval: Duration = .seconds(300)
    public var jitter = 0.1
    /// All devices boot at once (a boot storm) instead of spreading their first contact over
    /// ``ramp``.
    public var bootStorm = false
    public var ramp: Duration = .seconds(10)
    /// At most this many CWMP sessions at a time (a NAT or a power cut gives the ACS more).
    public var maxConcurrentSessions = 64
    /// How long a reboot keeps a device away.
    public var rebootTime: Duration = .seconds(2)
    /// Share of devices that, at each interval, go offline for ``offlineTime`` and come back.
    public var flappingShare = 0.0
    public var offlineTime: Duration = .seconds(60)
    /// Shares of devices with each fault.
    public var firmwareFailureShare = 0.0
    public var rebootLoopShare = 0.0
    public var wifiDegradeShare = 0.0
    public var throughputDropShare = 0.0
    /// Share of devices whose LAN hosts come and go (see ``SimBehaviour/hostsChurn``).
    public var hostsChurnShare = 0.0
    /// How big the devices' data models are.
    public var modelSize = SimModelSize.full
    /// The firmware version devices start with.
    public var software = "1.0.0"
    /// The Broadband Forum data models (`../shared/specs/data-models`).
    public var dataModels = "../shared/specs/data-models"

    public enum Credentials: Sendable {
        case shared(username: String, password: String)
        case derived(secret: String)
    }

    public init() {}
}

/// Counters of a running fleet (also exported as metrics).
public struct FleetStatistics: Sendable, Hashable {
    public var sessionsSucceeded = 0
    public var sessionsFailed = 0
    public var connectionRequests = 0
    public var uspConnections = 0
    public var uspBoots = 0
    public var uspNotifications = 0
    public var uspFailures = 0
    public var firmwareInstalls = 0
    public var lastError: String?
}

/// Runs thousands of simulated devices: CWMP CPEs informing on their schedule (bootstrap,
/// periodic, value change, connection requests, transfers and reboots), and USP agents that
/// connect, boot, notify value changes and carry out commands. One ``ConnectionRequestServer``
/// serves every CPE's connection requests.
public final class Fleet: Sendable {
    public let configuration: FleetConfiguration
    public let cpes: [SimulatedCPE]
    public let agents: [SimulatedUSPAgent]
    public let connectionRequests: ConnectionRequestServer
    private let stats = NIOLockedValueBox(FleetStatistics())
    /// The inform interval and when it was last changed.
    private let currentInterval: InformIntervalClock
    private let sessionSlots: AsyncSlots
    private let client: HTTPClient
    private let logger: Logger
    private let mqttAgents: Set<String>
    private let sessionsTotal = Counter(label: "twinfleet_sim_sessions_total", dimensions: [("result", "ok")])
    private let sessionsFailedTotal = Counter(label: "twinfleet_sim_sessions_total", dimensions: [("result", "error")])
    private let sessionDuration = Metrics.Timer(label: "twinfleet_sim_session_duration_seconds", preferredDisplayUnit: .seconds)
    private let uspConnected = Meter(label: "twinfleet_sim_usp_connected")
    private let notificationsTotal = Counter(label: "twinfleet_sim_usp_notifications_total")

    /// Builds the devices (their data models from the Broadband Forum definitions).
    public init(configuration: FleetConfiguration, logger: Logger = Logger(label: "cpe-sim")) throws {
        self.configuration = configuration
        self.logger = logger
        currentInterval = InformIntervalClock(configuration.informInterval)
        var pool = HTTPClient.Configuration.ConnectionPool(idleTimeout: .seconds(30))
        pool.concurrentHTTP1ConnectionsPerHostSoftLimit = max(configuration.maxConcurrentSessions * 2, 16)
        client = HTTPClient(eventLoopGroupProvider: .shared(MultiThreadedEventLoopGroup.singleton),
                            configuration: HTTPClient.Configuration(connectionPool: pool))
        sessionSlots = AsyncSlots(configuration.maxConcurrentSessions)
        connectionRequests = ConnectionRequestServer(host: configuration.connectionRequestHost, port: configuration.connectionRequestPort,
                                                     advertisedHost: configuration.connectionRequestAdvertisedHost)
        let builder = try SimModelBuilder(dataModels: configuration.dataModels, size: configuration.modelSize)
        let derived: DerivedCredentials?
        if case .derived(let secret) = configuration.credentials { derived = try DerivedCredentials(secret: Array(secret.utf8)) } else { derived = nil }
        var cpes: [SimulatedCPE] = []
        for index in 0..<configuration.cwmpDevices {
            let serial = configuration.serialPrefix + String(format: "%07d", configuration.firstNumber + index)
            var random = SeededRandom(seed: serial)
            let kind: SimDeviceKind = random.chance(configuration.tr098Share) ? .tr098Gateway : .tr181Gateway
            let (username, password): (String, String)
            switch configuration.credentials {
            case .shared(let user, let secret): (username, password) = (user, secret)
            case .derived: (username, password) = (serial, derived?.password(for: serial) ?? "")
            }
            cpes.append(SimulatedCPE(
                serial: serial, oui: "00D09E", productClass: kind == .tr098Gateway ? "DSL" : "HGW", manufacturer: "Acme Networks",
                acsURL: configuration.acsURL, username: username, password: password,
                parameters: builder.device(kind: kind, serial: serial, software: configuration.software),
                factoryModel: { [software = configuration.software] in builder.device(kind: kind, serial: serial, software: software) },
                behaviour: Self.behaviour(&random, configuration), client: client))
        }
        var agents: [SimulatedUSPAgent] = []
        var mqtt: Set<String> = []
        for index in 0..<configuration.uspDevices {
            let serial = configuration.serialPrefix + "U" + String(format: "%07d", configuration.firstNumber + index)
            var random = SeededRandom(seed: serial)
            let endpoint = "os::" + serial
            if random.chance(configuration.mqttShare) { mqtt.insert(endpoint) }
            agents.append(SimulatedUSPAgent(
                endpointID: endpoint, controllerID: configuration.controllerID,
                model: builder.device(kind: .uspGateway, serial: serial, software: configuration.software),
                factoryModel: { [software = configuration.software] in builder.device(kind: .uspGateway, serial: serial, software: software) },
                rebootTime: configuration.rebootTime, behaviour: Self.behaviour(&random, configuration), client: client))
        }
        self.cpes = cpes
        self.agents = agents
        self.mqttAgents = mqtt
    }

    private static func behaviour(_ random: inout SeededRandom, _ configuration: FleetConfiguration) -> SimBehaviour {
        SimBehaviour(firmwareInstallFails: random.chance(configuration.firmwareFailureShare), rebootLoops: random.chance(configuration.rebootLoopShare),
                     wifiDegrades: random.chance(configuration.wifiDegradeShare), throughputDrops: random.chance(configuration.throughputDropShare),
                     hostsChurn: random.chance(configuration.hostsChurnShare))
    }

    /// The counters so far.
    public var statistics: FleetStatistics { stats.withLockedValue { $0 } }

    /// Runs every device until cancelled.
    public func run() async throws {
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await self.connectionRequests.run(logger: self.logger) }
            let crPort = await connectionRequests.port()
            let derivedCR = try configuration.connectionRequestSecret.map { try DerivedCredentials(secret: Array($0.utf8)) }
            for cpe in cpes {
                var (username, password) = (configuration.connectionRequestUsername, configuration.connectionRequestPassword)
                if let derivedCR {
                    username = await cpe.deviceID
                    password = derivedCR.password(for: username)
                }
                await connectionRequests.register(cpe, username: username, password: password, port: crPort)
                await cpe.setSessionRunner { [weak self] cpe, events in _ = await self?.runSession(cpe, events: events) }
            }
            logger.info("fleet starting", metadata: ["cwmp": "\(cpes.count)", "usp": "\(agents.count)", "connection-requests": "\(configuration.connectionRequestHost):\(crPort)"])
            let total = max(cpes.count + agents.count, 1)
            for (index, cpe) in cpes.enumerated() {
                let offset = startOffset(index, of: total)
                group.addTask { await self.cwmpLifecycle(cpe, startAfter: offset) }
            }
            for (index, agent) in agents.enumerated() {
                let offset = startOffset(cpes.count + index, of: total)
                group.addTask { await self.uspLifecycle(agent, startAfter: offset) }
            }
            try await group.next()
            group.cancelAll()
        }
    }

    /// Shuts down the HTTP client (after ``run()`` ended).
    public func shutdown() async {
        try? await client.shutdown()
    }

    private func startOffset(_ index: Int, of total: Int) -> Duration {
        configuration.bootStorm ? .zero : configuration.ramp * (Double(index) / Double(total))
    }

    /// Changes the inform interval of every device (the benchmark registers a fleet without
    /// periodic informs, then runs it at its steady rate); sleeping devices wake to it at once.
    public func setInformInterval(_ interval: Duration) { currentInterval.set(interval) }

    /// Sleeps one inform interval ± jitter; returns how long it slept. When the interval
    /// changes meanwhile, the device informs at a random point of the new interval (so a
    /// fleet does not inform all at once).
    private func sleepInterval() async throws -> Duration {
        let start = ContinuousClock.now
        let initial = currentInterval.current
        var seen = initial.changedAt
        var due = start + initial.interval * max(1 + Double.random(in: -configuration.jitter...configuration.jitter), 0.05)
        while true {
            let (interval, changedAt) = currentInterval.current
            if changedAt > seen {
                seen = changedAt
                due = changedAt + interval * Double.random(in: 0...1)
            }
            let now = ContinuousClock.now
            if now >= due { return now - start }
            // One wake-up per interval (or change), not a poll: 100,000 devices polling every
            // few seconds cost the simulator a good part of a core.
            try await currentInterval.sleep(until: due, unlessChangedAfter: seen)
        }
    }

    // MARK: CWMP

    private func cwmpLifecycle(_ cpe: SimulatedCPE, startAfter offset: Duration) async {
        do {
            try await Task.sleep(for: offset)
            // TR-069 3.2.1.1: a failed session is retried with the same events after a growing
            // wait (5 s, 10 s, 20 s, … up to 10 min, each up to 50 % longer at random).
            var attempt = 0
            while !Task.isCancelled, await !runSession(cpe, events: ["0 BOOTSTRAP", "1 BOOT"]) {
                attempt += 1
                try await Task.sleep(for: .seconds(min(5 * pow(2, Double(min(attempt - 1, 7))), 600) * Double.random(in: 1...1.5)))
            }
            while !Task.isCancelled {
                var waited = try await sleepInterval()
                if configuration.flappingShare > 0, Double.random(in: 0..<1) < configuration.flappingShare {
                    try await Task.sleep(for: configuration.offlineTime)
                    waited += configuration.offlineTime
                }
                await cpe.advance(seconds: Int(waited.components.seconds))
                await runSession(cpe, events: ["2 PERIODIC"])
            }
        } catch {
            return
        }
    }

    /// One session under the fleet's concurrency limit, then the sessions its follow-ups need
    /// (the reboot after a Reboot or a firmware install, the TransferComplete). False when
    /// the first session failed.
    @discardableResult
    func runSession(_ cpe: SimulatedCPE, events: [String]) async -> Bool {
        var next: [String]? = events
        var rounds = 0
        var first = true
        while let events = next, rounds < 10 {
            rounds += 1
            // A real CPE answers a connection request at once; the simulator's session limit is
            // its own, so those sessions go ahead of the periodic informs waiting for a slot.
            let requested = events.contains("6 CONNECTION REQUEST")
            if requested { stats.withLockedValue { $0.connectionRequests += 1 } }
            await sessionSlots.acquire(urgent: requested)
            let started = ContinuousClock.now
            do {
                try await cpe.session(events: events)
                sessionsTotal.increment()
                sessionDuration.recordNanoseconds((ContinuousClock.now - started).nanoseconds)
                stats.withLockedValue { $0.sessionsSucceeded += 1 }
            } catch {
                sessionsFailedTotal.increment()
                stats.withLockedValue {
                    $0.sessionsFailed += 1
                    $0.lastError = "\(cpe.serial): \(error)"
                }
                logger.debug("session failed", metadata: ["serial": "\(cpe.serial)", "error": "\(error)"])
                await sessionSlots.release()
                if first { return false }
                break
            }
            first = false
            await sessionSlots.release()
            next = await cpe.followUp(rebootTime: configuration.rebootTime)
        }
        return true
    }

    // MARK: USP

    private func uspLifecycle(_ agent: SimulatedUSPAgent, startAfter offset: Duration) async {
        do {
            try await Task.sleep(for: offset)
            try await connect(agent, boot: true)
            while !Task.isCancelled {
                let waited = try await sleepInterval()
                if configuration.flappingShare > 0, Double.random(in: 0..<1) < configuration.flappingShare {
                    await agent.disconnect()
                    uspConnected.decrement()
                    try await Task.sleep(for: configuration.offlineTime)
                    try await connect(agent, boot: false)
                    continue
                }
                // A rebooting agent reconnects by itself; a second connection would replace its
                // own (and the answers still on it).
                if await !agent.isConnected, await !agent.isRebooting {
                    try await connect(agent, boot: false)
                }
                let uptime = (Int(await agent.parameters["Device.DeviceInfo.UpTime"] ?? "0") ?? 0) + Int(waited.components.seconds)
                do {
                    try await agent.sendValueChange("Device.DeviceInfo.UpTime", String(uptime))
                    notificationsTotal.increment()
                    stats.withLockedValue { $0.uspNotifications += 1 }
                    if await agent.behaviour.hostsChurn {
                        try await agent.churnHosts()
                        notificationsTotal.increment()
                        stats.withLockedValue { $0.uspNotifications += 1 }
                    }
                } catch {
                    stats.withLockedValue { $0.uspFailures += 1; $0.lastError = "\(agent.endpointID): \(error)" }
                }
            }
        } catch {
            return
        }
    }

    private func connect(_ agent: SimulatedUSPAgent, boot: Bool) async throws {
        for attempt in 0..<1000 {
            do {
                if mqttAgents.contains(agent.endpointID) {
                    try await agent.connectMQTT(host: configuration.mqttHost, port: configuration.mqttPort, controllerTopic: configuration.mqttControllerTopic)
                } else {
                    try await agent.connect(url: configuration.uspURL)
                }
                break
            } catch {
                stats.withLockedValue { $0.uspFailures += 1; $0.lastError = "\(agent.endpointID): \(error)" }
                try await Task.sleep(for: .milliseconds(min(500 * (attempt + 1), 10_000)))
            }
        }
        uspConnected.increment()
        stats.withLockedValue { $0.uspConnections += 1 }
        guard boot else { return }
        // The controller creates its subscriptions on connect; Boot! goes on the Boot! one.
        let deadline = ContinuousClock.now + .seconds(10)
        while await agent.subscriptionID(notifType: "Event", containing: "Device.Boot!") == nil, ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(100))
        }
        _ = try? await agent.sendBoot(cause: "LocalReboot")
        stats.withLockedValue { $0.uspBoots += 1 }
    }
}

/// The fleet's inform interval, and a wake-up for every device sleeping on it when it changes.
public final class InformIntervalClock: Sendable {
    private struct State {
        var interval: Duration
        var changedAt: ContinuousClock.Instant
        var sleepers: [UInt64: CheckedContinuation<Void, Never>] = [:]
        /// Sleepers cancelled before they were registered (their timer won the race).
        var cancelled: Set<UInt64> = []
        var nextID: UInt64 = 0
    }

    private let state: NIOLockedValueBox<State>

    public init(_ interval: Duration) { state = NIOLockedValueBox(State(interval: interval, changedAt: .now)) }

    public var current: (interval: Duration, changedAt: ContinuousClock.Instant) { state.withLockedValue { ($0.interval, $0.changedAt) } }

    public func set(_ interval: Duration) {
        let woken = state.withLockedValue { state in
            state.interval = interval
            state.changedAt = .now
            defer { state.sleepers = [:] }
            return Array(state.sleepers.values)
        }
        for sleeper in woken { sleeper.resume() }
    }

    /// Returns at `deadline`, or earlier when the interval changes after `seen`.
    public func sleep(until deadline: ContinuousClock.Instant, unlessChangedAfter seen: ContinuousClock.Instant) async throws {
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await Task.sleep(until: deadline, clock: .continuous) }
            group.addTask { await self.change(after: seen) }
            defer { group.cancelAll() }
            try await group.next()
        }
    }

    private func change(after seen: ContinuousClock.Instant) async {
        let id = state.withLockedValue { state in
            state.nextID += 1
            return state.nextID
        }
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let now = state.withLockedValue { state -> Bool in
                    if state.changedAt > seen || state.cancelled.remove(id) != nil { return true }
                    state.sleepers[id] = continuation
                    return false
                }
                if now { continuation.resume() }
            }
        } onCancel: {
            let sleeper = state.withLockedValue { state in
                let sleeper = state.sleepers.removeValue(forKey: id)
                if sleeper == nil { state.cancelled.insert(id) }
                return sleeper
            }
            sleeper?.resume()
        }
    }
}

/// A counting semaphore for async code (the fleet's session limit; the API tests' limit on
/// concurrent harnesses). Urgent waiters are served before the others, each kind first come,
/// first served.
public actor AsyncSlots {
    private var free: Int
    private var waiters: [CheckedContinuation<Void, Never>] = []
    private var urgentWaiters: [CheckedContinuation<Void, Never>] = []

    public init(_ count: Int) { free = max(count, 1) }

    /// How many are waiting for a slot.
    public var waiting: Int { waiters.count + urgentWaiters.count }

    public func acquire(urgent: Bool = false) async {
        if free > 0 {
            free -= 1
            return
        }
        await withCheckedContinuation { continuation in
            if urgent { urgentWaiters.append(continuation) } else { waiters.append(continuation) }
        }
    }

    public func release() {
        if !urgentWaiters.isEmpty {
            urgentWaiters.removeFirst().resume()
        } else if !waiters.isEmpty {
            waiters.removeFirst().resume()
        } else {
            free += 1
        }
    }
}

extension Duration {
    var nanoseconds: Int64 {
        let (seconds, attoseconds) = components
        return seconds * 1_000_000_000 + attoseconds / 1_000_000_000
    }
}
