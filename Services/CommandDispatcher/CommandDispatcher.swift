import BusContracts
import Dispatcher
import Kafka
import Logging
import ServiceLifecycle
import ServiceRuntime
import ShardedPostgres
import TwinfleetConfig

extension ConfigKey {
    static let dispatcherGroup = ConfigKey("dispatcher.group", default: "command-dispatcher", "command-dispatcher: consumer group (also the key of its stored offsets)")
    static let dispatcherBatchSize = ConfigKey("dispatcher.batch-size", default: "500", "command-dispatcher: most records applied per transaction")
    static let dispatcherMaxFailures = ConfigKey("dispatcher.max-failures", default: "5", "command-dispatcher: retriable failures after which a command fails for good")
    static let dispatcherMaxDispatches = ConfigKey("dispatcher.max-dispatches", default: "20", "command-dispatcher: deliveries after which a command that keeps coming back undelivered fails")
    static let dispatcherRetryBaseSeconds = ConfigKey("dispatcher.retry-base-seconds", default: "30", "command-dispatcher: backoff after the first retriable failure, doubled per failure")
    static let dispatcherRetryCapSeconds = ConfigKey("dispatcher.retry-cap-seconds", default: "3600", "command-dispatcher: longest backoff between retries")
    static let dispatcherDeliveryTimeoutSeconds = ConfigKey("dispatcher.delivery-timeout-seconds", default: "600", "command-dispatcher: a delivery the ingress never answered goes back to the queue after this long")
    static let dispatcherOrphanGraceSeconds = ConfigKey("dispatcher.orphan-grace-seconds", default: "30", "command-dispatcher: a command whose session ended before its result was read goes back to the queue after this long")
    static let dispatcherInProgressTimeoutHours = ConfigKey("dispatcher.in-progress-timeout-hours", default: "24", "command-dispatcher: a command the device reported in progress (a Download) that never completes fails after this long")
    static let dispatcherCRBaseSeconds = ConfigKey("dispatcher.connection-request-base-seconds", default: "30", "command-dispatcher: wait after a connection request before asking again, doubled per request")
    static let dispatcherCRCapSeconds = ConfigKey("dispatcher.connection-request-cap-seconds", default: "900", "command-dispatcher: longest wait between connection requests")
    static let dispatcherRefreshHours = ConfigKey("dispatcher.refresh-interval-hours", default: "168", "command-dispatcher: re-read a device's whole data model when its last full sync is older than this (0: only new and factory-reset devices)")
    static let dispatcherTickMs = ConfigKey("dispatcher.tick-ms", default: "500", "command-dispatcher: how often the clock looks for expiries, retries and connection requests due")
    static let dispatcherRetentionDays = ConfigKey("dispatcher.retention-days", default: "30", "command-dispatcher: days final commands (and their idempotency keys) are kept")
    static let dispatcherEventsTopic = ConfigKey("dispatcher.events-topic", default: Topic.deviceEvents, "command-dispatcher: topic of device events (changed only by tests)")
    static let dispatcherCommandsTopic = ConfigKey("dispatcher.commands-topic", default: Topic.commands, "command-dispatcher: topic of commands (changed only by tests)")
    static let dispatcherResultsTopic = ConfigKey("dispatcher.results-topic", default: Topic.commandResults, "command-dispatcher: topic of command results (changed only by tests)")
    static let dispatcherKeys: [ConfigKey] = [
        .dispatcherGroup, .dispatcherBatchSize, .dispatcherMaxFailures, .dispatcherMaxDispatches, .dispatcherRetryBaseSeconds,
        .dispatcherRetryCapSeconds, .dispatcherDeliveryTimeoutSeconds, .dispatcherOrphanGraceSeconds, .dispatcherInProgressTimeoutHours, .dispatcherCRBaseSeconds, .dispatcherCRCapSeconds,
        .dispatcherRefreshHours, .dispatcherTickMs, .dispatcherRetentionDays, .dispatcherEventsTopic, .dispatcherCommandsTopic,
        .dispatcherResultsTopic,
    ]
}

