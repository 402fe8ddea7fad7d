import BusContracts
import Dispatcher
import Foundation
import Kafka
import NIOConcurrencyHelpers
import PostgresNIO
import ShardedPostgres
import Testing
import TestSupport
import Twin

/// Bulk operations on real PostgreSQL shards and the dev broker: a dry run against twins kept by
/// the real twin applier, then the fan-out at its rate, inside its window, with progress counters.
@Suite struct BulkOperationTests {
    static func event(_ device: String, _ fill: (inout Twinfleet_Bus_V1_DeviceEvent) -> Void) -> Twinfleet_Bus_V1_DeviceEvent {
        var event = Twinfleet_Bus_V1_DeviceEvent()
        event.eventID = UUID().uuidString
        event.deviceID = device
        event.tenantID = "default"
        event.protocol = .cwmp
        event.occurredAtUs = Date().unixMicroseconds
        event.sourceInstance = "cwmp-0"
        fill(&event)
        return event
    }

    static func setInterval(_ value: UInt32, id: String = "") -> Twinfleet_Bus_V1_Command {
        var command = Twinfleet_Bus_V1_Command()
        command.commandID = id
        var parameter = Twinfleet_Bus_V1_Parameter()
        parameter.path = "Device.ManagementServer.PeriodicInformInterval"
        parameter.value.unsignedIntValue = value
        command.setParameters.parameters = [parameter]
        return command
    }

