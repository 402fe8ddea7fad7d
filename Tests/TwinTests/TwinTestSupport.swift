import BusContracts
import Foundation
import Kafka
import ShardedPostgres
import SwiftProtobuf
import TestSupport
import Twin
import TwinfleetModel

/// Builds device events as the ingresses will.
enum Events {
    static func envelope(_ device: String, at time: Date, _ fill: (inout Twinfleet_Bus_V1_DeviceEvent) -> Void) -> Twinfleet_Bus_V1_DeviceEvent {
        var event = Twinfleet_Bus_V1_DeviceEvent()
        event.eventID = UUID().uuidString
        event.deviceID = device
        event.tenantID = "tenant-a"
        event.protocol = .cwmp
        event.occurredAtUs = time.unixMicroseconds
        event.sourceInstance = "cwmp-0"
        fill(&event)
        return event
    }

    static func parameter(_ path: String, _ value: ParameterValue, writable: Bool? = nil) -> Twinfleet_Bus_V1_Parameter {
        Twinfleet_Bus_V1_Parameter(Parameter(path: try! ParameterPath(validating: path), value: value, writable: writable))
    }

    static func inform(_ device: String, at time: Date, software: String, parameters: [Twinfleet_Bus_V1_Parameter] = []) -> Twinfleet_Bus_V1_DeviceEvent {
        envelope(device, at: time) { event in
            var inform = Twinfleet_Bus_V1_Inform()
            inform.device.oui = "00D09E"
            inform.device.productClass = "HGW"
            inform.device.serialNumber = device
            inform.device.manufacturer = "Acme"
            inform.device.softwareVersion = software
            var code = Twinfleet_Bus_V1_InformEvent()
            code.code = "1 BOOT"
            inform.events = [code]
            inform.parameters = parameters
            event.inform = inform
        }
    }

    static func report(_ device: String, at time: Date, root: String? = nil, reportID: String = "", final: Bool = true, _ parameters: [Twinfleet_Bus_V1_Parameter]) -> Twinfleet_Bus_V1_DeviceEvent {
        envelope(device, at: time) { event in
            var report = Twinfleet_Bus_V1_ParameterReport()
            report.parameters = parameters
            if let root { report.fullSyncRoot = root }
            report.reportID = reportID
            report.finalChunk = final
            event.parameterReport = report
        }
    }

    static func valueChange(_ device: String, at time: Date, _ parameters: [Twinfleet_Bus_V1_Parameter]) -> Twinfleet_Bus_V1_DeviceEvent {
        envelope(device, at: time) { event in
            var change = Twinfleet_Bus_V1_ValueChange()
            change.parameters = parameters
            event.valueChange = change
        }
    }

    static func presence(_ device: String, at time: Date, _ kind: Twinfleet_Bus_V1_Presence.Kind, instance: String) -> Twinfleet_Bus_V1_DeviceEvent {
        envelope(device, at: time) { event in
            var presence = Twinfleet_Bus_V1_Presence()
            presence.kind = kind
            presence.instanceID = instance
            event.presence = presence
        }
    }

    static func record(_ event: Twinfleet_Bus_V1_DeviceEvent, topic: String) -> OutgoingRecord {
        OutgoingRecord(topic: topic, key: event.deviceID, value: try! event.serializedBytes())
    }
}

/// A twin-store consumer running in this process against test databases.
struct TwinHarness {
    let environment: TestEnvironment
    let topics: TwinTopics
    let partitions: Int32
    let databases: TestDatabases

    /// The device-events topic.
    var topic: String { topics.deviceEvents }

    static func make(partitions: Int32 = 4) async throws -> TwinHarness {
        let environment = try TestEnvironment.current()
        let topics = TwinTopics(
            deviceEvents: TestEnvironment.unique("twin-events"), commands: TestEnvironment.unique("twin-commands"),
            commandResults: TestEnvironment.unique("twin-results"))
        for topic in topics.all { try await environment.createTopic(topic, partitions: partitions) }
        let databases = try await TestDatabases.create(shards: 2, in: environment)
        return TwinHarness(environment: environment, topics: topics, partitions: partitions, databases: databases)
    }

    /// Runs `body` while a twin-store consumer (group `group`) applies the topic.
    func run<T: Sendable>(group: String = TestEnvironment.unique("twin"), _ body: (ShardedPostgres, TwinReader, KafkaProducer) async throws -> T) async throws -> T {
        let producer = try KafkaProducer(configuration: environment.kafka(), logger: TestEnvironment.logger)
        let result = try await withShardedPostgres(databases, partitionCount: partitions) { postgres in
            try await postgres.migrate(
                [PlatformMigrations.control, PlatformMigrations.shard, Outbox.migrations, TwinMigrations.shard], logger: TestEnvironment.logger)
            try await postgres.loadShardMap(logger: TestEnvironment.logger)
            let consumer = TransactionalConsumer(
                options: .init(groupID: group, topics: topics.all), kafka: environment.kafka(), postgres: postgres,
                handler: TwinApplier(topics: topics), deadLetters: DeadLetterPublisher(producer: producer), logger: TestEnvironment.logger)
            let relay = OutboxRelay(postgres: postgres, producer: producer, logger: TestEnvironment.logger)
            let tasks = [Task { try await consumer.run() }, Task { try await relay.run() }]
            defer { tasks.forEach { $0.cancel() } }
            return try await body(postgres, TwinReader(postgres: postgres), producer)
        }
        await producer.shutdown()
        return result
    }
}
