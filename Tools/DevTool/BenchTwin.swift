import ArgumentParser
import BusContracts
import DataModel
import Foundation
import Kafka
import Logging
import NIOConcurrencyHelpers
import PostgresNIO
import ShardedPostgres
import Twin
import TwinfleetModel

/// The twin-store apply benchmark: realistic full-sync reports (parameters taken from the TR-181
/// definitions) applied through the real `TwinApplier`, next to raw COPY of the same rows.
struct BenchTwin: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "bench-twin", abstract: "Twin apply benchmark (prints a Markdown table).")

    @Option(help: "Devices.") var devices = 1000
    @Option(help: "Parameters per device (taken from TR-181 in document order).") var parameters = 300
    @Option(help: "Dev broker URL to create the topic.") var devKafkaURL: String
    @Option(help: "Folder with the Broadband Forum data models.") var specs = "../shared/specs/data-models"
    @Option(help: "Batch size of the transactional consumer.") var batch = 20
    @Option(help: "Batch size for the periodic sessions (the twin-store's default).") var sessionBatch = 500

    func run() async throws {
        let environment = ToolEnvironment()
        let partitions = try environment.partitionCount
        let schema = try DataModelSchema.load(directory: specs)
        // Concrete paths for the first N TR-181 parameters (instance 1 for every table).
        let definitions = schema.parameters(under: "Device.", protocol: .cwmp).prefix(parameters)
        let template: [(String, ParameterType)] = definitions.map { definition in
            (definition.path.replacingOccurrences(of: "{i}", with: "1"), definition.syntax.value.type)
        }
        let topic = "bench.twin.\(UUID().uuidString.prefix(8).lowercased())"
        try await createDevTopic(topic, partitions: partitions, url: devKafkaURL)
        let (postgres, poolTask) = try await environment.postgres(extra: [Outbox.migrations, TwinMigrations.shard])
        for shard in postgres.shards {
            try await shard.query("CREATE TABLE IF NOT EXISTS parameters_copy (LIKE parameters INCLUDING ALL)", logger: environment.logger)
            try await shard.query("TRUNCATE parameters_copy, parameters, parameter_history, devices CASCADE", logger: environment.logger)
        }
        let producer = try KafkaProducer(configuration: try environment.kafka(), logger: environment.logger)
        func reports(round: Int) -> [OutgoingRecord] {
            (0..<devices).map { index in
                var event = Twinfleet_Bus_V1_DeviceEvent()
                event.deviceID = Self.deviceID(index)
                event.eventID = "\(event.deviceID)-\(round)"
                event.occurredAtUs = Date().unixMicroseconds
                event.parameterReport.fullSyncRoot = "Device."
                event.parameterReport.reportID = event.eventID
                event.parameterReport.finalChunk = true
                event.parameterReport.parameters = template.enumerated().map { position, item in
                    var parameter = Twinfleet_Bus_V1_Parameter()
                    parameter.path = item.0
                    parameter.value = Twinfleet_Bus_V1_ParameterValue(Self.sample(item.1, round: Self.valueRound(round, position), index: index))
                    return parameter
                }
                return OutgoingRecord(topic: topic, key: event.deviceID, value: try! event.serializedBytes())
            }
        }
        /// Sends `records` and applies them through the real applier (the group resumes where the
        /// previous round stopped); returns the records applied after the first batch and the
        /// seconds from the end of that batch to the end of the last.
        func apply(_ records: [OutgoingRecord], batch: Int) async throws -> (records: Int, seconds: Double) {
            _ = try await producer.sendAll(records)
            let state = NIOLockedValueBox<(count: Int, first: ContinuousClock.Instant?, last: ContinuousClock.Instant?)>((0, nil, nil))
            var options = TransactionalConsumer<CountingApplier>.Options(groupID: "bench-twin-\(topic)", topics: [topic])
            options.maxBatchSize = batch
            let consumer = TransactionalConsumer(
                options: options, kafka: try environment.kafka(), postgres: postgres, handler: CountingApplier(state: state, applier: TwinApplier(topics: TwinTopics(deviceEvents: topic))),
                deadLetters: DeadLetterPublisher(producer: producer), logger: environment.logger)
            let task = Task { try await consumer.run() }
            while state.withLockedValue({ $0.count }) < records.count { try await Task.sleep(for: .milliseconds(20)) }
            task.cancel()
            _ = try? await task.value
            let (count, first, last) = state.withLockedValue { ($0.count, $0.first!, $0.last!) }
            return (count - min(batch, count), seconds(last - first))
        }
        var figures: [(String, Double)] = []
        for round in 0..<Self.rounds.count {
            let (applied, elapsed) = try await apply(reports(round: round), batch: batch)
            figures.append((Self.rounds[round], Double(applied * template.count) / elapsed))
        }
        // Reference: COPY the same number of parameter rows into an identical table.
        let map = postgres.shardMap
        var byShard: [Int: [String]] = [:]
        for index in 0..<devices {
            let device = Self.deviceID(index)
            let partition = map.partition(forDevice: device)
            for (path, type) in template {
                byShard[map.shard(forPartition: partition), default: []].append(
                    "\(device)\t\(path)\t\(partition)\t\(Self.sample(type, round: 2, index: index).wireString.replacingOccurrences(of: "\t", with: " "))\t\(type.rawValue)\t2026-11-23T00:00:00Z")
            }
        }
        let rowCount = byShard.values.reduce(0) { $0 + $1.count }
        let copyStart = ContinuousClock.now
        try await copyPerShard(postgres, table: "parameters_copy", columns: ["device_id", "path", "partition", "value", "value_type", "value_since"], linesByShard: byShard, logger: environment.logger)
        let copyRate = Double(rowCount) / seconds(ContinuousClock.now - copyStart)
        var history = 0
        for shard in postgres.shards {
            for try await n in try await shard.query("SELECT count(*)::int FROM parameter_history", logger: environment.logger).decode(Int.self) { history += n }
        }
        // One history row per value that differs from the one before it.
        var expectedHistory = 0
        for index in 0..<devices {
            for (position, item) in template.enumerated() {
                for round in 1..<Self.rounds.count
                where Self.sample(item.1, round: Self.valueRound(round, position), index: index) != Self.sample(item.1, round: Self.valueRound(round - 1, position), index: index) {
                    expectedHistory += 1
                }
            }
        }
        // Periodic CWMP sessions against the twins the rounds built: an Inform with the forced
        // parameters (UpTime changed), its sessionOpened presence and, 50 devices later in the
        // stream, its sessionClosed, which is how the ingress's events interleave on the topic.
        // The first pass adds the Inform paths the twins lack; the next four are measured.
        var sessionEvents = 0, sessionSeconds = 0.0
        for pass in 0..<5 {
            let (applied, elapsed) = try await apply(Self.sessionEvents(devices: devices, pass: pass, topic: topic), batch: sessionBatch)
            if pass > 0 { sessionEvents += applied; sessionSeconds += elapsed }
        }
        let sessionRate = Double(sessionEvents) / 3 / sessionSeconds
        await producer.shutdown()
        poolTask.cancel()
        print("""
            Twin apply benchmark — \(devices) devices × \(template.count) TR-181 parameters, \(partitions) partitions, \(postgres.shards.count) shards, batch \(batch) reports

            | measure | parameter updates/s | ratio to COPY |
            |---|---:|---:|
            \(figures.map { "| \($0.0) | \(Int($0.1)) | \(String(format: "%.2f", $0.1 / copyRate)) |" }.joined(separator: "\n"))
            | raw COPY of the same rows into an identical table with the same indexes (reference) | \(Int(copyRate)) | 1.00 |

            history rows written: \(history) (expected \(expectedHistory))

            periodic CWMP sessions applied (Inform with 7 values, UpTime changed; sessionOpened; sessionClosed), batch \(sessionBatch) records: \(Int(sessionRate)) sessions/s (\(Int(sessionRate * 3)) events/s)
            """)
    }

    /// The events of one periodic session per device, in the order an ingress publishes them
    /// when sessions overlap: each device's Inform and sessionOpened together, its
    /// sessionClosed after 50 other devices' Informs.
    static func sessionEvents(devices: Int, pass: Int, topic: String) -> [OutgoingRecord] {
        let lag = 50
        func event(_ index: Int, _ kind: String, _ body: Twinfleet_Bus_V1_DeviceEvent.OneOf_Body) -> OutgoingRecord {
            var event = Twinfleet_Bus_V1_DeviceEvent()
            event.deviceID = Self.deviceID(index)
            event.eventID = "\(event.deviceID)-session-\(pass)-\(kind)"
            event.occurredAtUs = Date().unixMicroseconds
            event.protocol = .cwmp
            event.sourceInstance = "bench"
            event.body = body
            return OutgoingRecord(topic: topic, key: event.deviceID, value: try! event.serializedBytes())
        }
        func inform(_ index: Int) -> OutgoingRecord {
            var inform = Twinfleet_Bus_V1_Inform()
            inform.device.oui = "00D09E"
            inform.device.productClass = "BENCH"
            inform.device.serialNumber = String(format: "%06d", index)
            inform.device.softwareVersion = "1.0.0"
            var code = Twinfleet_Bus_V1_InformEvent()
            code.code = "2 PERIODIC"
            inform.events = [code]
            let values: [(String, ParameterValue)] = [
                ("Device.DeviceInfo.HardwareVersion", .string("HW-1")), ("Device.DeviceInfo.SoftwareVersion", .string("1.0.0")),
                ("Device.DeviceInfo.ModelName", .string("Bench")), ("Device.DeviceInfo.ProvisioningCode", .string("")),
                ("Device.DeviceInfo.UpTime", .unsignedInt(UInt32(pass * 300 + index))),
                ("Device.ManagementServer.ConnectionRequestURL", .string("http://10.0.\(index / 250).\(index % 250):7547/")),
                ("Device.ManagementServer.ParameterKey", .string("")),
            ]
            inform.parameters = values.map { path, value in
                var parameter = Twinfleet_Bus_V1_Parameter()
                parameter.path = path
                parameter.value = Twinfleet_Bus_V1_ParameterValue(value)
                return parameter
            }
            return event(index, "inform", .inform(inform))
        }
        func presence(_ index: Int, _ kind: Twinfleet_Bus_V1_Presence.Kind) -> OutgoingRecord {
            var presence = Twinfleet_Bus_V1_Presence()
            presence.kind = kind
            presence.instanceID = "bench"
            return event(index, kind == .sessionOpened ? "opened" : "closed", .presence(presence))
        }
        var records: [OutgoingRecord] = []
        for index in 0..<(devices + lag) {
            if index < devices { records += [inform(index), presence(index, .sessionOpened)] }
            if index >= lag { records.append(presence(index - lag, .sessionClosed)) }
        }
        return records
    }

    /// The benchmark's device with number `index`.
    static func deviceID(_ index: Int) -> String { String(format: "00D09E-BENCH-%06d", index) }

    /// What each round sends: all paths new, then a resync where every tenth value changed,
    /// then one where every value changed.
    static let rounds = [
        "full sync of new twins (every parameter new: no history row)",
        "full resync, every tenth value changed (history row for each change)",
        "full resync, every value changed (history row each)",
    ]

    /// The round whose value a parameter carries: round 1 changes every tenth parameter only.
    static func valueRound(_ round: Int, _ position: Int) -> Int {
        round == 1 && position % 10 != 0 ? 0 : round
    }

    /// A value of the right type that differs per round and device.
    static func sample(_ type: ParameterType, round: Int, index: Int) -> ParameterValue {
        switch type {
        case .string: .string("value-\(round)-\(index)")
        case .int: .int(Int32(round * 1000 + index % 1000))
        case .unsignedInt: .unsignedInt(UInt32(round * 1000 + index % 1000))
        case .long: .long(Int64(round * 1000 + index))
        case .unsignedLong: .unsignedLong(UInt64(round * 1000 + index))
        case .boolean: .boolean(round % 2 == 0)
        case .dateTime: .dateTime(Date(timeIntervalSince1970: Double(1_795_000_000 + round * 1000 + index)))
        case .base64: .base64(Data("r\(round)".utf8))
        case .hexBinary: .hexBinary(Data([UInt8(round), UInt8(index % 256)]))
        case .decimal: .decimal("\(round).\(index % 100)")
        }
    }
}

/// The real applier, counting applied reports for the benchmark.
struct CountingApplier: TransactionalHandler {
    let state: NIOLockedValueBox<(count: Int, first: ContinuousClock.Instant?, last: ContinuousClock.Instant?)>
    let applier: TwinApplier

    func apply(_ records: [ConsumedRecord], shard: Int, connection: PostgresConnection, logger: Logger) async throws {
        try await applier.apply(records, shard: shard, connection: connection, logger: logger)
        let now = ContinuousClock.now
        state.withLockedValue { state in
            state.count += records.count
            if state.first == nil { state.first = now }
            state.last = now
        }
    }
}

/// Creates a topic through the dev broker's admin endpoint (curl keeps HTTP clients out of the tool).
func createDevTopic(_ topic: String, partitions: Int32, url: String) async throws {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/curl")
    process.arguments = ["-fsS", "-X", "POST", "-H", "content-type: application/json",
                         "--data", "{\"name\":\"\(topic)\",\"partitions\":\(partitions)}", "\(url)/topics"]
    process.standardOutput = FileHandle.nullDevice
    try process.run()
    process.waitUntilExit()
    guard process.terminationStatus == 0 else { throw ValidationError("could not create \(topic) on the dev broker") }
}
