import ArgumentParser
import BusContracts
import Dispatcher
import Foundation
import Kafka
import Logging
import NIOConcurrencyHelpers
import PostgresNIO
import ShardedPostgres

/// Command delivery latency through the real dispatcher (transactional consumer, shard
/// transaction, outbox, relay): from the moment a command is produced to `cpe.commands.v1` to the
/// moment its delivery is read from the instance inbox by a fake USP agent, which answers each
/// with SUCCEEDED like an ingress would. Reference in the same run: a bare Kafka produce → consume
/// of the same number of records at the same rate.
struct BenchDispatch: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "bench-dispatch", abstract: "Command delivery latency benchmark (prints a Markdown table).")

    @Option(help: "Connected USP devices.") var devices = 1000
    @Option(help: "Commands per second offered.") var rate = 1000
    @Option(help: "Seconds of load.") var seconds = 20
    @Option(help: "Dev broker URL to create the topics.") var devKafkaURL: String

    func run() async throws {
        let environment = ToolEnvironment()
        let partitions = try environment.partitionCount
        let suffix = UUID().uuidString.prefix(8).lowercased()
        let topics = DispatchTopics(deviceEvents: "bench.events.\(suffix)", commands: "bench.commands.\(suffix)", commandResults: "bench.results.\(suffix)")
        let instance = "bench-usp-\(suffix)"
        let inbox = try Topic.deliveries(instance: instance)
        let reference = "bench.reference.\(suffix)"
        for topic in topics.all + [reference] { try await createDevTopic(topic, partitions: partitions, url: devKafkaURL) }
        try await createDevTopic(inbox, partitions: partitions, url: devKafkaURL)
        let (postgres, poolTask) = try await environment.postgres(extra: [Outbox.migrations, DispatcherMigrations.shard])
        let producer = try KafkaProducer(configuration: try environment.kafka(), logger: environment.logger)
        let deviceIDs = (0..<devices).map { String(format: "00D09E-USPB-%06d", $0) }

        // The dispatcher, in this process.
        var options = TransactionalConsumer<DispatchHandler>.Options(groupID: "bench-dispatch-\(suffix)", topics: topics.all)
        options.maxBatchSize = 200
        let policy = DispatchPolicy(refreshInterval: nil, instanceID: "command-dispatcher-bench")
        let consumer = TransactionalConsumer(
            options: options, kafka: try environment.kafka(), postgres: postgres, handler: DispatchHandler(topics: topics, policy: policy),
            deadLetters: DeadLetterPublisher(producer: producer), logger: environment.logger)
        let relay = OutboxRelay(postgres: postgres, producer: producer, logger: environment.logger)
        let clock = DispatchClock(postgres: postgres, consumer: consumer, policy: policy, logger: environment.logger)
        let dispatcher = [Task { try await consumer.run() }, Task { try await relay.run() }, Task { try await clock.run() }]

        // The fake agent: records when each delivery arrives and answers it.
        let arrivals = NIOLockedValueBox<[String: Double]>([:])
        // Per stage: produced → applied (the delivery's created_at is the dispatcher's clock when
        // it handled the command), and applied → read by the agent.
        let stages = NIOLockedValueBox<[String: (applied: Double, relayed: Double)]>([:])
        let agentConsumer = try KafkaConsumer(
            configuration: try environment.kafka(), options: .init(groupID: "bench-agent-\(suffix)", topics: [inbox]), logger: environment.logger,
            rebalanceHandler: { event in
                guard case .assigned(let assigned) = event else { return [:] }
                return Dictionary(uniqueKeysWithValues: assigned.map { ($0, KafkaConsumer.StartOffset.beginning) })
            })
        let agent = Task {
            for await batch in agentConsumer.batches {
                let now = Date().timeIntervalSince1970
                var answers: [OutgoingRecord] = []
                for record in batch {
                    guard let delivery = try? Twinfleet_Bus_V1_Delivery(serializedBytes: record.value), case .command(let body)? = delivery.body else { continue }
                    let command = body.command
                    arrivals.withLockedValue { $0[command.commandID] = now - Double(command.createdAtUs) / 1e6 }
                    let applied = Double(delivery.createdAtUs) / 1e6
                    stages.withLockedValue { $0[command.commandID] = (applied - Double(command.createdAtUs) / 1e6, now - applied) }
                    var result = Twinfleet_Bus_V1_CommandResult()
                    result.commandID = command.commandID
                    result.deviceID = command.deviceID
                    result.instanceID = instance
                    result.attempt = body.attempt
                    result.status = .succeeded
                    result.occurredAtUs = Date().unixMicroseconds
                    answers.append(OutgoingRecord(topic: topics.commandResults, key: command.deviceID, value: try! result.serializedBytes()))
                }
                if !answers.isEmpty { _ = try? await producer.sendAll(answers) }
            }
        }

        // Every device connects over USP (the dispatcher learns where it is).
        let connects = deviceIDs.map { device -> OutgoingRecord in
            var event = Twinfleet_Bus_V1_DeviceEvent()
            event.deviceID = device
            event.eventID = "connect-\(device)"
            event.protocol = .usp
            event.sessionID = "conn-\(device)"
            event.occurredAtUs = Date().unixMicroseconds
            event.presence.kind = .connected
            event.presence.instanceID = instance
            event.presence.mtp = .websocket
            return OutgoingRecord(topic: topics.deviceEvents, key: device, value: try! event.serializedBytes())
        }
        _ = try await producer.sendAll(connects)
        // New devices get a Refresh first: wait until every one was delivered, then measure.
        while arrivals.withLockedValue({ $0.count }) < devices { try await Task.sleep(for: .milliseconds(50)) }
        // The producer's first record to a topic waits for its metadata (up to a second in
        // librdkafka 2.0): warm the commands topic with a record the dispatcher ignores.
        var warm = Twinfleet_Bus_V1_CommandEnvelope()
        warm.tagsChanged.deviceID = deviceIDs[0]
        _ = try await producer.sendAll([OutgoingRecord(topic: topics.commands, key: deviceIDs[0], value: try warm.serializedBytes())])
        try await Task.sleep(for: .seconds(1))
        arrivals.withLockedValue { $0.removeAll() }
        stages.withLockedValue { $0.removeAll() }

        let total = rate * seconds
        _ = try await offer(total: total) { index in
            var command = Twinfleet_Bus_V1_Command()
            command.commandID = "bench-\(suffix)-\(index)"
            command.deviceID = deviceIDs[index % deviceIDs.count]
            command.createdAtUs = Date().unixMicroseconds
            var parameter = Twinfleet_Bus_V1_Parameter()
            parameter.path = "Device.WiFi.SSID.1.SSID"
            parameter.value.stringValue = "ssid-\(index)"
            command.setParameters.parameters = [parameter]
            var envelope = Twinfleet_Bus_V1_CommandEnvelope()
            envelope.requested.command = command
            return OutgoingRecord(topic: topics.commands, key: command.deviceID, value: try! envelope.serializedBytes())
        } send: { records in
            _ = try await producer.sendAll(records)
        } delivered: {
            arrivals.withLockedValue { $0.count }
        }
        let dispatched = arrivals.withLockedValue { Array($0.values) }
        let stage = stages.withLockedValue { Array($0.values) }

        // Reference: bare produce → consume of as many records at the same rate.
        let referenceArrivals = NIOLockedValueBox<[Double]>([])
        let referenceWarm = NIOLockedValueBox(false)
        let referenceConsumer = try KafkaConsumer(
            configuration: try environment.kafka(), options: .init(groupID: "bench-reference-\(suffix)", topics: [reference]), logger: environment.logger,
            rebalanceHandler: { event in
                guard case .assigned(let assigned) = event else { return [:] }
                return Dictionary(uniqueKeysWithValues: assigned.map { ($0, KafkaConsumer.StartOffset.beginning) })
            })
        let referenceTask = Task {
            for await batch in referenceConsumer.batches {
                let now = Date().timeIntervalSince1970
                if batch.contains(where: { $0.value == Array("warm".utf8) }) { referenceWarm.withLockedValue { $0 = true } }
                let sent = batch.compactMap { Double(String(decoding: $0.value, as: UTF8.self)) }
                referenceArrivals.withLockedValue { $0 += sent.map { now - $0 } }
            }
        }
        // Measured from the moment the consumer reads: a new group's first assignment takes a
        // few seconds on the mock cluster, and records produced meanwhile would wait for it.
        _ = try await producer.sendAll([OutgoingRecord(topic: reference, key: deviceIDs[0], value: Array("warm".utf8))])
        let warmDeadline = ContinuousClock.now + .seconds(30)
        while !referenceWarm.withLockedValue({ $0 }), ContinuousClock.now < warmDeadline { try await Task.sleep(for: .milliseconds(20)) }
        try await Task.sleep(for: .seconds(1))
        _ = try await offer(total: total) { index in
            OutgoingRecord(topic: reference, key: deviceIDs[index % deviceIDs.count], value: Array("\(Date().timeIntervalSince1970)".utf8))
        } send: { records in
            _ = try await producer.sendAll(records)
        } delivered: {
            referenceArrivals.withLockedValue { $0.count }
        }
        let bare = referenceArrivals.withLockedValue { $0 }

        referenceConsumer.requestShutdown()
        agentConsumer.requestShutdown()
        await referenceConsumer.shutdown()
        await agentConsumer.shutdown()
        referenceTask.cancel()
        agent.cancel()
        dispatcher.forEach { $0.cancel() }
        await producer.shutdown()
        poolTask.cancel()

        func row(_ name: String, _ values: [Double]) -> String {
            let sorted = values.sorted()
            func pct(_ p: Double) -> String { String(format: "%.1f", sorted[min(sorted.count - 1, Int(Double(sorted.count) * p))] * 1000) }
            return "| \(name) | \(sorted.count) | \(pct(0.5)) | \(pct(0.9)) | \(pct(0.99)) | \(String(format: "%.1f", sorted.last! * 1000)) |"
        }
        print("Command delivery latency, \(devices) connected USP devices, \(rate) commands/s offered for \(seconds) s, \(partitions) partitions, 2 shards")
        print()
        print("| path | records | p50 ms | p90 ms | p99 ms | max ms |")
        print("|---|---|---|---|---|---|")
        print(row("queued → delivery read by the agent (dispatcher: consume, shard transaction, outbox, relay)", dispatched))
        print(row("· stage 1: queued → handled by the dispatcher (produce, consume, load, plan; before commit)", stage.map(\.applied)))
        print(row("· stage 2: handled → delivery read by the agent (commit, outbox relay, publish, consume)", stage.map(\.relayed)))
        print(row("reference: bare Kafka produce → consume, same rate", bare))
    }

    /// Offers `total` records at `rate` per second in 10 ms slices, then waits until `delivered`
    /// reaches `total` (or 60 s pass).
    private func offer(total: Int, make: (Int) -> OutgoingRecord, send: ([OutgoingRecord]) async throws -> Void,
                       delivered: () -> Int) async throws -> Int {
        let start = ContinuousClock.now
        var sent = 0
        while sent < total {
            let due = min(total, Int(Double(rate) * elapsed(ContinuousClock.now - start)) + 1)
            if due > sent {
                try await send((sent..<due).map(make))
                sent = due
            }
            try await Task.sleep(for: .milliseconds(10))
        }
        let deadline = ContinuousClock.now + .seconds(60)
        while delivered() < total, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(20)) }
        return sent
    }
}

private func elapsed(_ duration: Duration) -> Double { seconds(duration) }