    @Test func dryRunThenRateLimitedFanOutWithProgress() async throws {
        let environment = try TestEnvironment.current()
        let databases = try await TestDatabases.create(shards: 2, in: environment)
        let topics = TwinTopics(deviceEvents: TestEnvironment.unique("bulk-events"), commands: TestEnvironment.unique("bulk-commands"),
                                commandResults: TestEnvironment.unique("bulk-results"))
        for topic in topics.all { try await environment.createTopic(topic, partitions: environment.partitionCount) }
        let producer = try KafkaProducer(configuration: environment.kafka(), logger: TestEnvironment.logger)
        let logger = TestEnvironment.logger
        try await withShardedPostgres(databases, partitionCount: environment.partitionCount) { postgres in
            try await postgres.migrate(
                [PlatformMigrations.control, PlatformMigrations.shard, Outbox.migrations, TwinMigrations.shard, BulkMigrations.control], logger: logger)
            try await postgres.loadShardMap(logger: logger)
            let twins = TransactionalConsumer(
                options: .init(groupID: TestEnvironment.unique("bulk-twins"), topics: topics.all), kafka: environment.kafka(), postgres: postgres,
                handler: TwinApplier(topics: topics), deadLetters: DeadLetterPublisher(producer: producer), logger: logger)
            let tasks = [Task { try await twins.run() }]
            defer { tasks.forEach { $0.cancel() } }

            // 30 twins: 20 on 1.0, 10 on 2.0; every one but the second reports the interval.
            let prefix = "00D09E-BULK-\(UUID().uuidString.prefix(6))"
            let devices = (0..<30).map { "\(prefix)-\(String(format: "%02d", $0))" }
            var records: [OutgoingRecord] = []
            for (index, device) in devices.enumerated() {
                let inform = Self.event(device) { event in
                    event.inform.device.oui = "00D09E"
                    event.inform.device.serialNumber = device
                    event.inform.device.softwareVersion = index < 20 ? "1.0" : "2.0"
                }
                records.append(OutgoingRecord(topic: topics.deviceEvents, key: device, value: try inform.serializedBytes()))
                if index != 1 {
                    let report = Self.event(device) { event in
                        var parameter = Twinfleet_Bus_V1_Parameter()
                        parameter.path = "Device.ManagementServer.PeriodicInformInterval"
                        parameter.value.unsignedIntValue = 3600
                        event.parameterReport.parameters = [parameter]
                    }
                    records.append(OutgoingRecord(topic: topics.deviceEvents, key: device, value: try report.serializedBytes()))
                }
            }
            _ = try await producer.sendAll(records)
            // The first device already has a Set queued by someone else.
            var pending = Self.setInterval(900, id: "pending-\(prefix)")
            pending.deviceID = devices[0]
            pending.createdAtUs = Date().unixMicroseconds
            var envelope = Twinfleet_Bus_V1_CommandEnvelope()
            envelope.requested.command = pending
            let loaded = await eventually(timeout: .seconds(60)) {
                (try? await sumOverShards(postgres, "SELECT count(*)::int FROM parameters WHERE path = 'Device.ManagementServer.PeriodicInformInterval'")) == 29
            }
            #expect(loaded)
            _ = try await producer.send(OutgoingRecord(topic: topics.commands, key: devices[0], value: try envelope.serializedBytes()))
            let desired = await eventually(timeout: .seconds(30)) {
                (try? await sumOverShards(postgres, "SELECT count(*)::int FROM parameters WHERE desired_value = '900'")) == 1
            }
            #expect(desired)

            // Dry run: the 20 devices on 1.0, their values, two conflicts.
            let query = "softwareVersion = \"1.0\""
            let plan = try await BulkPlanner(postgres: postgres).dryRun(query: query, template: Self.setInterval(600), limit: 50, logger: logger)
            #expect(plan.matched == 20)
            #expect(plan.items.count == 20)
            #expect(Set(plan.items.map(\.deviceID)) == Set(devices.prefix(20)))
            let first = try #require(plan.items.first { $0.deviceID == devices[0] })
            #expect(first.changes.first?.current == "3600")
            #expect(first.changes.first?.pendingCommandID == "pending-\(prefix)")
            #expect(first.conflicts.count == 1)
            let second = try #require(plan.items.first { $0.deviceID == devices[1] })
            #expect(second.changes.first?.current == nil)
            #expect(second.conflicts == ["Device.ManagementServer.PeriodicInformInterval is not in the twin"])
            #expect(plan.items.filter { $0.conflicts.isEmpty }.count == 18)
            #expect(plan.items.allSatisfy { !$0.unchanged })

            // Start it at 10 commands/s; a second one whose window is closed queues nothing.
            let store = BulkStore(postgres: postgres)
            let operation = try await store.create(
                BulkOperation(id: UUID().uuidString.lowercased(), tenantID: "default", query: query, template: Self.setInterval(600), ratePerSecond: 10),
                logger: logger)
            #expect(operation.matched == 20)
            let minute = Int(Date().timeIntervalSince1970 / 60) % 1440
            let closed = MaintenanceWindow(startMinute: minute + 120, endMinute: minute + 180)
            let waiting = try await store.create(
                BulkOperation(id: UUID().uuidString.lowercased(), tenantID: "default", query: query, template: Self.setInterval(601), ratePerSecond: 100, window: closed),
                logger: logger)
            let runner = BulkRunner(postgres: postgres, producer: producer, commandsTopic: topics.commands, interval: .milliseconds(100), logger: logger)
            let runnerTask = Task { try await runner.run() }
            defer { runnerTask.cancel() }

            let done = await eventually(timeout: .seconds(30)) { (try? await store.load(operation.id, logger: logger))?.state == .completed }
            #expect(done)
            let finished = try #require(try await store.load(operation.id, logger: logger))
            #expect(finished.queued == 20)
            // The twin sees every command, correlated to the operation.
            let tracked = await eventually(timeout: .seconds(30)) {
                (try? await store.progress(operation.id, logger: logger))?["queued"] == 20
            }
            #expect(tracked)
            // Paced: 20 commands at 10/s span well over a second.
            var created: [Date] = []
            for shard in postgres.shards {
                let rows = try await shard.query("SELECT created_at FROM device_commands WHERE bulk_operation_id = \(operation.id)", logger: logger)
                for try await date in rows.decode(Date.self) { created.append(date) }
            }
            #expect(created.count == 20)
            if let earliest = created.min(), let latest = created.max() {
                #expect(latest.timeIntervalSince(earliest) >= 1.0, "\(latest.timeIntervalSince(earliest)) s")
            }
            let held = try #require(try await store.load(waiting.id, logger: logger))
            #expect(held.state == .running)
            #expect(held.queued == 0)
            try await store.cancel(waiting.id, logger: logger)
            #expect(try await store.load(waiting.id, logger: logger)?.state == .cancelled)
        }
        await producer.shutdown()
    }

    @Test func maintenanceWindowsWrapMidnight() throws {
        let night = try #require(MaintenanceWindow(parsing: "22:00-04:00"))
        let day = Date(timeIntervalSince1970: TimeInterval(1_800_000_000 - 1_800_000_000 % 86_400))
        #expect(night.contains(day.addingTimeInterval(23 * 3600)))
        #expect(night.contains(day.addingTimeInterval(3 * 3600 + 59 * 60)))
        #expect(!night.contains(day.addingTimeInterval(4 * 3600)))
        #expect(!night.contains(day.addingTimeInterval(12 * 3600)))
        #expect(MaintenanceWindow(parsing: "25:00-01:00") == nil)
        #expect(night.description == "22:00-04:00")
    }
}
