import BusContracts
import Kafka
import Logging
import ServiceLifecycle
import ServiceRuntime
import ShardedPostgres
import Twin
import TwinfleetConfig

extension ConfigKey {
    static let twinStoreGroup = ConfigKey("twinstore.group", default: "twin-store", "twin-store: consumer group (also the key of its stored offsets)")
    static let twinStoreBatchSize = ConfigKey("twinstore.batch-size", default: "500", "twin-store: most records applied per transaction")
    static let twinStoreRetentionDays = ConfigKey("twinstore.history-retention-days", default: "90", "twin-store: days of parameter history kept (daily partitions older than this are dropped)")
    static let twinStoreTopic = ConfigKey("twinstore.events-topic", default: Topic.deviceEvents, "twin-store: topic of device events (changed only by tests)")
    static let twinStoreCommandsTopic = ConfigKey("twinstore.commands-topic", default: Topic.commands, "twin-store: topic of commands (changed only by tests)")
    static let twinStoreResultsTopic = ConfigKey("twinstore.results-topic", default: Topic.commandResults, "twin-store: topic of command results (changed only by tests)")
    static let twinStoreKeys: [ConfigKey] = [.twinStoreGroup, .twinStoreBatchSize, .twinStoreRetentionDays, .twinStoreTopic, .twinStoreCommandsTopic, .twinStoreResultsTopic]
}

/// twin-store: applies device events, commands (desired values) and command results to the twins on the PostgreSQL shards exactly once and
/// publishes twin changes through the outbox.
@main
struct TwinStore {
    static func main() async throws {
        let boot = ServiceBootstrap.start(service: "twinfleet-twin-store")
        let partitions = boot.require { Int32(try $0.int(.kafkaPartitions, in: 1...10_000)) }
        let databases = boot.require { try ShardedPostgresConfiguration(config: $0) }
        let kafka = boot.require { try KafkaConfiguration(config: $0, clientID: "twin-store-\(boot.runtime.instanceID)") }
        let group = boot.require { try $0.string(.twinStoreGroup) }
        let batchSize = boot.require { try $0.int(.twinStoreBatchSize, in: 1...10_000) }
        let retention = boot.require { try $0.int(.twinStoreRetentionDays, in: 1...3650) }
        let topics = boot.require {
            TwinTopics(deviceEvents: try $0.string(.twinStoreTopic), commands: try $0.string(.twinStoreCommandsTopic),
                       commandResults: try $0.string(.twinStoreResultsTopic))
        }

        let postgres = try ShardedPostgres(configuration: databases, partitionCount: partitions, backgroundLogger: boot.logger)
        let producer = try KafkaProducer(configuration: kafka, logger: boot.logger)
        var options = TransactionalConsumer<TwinApplier>.Options(groupID: group, topics: topics.all)
        options.maxBatchSize = batchSize
        let consumer = TransactionalConsumer(
            options: options, kafka: kafka, postgres: postgres, handler: TwinApplier(topics: topics),
            deadLetters: DeadLetterPublisher(producer: producer), logger: boot.logger)
        let worker = TwinStoreWorker(
            postgres: postgres, consumer: consumer, relay: OutboxRelay(postgres: postgres, producer: producer, logger: boot.logger),
            maintenance: HistoryMaintenance(postgres: postgres, retentionDays: retention, logger: boot.logger),
            health: boot.health, logger: boot.logger)
        boot.health.register("twin-store")
        let server = OperationsServer.application(runtime: boot.runtime, health: boot.health, registry: boot.registry, logger: boot.logger)
        try await boot.run([postgres, producer, worker, server])
    }
}

/// Migrates, loads the shard map, then runs the consumer, the outbox relay and history
/// maintenance until shutdown.
struct TwinStoreWorker: Service {
    let postgres: ShardedPostgres
    let consumer: TransactionalConsumer<TwinApplier>
    let relay: OutboxRelay
    let maintenance: HistoryMaintenance
    let health: HealthState
    let logger: Logger

    func run() async throws {
        try await postgres.migrate(
            [PlatformMigrations.control, PlatformMigrations.shard, Outbox.migrations, TwinMigrations.shard], logger: logger)
        try await postgres.loadShardMap(logger: logger)
        health.set("twin-store", ready: true)
        try await withThrowingDiscardingTaskGroup { group in
            group.addTask { try await consumer.run() }
            group.addTask { try await relay.run() }
            group.addTask { try await maintenance.run() }
        }
    }
}
