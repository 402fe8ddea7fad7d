import ArgumentParser
import BusContracts
import DeviceSim
import Dispatcher
import Foundation
import Kafka
import Logging
import NIOConcurrencyHelpers
import PostgresNIO
import ShardedPostgres
import USPCodec

/// Command delivery latency through the real dispatcher (transactional consumer, shard
/// transaction, outbox, relay): from the moment a command is produced to `cpe.commands.v1` to the
/// moment its delivery is read from the instance inbox by a fake USP agent, which answers each
/// with SUCCEEDED like an ingress would. With `--usp-ws-port`, deliveries go through a running
/// usp-ingress to simulated agents on WebSockets instead, and each is timed when its Set arrives
/// at the agent. Reference in the same run: a bare Kafka produce → consume of the same number of
/// records at the same rate, once the consumer has its partitions.
struct BenchDispatch: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "bench-dispatch", abstract: "Command delivery latency benchmark (prints a Markdown table).")

    @Option(help: "Connected USP devices.") var devices = 1000
    @Option(help: "Commands per second offered.") var rate = 1000
    @Option(help: "Seconds of load.") var seconds = 20
    @Option(help: "Seconds of load before the measured run (not measured).") var warmup = 3
    @Option(help: "Dev broker URL to create the topics.") var devKafkaURL: String
    @Option(help: "WebSocket port of a running usp-ingress: deliveries then go through it to simulated USP agents, and each is timed when its Set arrives at the agent. Without it, a stand-in agent reads the instance inbox.")
    var uspWSPort: Int?
    @Option(help: "With --usp-ws-port: the ingress's INSTANCE_ID.") var uspInstance = "usp-dispatch"
    @Option(help: "With --usp-ws-port: the ingress's USP_ENDPOINT_ID.") var controllerID = "self::twinfleet-controller"
    @Option(help: "With --usp-ws-port: the ingress's USP_EVENTS_TOPIC.") var eventsTopic = ""
    @Option(help: "With --usp-ws-port: the ingress's USP_RESULTS_TOPIC.") var resultsTopic = ""

    func run() async throws {
        let environment = ToolEnvironment()
        let partitions = try environment.partitionCount
        let suffix = UUID().uuidString.prefix(8).lowercased()
        let throughIngress = uspWSPort != nil
        if throughIngress, eventsTopic.isEmpty || resultsTopic.isEmpty { throw ValidationError("--usp-ws-port needs --events-topic and --results-topic") }
        let topics = throughIngress
            ? DispatchTopics(deviceEvents: eventsTopic, commands: "bench.commands.\(suffix)", commandResults: resultsTopic)
            : DispatchTopics(deviceEvents: "bench.events.\(suffix)", commands: "bench.commands.\(suffix)", commandResults: "bench.results.\(suffix)")
        let instance = throughIngress ? uspInstance : "bench-usp-\(suffix)"
        let inbox = try Topic.deliveries(instance: instance)
        let reference = "bench.reference.\(suffix)"
        // The ingress's topics exist already (scripts/bench.sh creates them).
        for topic in (throughIngress ? [topics.commands] : topics.all + [inbox]) + [reference] {
            try await createDevTopic(topic, partitions: partitions, url: devKafkaURL)
        }
        let (postgres, poolTask) = try await environment.postgres(extra: [Outbox.migrations, DispatcherMigrations.shard])
        let producer = try KafkaProducer(configuration: try environment.kafka(), logger: environment.logger)
        // Through the ingress a USP device's ID is its agent's endpoint ID.
        let deviceIDs = (0..<devices).map { String(format: throughIngress ? "bench::agent-%06d" : "00D09E-USPB-%06d", $0) }

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
            guard !throughIngress else { return }
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

        // Through the ingress: simulated agents, each timing the Set messages that reach it (the
        // message ID names the command). Their answers go back through the ingress.
        var agents: [SimulatedUSPAgent] = []
        let created: NIOLockedValueBox<[String: Int64]>? = throughIngress ? NIOLockedValueBox([:]) : nil
        if let uspWSPort, let created {
            for device in deviceIDs {
                let simulated = SimulatedUSPAgent(endpointID: device, controllerID: controllerID, parameters: SimulatedUSPAgent.gateway(serial: device))
                await simulated.observeArrivals { message in
                    guard case .set? = message.body.request.reqType,
                          case .command(let commandID, _, _)? = USPMessageID(parsing: message.header.msgID) else { return }
                    let now = Date().timeIntervalSince1970
                    guard let createdAt = created.withLockedValue({ $0[commandID] }) else { return }
                    arrivals.withLockedValue { $0[commandID] = now - Double(createdAt) / 1e6 }
                }
                try await simulated.connect(port: uspWSPort)
                agents.append(simulated)
            }
            // Each new device's Refresh has run and nothing is open: then measure.
            let deadline = ContinuousClock.now + .seconds(300)
            while ContinuousClock.now < deadline {
                let settled = try await openAndConnected(postgres)
                if settled.open == 0 && settled.connected == devices { break }
                try await Task.sleep(for: .milliseconds(200))
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
        if !throughIngress {
            _ = try await producer.sendAll(connects)
            // New devices get a Refresh first: wait until every one was delivered, then measure.
            while arrivals.withLockedValue({ $0.count }) < devices { try await Task.sleep(for: .milliseconds(50)) }
        }
        try await Task.sleep(for: .seconds(1))
        arrivals.withLockedValue { $0.removeAll() }
        stages.withLockedValue { $0.removeAll() }

        func command(_ name: String, _ index: Int) -> OutgoingRecord {
            var command = Twinfleet_Bus_V1_Command()
            command.commandID = "\(name)-\(suffix)-\(index)"
            command.deviceID = deviceIDs[index % deviceIDs.count]
            command.createdAtUs = Date().unixMicroseconds
            created?.withLockedValue { $0[command.commandID] = command.createdAtUs }
            var parameter = Twinfleet_Bus_V1_Parameter()
            parameter.path = "Device.WiFi.SSID.1.SSID"
            parameter.value.stringValue = "ssid-\(index)"
            command.setParameters.parameters = [parameter]
            var envelope = Twinfleet_Bus_V1_CommandEnvelope()
            envelope.requested.command = command
            return OutgoingRecord(topic: topics.commands, key: command.deviceID, value: try! envelope.serializedBytes())
        }
        // Warm-up at the same rate, not measured: the first seconds after start carry one-off
        // costs (the producer's first record to the commands topic waits up to a second for its
        // metadata in librdkafka 2.0; through the ingress, a stall of about a second).
        if warmup > 0 {
            _ = try await offer(total: rate * warmup) { command("warm", $0) } send: { _ = try await producer.sendAll($0) } delivered: {
                arrivals.withLockedValue { $0.count }
            }
            try await Task.sleep(for: .seconds(1))
            arrivals.withLockedValue { $0.removeAll() }
            stages.withLockedValue { $0.removeAll() }
        }
        let total = rate * seconds
        _ = try await offer(total: total) { command("bench", $0) } send: { records in
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
        for simulated in agents { await simulated.disconnect() }
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
        if throughIngress {
            print(row("queued → Set on the agent's WebSocket (dispatcher, outbox, relay, usp-ingress inbox, USP record)", dispatched))
        } else {
            print(row("queued → delivery read by the agent (dispatcher: consume, shard transaction, outbox, relay)", dispatched))
            print(row("· stage 1: queued → handled by the dispatcher (produce, consume, load, plan; before commit)", stage.map(\.applied)))
            print(row("· stage 2: handled → delivery read by the agent (commit, outbox relay, publish, consume)", stage.map(\.relayed)))
        }
        print(row("reference: bare Kafka produce → consume, same rate", bare))
    }

    /// Open commands and connected devices over both shards.
    private func openAndConnected(_ postgres: ShardedPostgres) async throws -> (open: Int, connected: Int) {
        var open = 0, connected = 0
        for shard in postgres.shards.indices {
            let rows = try await postgres.client(forShard: shard).query("""
                SELECT (SELECT count(*) FROM dispatcher_commands WHERE finished_at IS NULL)::int,
                       (SELECT count(*) FROM dispatcher_devices WHERE connected)::int
                """, logger: Logger(label: "bench"))
            for try await (o, c) in rows.decode((Int, Int).self) { open += o; connected += c }
        }
        return (open, connected)
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
