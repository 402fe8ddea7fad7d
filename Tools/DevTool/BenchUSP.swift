import ArgumentParser
import BusContracts
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdWebSocket
import Kafka
import Logging
import NIOConcurrencyHelpers
import NIOCore
import USPCodec
import WSClient

/// USP notification throughput: agents stream ValueChange Notify records over WebSocket to a
/// running usp-ingress, which decodes each one and publishes it to Kafka; the figure is records
/// per second from the first send until the last device event is read back from the topic.
/// Reference in the same run: the same number of frames of the same size, over the same number of
/// connections, through the same stack (swift-websocket client → Hummingbird WebSocket server in
/// this process) into a server that only counts them.
struct BenchUSP: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "bench-usp", abstract: "USP notify throughput benchmark against a running usp-ingress (prints a Markdown table).")

    @Option(help: "WebSocket port of the running usp-ingress.") var wsPort: Int
    @Option(help: "The ingress's USP_ENDPOINT_ID.") var controller = "self::twinfleet-controller"
    @Option(help: "The ingress's device-events topic (USP_EVENTS_TOPIC).") var eventsTopic: String
    @Option(help: "Agent connections.") var agents = 8
    @Option(help: "Notify records in all.") var records = 100_000

    func run() async throws {
        let environment = ToolEnvironment()
        let perAgent = records / agents
        let total = perAgent * agents
        let sample = try Self.notifyRecord(agent: "bench::agent-0", controller: controller, index: 0)

        // Reference: a Hummingbird WebSocket server that counts frames, in this process.
        let (sinkPort, sink) = try await Self.startSink(logger: environment.logger)
        let referenceStart = ContinuousClock.now
        try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<agents {
                group.addTask {
                    try await WebSocketClient.connect(url: "ws://127.0.0.1:\(sinkPort)/", configuration: .init(maxFrameSize: 1 << 20), logger: environment.logger) { inbound, outbound, _ in
                        for _ in 0..<perAgent { try await outbound.write(.binary(ByteBuffer(bytes: sample))) }
                        try await outbound.write(.text("done"))
                        for try await message in inbound.messages(maxSize: 1 << 10) {
                            if case .text = message { break }
                        }
                    }
                }
            }
            try await group.waitForAll()
        }
        let referenceSeconds = (ContinuousClock.now - referenceStart).timeInterval
        sink.cancel()

        // usp-ingress: decode, check, publish to Kafka; counted when read back from the topic.
        let consumer = try KafkaConsumer(
            configuration: try environment.kafka(), options: .init(groupID: "bench-usp-\(UUID().uuidString.prefix(8))", topics: [eventsTopic]), logger: environment.logger,
            rebalanceHandler: { event in
                guard case .assigned(let assigned) = event else { return [:] }
                return Dictionary(uniqueKeysWithValues: assigned.map { ($0, KafkaConsumer.StartOffset.end) })
            })
        let counted = NIOLockedValueBox(0)
        // Flags polled by every connection (an AsyncStream has one consumer only).
        let go = NIOLockedValueBox(false), stop = NIOLockedValueBox(false), connectedCount = NIOLockedValueBox(0)
        @Sendable func waitFor(_ flag: NIOLockedValueBox<Bool>) async throws {
            while !flag.withLockedValue({ $0 }) { try await Task.sleep(for: .milliseconds(2)) }
        }
        let reader = Task {
            for await batch in consumer.batches {
                var seen = 0
                for record in batch {
                    guard let event = try? Twinfleet_Bus_V1_DeviceEvent(serializedBytes: record.value), case .valueChange? = event.body else { continue }
                    seen += 1
                }
                if counted.withLockedValue({ $0 += seen; return $0 }) >= total { stop.withLockedValue { $0 = true } }
            }
        }
        try await Task.sleep(for: .seconds(3))  // the consumer's assignment
        let sender = Task {
            try await withThrowingTaskGroup(of: Void.self) { group in
                for agent in 0..<agents {
                    let id = "bench::agent-\(agent)"
                    let frames = try (0..<perAgent).map { try Self.notifyRecord(agent: id, controller: controller, index: $0) }
                    group.addTask {
                        var headers = HTTPFields()
                        headers[.secWebSocketProtocol] = "v1.usp"
                        let url = "ws://127.0.0.1:\(wsPort)/usp?eid=" + (id.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? id)
                        try await WebSocketClient.connect(url: url, configuration: .init(maxFrameSize: 1 << 20, additionalHeaders: headers), logger: environment.logger) { _, outbound, _ in
                            connectedCount.withLockedValue { $0 += 1 }
                            try await waitFor(go)
                            for frame in frames { try await outbound.write(.binary(ByteBuffer(bytes: frame))) }
                            try await waitFor(stop)
                        }
                    }
                }
                try await group.waitForAll()
            }
        }
        while connectedCount.withLockedValue({ $0 }) < agents { try await Task.sleep(for: .milliseconds(10)) }
        try await Task.sleep(for: .milliseconds(500))
        let start = ContinuousClock.now
        go.withLockedValue { $0 = true }
        let deadline = Task { try await Task.sleep(for: .seconds(300)); stop.withLockedValue { $0 = true } }
        try await waitFor(stop)
        let ingressSeconds = (ContinuousClock.now - start).timeInterval
        deadline.cancel()
        let read = counted.withLockedValue { $0 }
        sender.cancel()
        consumer.requestShutdown()
        reader.cancel()

        print("USP notify throughput, \(agents) WebSocket connections, \(total) records of \(sample.count) bytes")
        print()
        print("| path | records | seconds | records/s |")
        print("|---|---|---|---|")
        print("| agent → usp-ingress (decode, check, publish to Kafka) → read back from the topic | \(read) | \(String(format: "%.2f", ingressSeconds)) | \(Int(Double(read) / ingressSeconds)) |")
        print("| reference: bare WebSocket frames, same client and server stack, counted by the server | \(total) | \(String(format: "%.2f", referenceSeconds)) | \(Int(Double(total) / referenceSeconds)) |")
        if read < total { print("\nonly \(read) of \(total) events were read back within 300 s") }
    }

    /// A ValueChange Notify from `agent`, in a NoSessionContext record.
    static func notifyRecord(agent: String, controller: String, index: Int) throws -> [UInt8] {
        var change = Usp_Notify.ValueChange()
        change.paramPath = "Device.WiFi.Radio.1.Stats.PacketsSent"
        change.paramValue = String(1_000_000 + index)
        var message = Usp_Msg()
        message.header.msgID = "vc-\(index)"
        message.header.msgType = .notify
        message.body.request.notify.subscriptionID = "twinfleet-vc"
        message.body.request.notify.valueChange = change
        var record = UspRecord_Record()
        record.version = "1.3"
        record.toID = controller
        record.fromID = agent
        record.noSessionContext.payload = try message.serializedBytes()
        return try record.serializedBytes()
    }

    /// A WebSocket server on 127.0.0.1 that counts binary frames and answers `done` with the count.
    static func startSink(logger: Logger) async throws -> (Int, Task<Void, Error>) {
        let (ports, portSignal) = AsyncStream<Int>.makeStream()
        let router = Router()
        let app = Application(
            router: router,
            server: .http1WebSocketUpgrade(configuration: .init(ws: .init(maxFrameSize: 1 << 20, autoPing: .disabled))) { _, _, _ in
                .upgrade([:]) { inbound, outbound, _ in
                    var count = 0
                    for try await message in inbound.messages(maxSize: 1 << 20) {
                        switch message {
                        case .binary: count += 1
                        case .text: try await outbound.write(.text(String(count)))
                        }
                    }
                }
            },
            configuration: .init(address: .hostname("127.0.0.1", port: 0)),
            onServerRunning: { channel in portSignal.yield(channel.localAddress?.port ?? 0) },
            logger: logger)
        let task = Task { try await app.runService() }
        var iterator = ports.makeAsyncIterator()
        guard let port = await iterator.next(), port > 0 else { throw ValidationError("the reference server did not start") }
        return (port, task)
    }
}