/// command-dispatcher: the per-device command queue on the shards. Consumes commands, device
/// events (presence, Informs) and command results with the transactional consumer; plans CWMP
/// sessions, delivers to USP connections, asks for connection requests, retries, expires; and
/// fans bulk operations out into per-device commands.
@main
struct CommandDispatcher {
    static func main() async throws {
        let boot = ServiceBootstrap.start(service: "twinfleet-command-dispatcher")
        let partitions = boot.require { Int32(try $0.int(.kafkaPartitions, in: 1...10_000)) }
        let databases = boot.require { try ShardedPostgresConfiguration(config: $0) }
        let kafka = boot.require { try KafkaConfiguration(config: $0, clientID: "command-dispatcher-\(boot.runtime.instanceID)") }
        let group = boot.require { try $0.string(.dispatcherGroup) }
        let batchSize = boot.require { try $0.int(.dispatcherBatchSize, in: 1...10_000) }
        let policy = boot.require { config in
            let refreshHours = try config.int(.dispatcherRefreshHours, in: 0...87_600)
            return DispatchPolicy(
                maxFailures: try config.int(.dispatcherMaxFailures, in: 1...1000),
                maxDispatches: try config.int(.dispatcherMaxDispatches, in: 1...1000),
                retryBase: .seconds(try config.int(.dispatcherRetryBaseSeconds, in: 0...86_400)),
                retryCap: .seconds(try config.int(.dispatcherRetryCapSeconds, in: 0...604_800)),
                deliveryTimeout: .seconds(try config.int(.dispatcherDeliveryTimeoutSeconds, in: 1...604_800)),
                orphanGrace: .seconds(try config.int(.dispatcherOrphanGraceSeconds, in: 1...86_400)),
                inProgressTimeout: .seconds(try config.int(.dispatcherInProgressTimeoutHours, in: 1...8_760) * 3600),
                connectionRequestBase: .seconds(try config.int(.dispatcherCRBaseSeconds, in: 1...86_400)),
                connectionRequestCap: .seconds(try config.int(.dispatcherCRCapSeconds, in: 1...604_800)),
                refreshInterval: refreshHours == 0 ? nil : .seconds(refreshHours * 3600),
                instanceID: "\(DispatchPolicy.instancePrefix)-\(boot.runtime.instanceID)")
        }
        let tick = boot.require { try $0.int(.dispatcherTickMs, in: 10...60_000) }
        let retentionDays = boot.require { try $0.int(.dispatcherRetentionDays, in: 1...3650) }
        let topics = boot.require {
            DispatchTopics(deviceEvents: try $0.string(.dispatcherEventsTopic), commands: try $0.string(.dispatcherCommandsTopic),
                           commandResults: try $0.string(.dispatcherResultsTopic))
        }

        let postgres = try ShardedPostgres(configuration: databases, partitionCount: partitions, backgroundLogger: boot.logger)
        let producer = try KafkaProducer(configuration: kafka, logger: boot.logger)
        var options = TransactionalConsumer<DispatchHandler>.Options(groupID: group, topics: topics.all)
        options.maxBatchSize = batchSize
        let consumer = TransactionalConsumer(
            options: options, kafka: kafka, postgres: postgres, handler: DispatchHandler(topics: topics, policy: policy),
            deadLetters: DeadLetterPublisher(producer: producer), logger: boot.logger)
        let clock = DispatchClock(
            postgres: postgres, consumer: consumer, policy: policy, interval: .milliseconds(tick),
            retention: .seconds(retentionDays * 86_400), logger: boot.logger)
        let bulk = BulkRunner(postgres: postgres, producer: producer, commandsTopic: topics.commands, logger: boot.logger)
        let worker = DispatcherWorker(
            postgres: postgres, consumer: consumer, clock: clock, bulk: bulk,
            relay: OutboxRelay(postgres: postgres, producer: producer, logger: boot.logger),
            health: boot.health, logger: boot.logger)
        boot.health.register("command-dispatcher")
        let server = OperationsServer.application(runtime: boot.runtime, health: boot.health, registry: boot.registry, logger: boot.logger)
        try await boot.run([postgres, producer, worker, server])
    }
}

/// Migrates, loads the shard map, then runs the consumer, the clock and the outbox relay.
struct DispatcherWorker: Service {
    let postgres: ShardedPostgres
    let consumer: TransactionalConsumer<DispatchHandler>
    let clock: DispatchClock
    let bulk: BulkRunner
    let relay: OutboxRelay
    let health: HealthState
    let logger: Logger

    func run() async throws {
        try await postgres.migrate(
            [PlatformMigrations.control, PlatformMigrations.shard, Outbox.migrations, DispatcherMigrations.shard, BulkMigrations.control],
            logger: logger)
        try await postgres.loadShardMap(logger: logger)
        health.set("command-dispatcher", ready: true)
        try await withThrowingDiscardingTaskGroup { group in
            group.addTask { try await consumer.run() }
            group.addTask { try await clock.run() }
            group.addTask { try await bulk.run() }
            group.addTask { try await relay.run() }
        }
    }
}
