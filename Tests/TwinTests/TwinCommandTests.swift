import BusContracts
import Foundation
import Kafka
import PostgresNIO
import ShardedPostgres
import SwiftProtobuf
import Testing
import TestSupport
import Twin
import TwinfleetModel

/// Commands and their results as the twin sees them: desired values, the command view, results
/// turned into reported state, in whatever order the two topics deliver them.
@Suite(.serialized) struct TwinCommandTests {
    static func requested(_ device: String, _ id: String, at time: Date, _ fill: (inout Twinfleet_Bus_V1_Command) -> Void) -> Twinfleet_Bus_V1_CommandEnvelope {
        var command = Twinfleet_Bus_V1_Command()
        command.commandID = id
        command.deviceID = device
        command.tenantID = "tenant-a"
        command.createdAtUs = time.unixMicroseconds
        fill(&command)
        var envelope = Twinfleet_Bus_V1_CommandEnvelope()
        envelope.requested.command = command
        return envelope
    }

    static func set(_ device: String, _ id: String, at time: Date, _ parameters: [Twinfleet_Bus_V1_Parameter]) -> Twinfleet_Bus_V1_CommandEnvelope {
        requested(device, id, at: time) { $0.setParameters.parameters = parameters }
    }

    static func result(_ device: String, _ id: String, at time: Date, _ status: Twinfleet_Bus_V1_CommandStatus, _ fill: (inout Twinfleet_Bus_V1_CommandResult) -> Void = { _ in }) -> Twinfleet_Bus_V1_CommandResult {
        var result = Twinfleet_Bus_V1_CommandResult()
        result.commandID = id
        result.deviceID = device
        result.instanceID = "cwmp-0"
        result.occurredAtUs = time.unixMicroseconds
        result.attempt = 1
        result.status = status
        fill(&result)
        return result
    }

    static func record<M: SwiftProtobuf.Message>(_ message: M, key: String, topic: String) -> OutgoingRecord {
        OutgoingRecord(topic: topic, key: key, value: try! message.serializedBytes())
    }

    @Test func desiredValuesFollowTheCommandLifecycle() async throws {
        let harness = try await TwinHarness.make()
        let device = "00D09E-HGW-CMD-\(UUID().uuidString.prefix(6))"
        let t = Date(timeIntervalSince1970: 1_795_500_000)
        let ssid = "Device.WiFi.SSID.1.SSID", channel = "Device.WiFi.Radio.1.Channel"
        try await harness.run { postgres, reader, producer in
            let logger = TestEnvironment.logger
            let topics = harness.topics
            _ = try await producer.send(Events.record(Events.inform(device, at: t, software: "1.0", parameters: [
                Events.parameter(ssid, .string("home"), writable: true), Events.parameter(channel, .unsignedInt(1), writable: true),
            ]), topic: topics.deviceEvents))
            #expect(try await eventually(timeout: .seconds(60)) { try await reader.device(device, logger: logger) != nil })

            // A queued Set: desired value beside the reported one; a Download stored without its password.
            _ = try await producer.sendAll([
                Self.record(Self.set(device, "c1", at: t + 1, [Events.parameter(ssid, .string("guest"))]), key: device, topic: topics.commands),
                Self.record(Self.requested(device, "c2", at: t + 2) { command in
                    command.download.url = "https://files.example/fw.bin"
                    command.download.username = "cpe"
                    command.download.password = "s3cret"
                }, key: device, topic: topics.commands),
                Self.record(Self.result(device, "c1", at: t + 3, .delivered), key: device, topic: topics.commandResults),
            ])
            // Requests and results are different topics: wait for all three records.
            #expect(try await eventually(timeout: .seconds(60)) {
                let pending = try await reader.commands(device, pendingOnly: true, logger: logger)
                let desired = try await reader.parameters(device, logger: logger).first { $0.path == ssid }?.desiredCommandID
                return pending.first { $0.commandID == "c1" }?.status == "delivered" && pending.contains { $0.commandID == "c2" } && desired == "c1"
            })
            var parameters = try await reader.parameters(device, logger: logger)
            #expect(parameters.first { $0.path == ssid }?.value == .string("home"))
            #expect(parameters.first { $0.path == ssid }?.desired == .string("guest"))
            #expect(parameters.first { $0.path == ssid }?.desiredCommandID == "c1")
            let pending = try await reader.commands(device, pendingOnly: true, logger: logger)
            #expect(Set(pending.map(\.commandID)) == ["c1", "c2"])
            let download = try #require(pending.first { $0.commandID == "c2" })
            #expect(download.kind == "download")
            #expect(download.command?.download.url == "https://files.example/fw.bin")
            #expect(download.command?.download.password == "", "file-server passwords are never stored")

            // Success: the desired value becomes the reported one (with history), the command is final.
            _ = try await producer.send(Self.record(Self.result(device, "c1", at: t + 4, .succeeded), key: device, topic: topics.commandResults))
            #expect(try await eventually(timeout: .seconds(60)) {
                try await reader.parameters(device, logger: logger).first { $0.path == ssid }?.value == .string("guest")
            })
            parameters = try await reader.parameters(device, logger: logger)
            #expect(parameters.first { $0.path == ssid }?.desired == nil)
            #expect(try await reader.commands(device, pendingOnly: true, logger: logger).map(\.commandID) == ["c2"])
            let done = try #require(try await reader.commands(device, pendingOnly: false, logger: logger).first { $0.commandID == "c1" })
            #expect(done.status == "succeeded" && done.final)
            let history = try await reader.history(device, path: ssid, from: t, to: t + 10, logger: logger)
            #expect(history.map(\.value) == [.string("home"), .string("guest")])
            let log = try await reader.events(device, from: t, to: t + 10, logger: logger)
            #expect(log.contains { $0.kind == "command.succeeded" && $0.detail.hasPrefix("set-parameters c1") })

            // A late DELIVERED after the final result changes nothing.
            _ = try await producer.send(Self.record(Self.result(device, "c1", at: t + 3.5, .delivered), key: device, topic: topics.commandResults))
            // A result that overtakes its request: the request then sets no desired value.
            _ = try await producer.send(Self.record(Self.result(device, "c3", at: t + 6, .failed) { result in
                result.error.code = 9007
                result.error.message = "Invalid parameter value"
                result.error.parameterFaults = [{ var f = Twinfleet_Bus_V1_ParameterFault(); f.path = channel; f.code = 9007; return f }()]
            }, key: device, topic: topics.commandResults))
            #expect(try await eventually(timeout: .seconds(60)) {
                try await reader.commands(device, pendingOnly: false, logger: logger).contains { $0.commandID == "c3" }
            })
            _ = try await producer.send(Self.record(Self.set(device, "c3", at: t + 5, [Events.parameter(channel, .unsignedInt(200))]), key: device, topic: topics.commands))
            #expect(try await eventually(timeout: .seconds(60)) {
                try await reader.commands(device, pendingOnly: false, logger: logger).first { $0.commandID == "c3" }?.kind == "set-parameters"
            })
            let failed = try #require(try await reader.commands(device, pendingOnly: false, logger: logger).first { $0.commandID == "c3" })
            #expect(failed.status == "failed" && failed.final && failed.errorCode == 9007)
            #expect(try await reader.commands(device, pendingOnly: false, logger: logger).first { $0.commandID == "c1" }?.status == "succeeded")
            parameters = try await reader.parameters(device, logger: logger)
            #expect(parameters.first { $0.path == channel }?.desired == nil, "a finished command must not leave a desired value")
            #expect(parameters.first { $0.path == channel }?.value == .unsignedInt(1))
            _ = postgres
        }
    }

    @Test func resultsNeverOverwriteNewerReportsAndGetOutputsAreStored() async throws {
        let harness = try await TwinHarness.make()
        let device = "00D09E-HGW-OUT-\(UUID().uuidString.prefix(6))"
        let t = Date(timeIntervalSince1970: 1_795_600_000)
        let channel = "Device.WiFi.Radio.1.Channel", uptime = "Device.DeviceInfo.UpTime"
        try await harness.run { _, reader, producer in
            let logger = TestEnvironment.logger
            let topics = harness.topics
            _ = try await producer.sendAll([
                Events.record(Events.inform(device, at: t, software: "1.0", parameters: [Events.parameter(channel, .unsignedInt(1))]), topic: topics.deviceEvents),
                // The device changed the channel itself at t+20 …
                Events.record(Events.valueChange(device, at: t + 20, [Events.parameter(channel, .unsignedInt(11))]), topic: topics.deviceEvents),
            ])
            #expect(try await eventually(timeout: .seconds(60)) {
                try await reader.parameters(device, logger: logger).first { $0.path == channel }?.value == .unsignedInt(11)
            })
            // … so a Set confirmed at t+10 (learnt later) must not roll it back; a Get's outputs are stored.
            _ = try await producer.sendAll([
                Self.record(Self.set(device, "s1", at: t + 5, [Events.parameter(channel, .unsignedInt(6))]), key: device, topic: topics.commands),
                Self.record(Self.result(device, "s1", at: t + 10, .succeeded), key: device, topic: topics.commandResults),
                Self.record(Self.requested(device, "g1", at: t + 30) { $0.getParameters.paths = [uptime] }, key: device, topic: topics.commands),
                Self.record(Self.result(device, "g1", at: t + 31, .succeeded) { $0.outputs.parameters = [Events.parameter(uptime, .unsignedInt(4242))] },
                            key: device, topic: topics.commandResults),
            ])
            #expect(try await eventually(timeout: .seconds(60)) {
                try await reader.parameters(device, logger: logger).first { $0.path == uptime }?.value == .unsignedInt(4242)
            })
            let parameters = try await reader.parameters(device, logger: logger)
            #expect(parameters.first { $0.path == channel }?.value == .unsignedInt(11))
            #expect(parameters.first { $0.path == channel }?.desired == nil)
            #expect(try await reader.commands(device, pendingOnly: false, logger: logger).map(\.status).sorted() == ["succeeded", "succeeded"])
        }
    }

    @Test func commandsAndResultsForDevicesNotYetSeenAreKeptUntilTheyAppear() async throws {
        let harness = try await TwinHarness.make(partitions: 1)
        let known = "00D09E-HGW-KNOWN-\(UUID().uuidString.prefix(6))", early = "00D09E-HGW-EARLY-\(UUID().uuidString.prefix(6))"
        let t = Date(timeIntervalSince1970: 1_795_700_000)
        try await harness.run { _, reader, producer in
            let logger = TestEnvironment.logger
            let topics = harness.topics
            _ = try await producer.send(Events.record(Events.inform(known, at: t, software: "1.0"), topic: topics.deviceEvents))
            #expect(try await eventually(timeout: .seconds(60)) { try await reader.device(known, logger: logger) != nil })
            // A command and its result for a device whose first event comes later (the Refresh
            // the dispatcher answers a first session with can be read before that session's
            // events), next to an undecodable record and a known device's command.
            let sent = try await producer.sendAll([
                Self.record(Self.requested(early, "e1", at: t) { $0.reboot.commandKey = "x" }, key: early, topic: topics.commands),
                OutgoingRecord(topic: topics.commands, key: known, value: [0x0a, 0xff, 0xff]),
                Self.record(Self.requested(known, "k1", at: t) { $0.reboot.commandKey = "y" }, key: known, topic: topics.commands),
                Self.record(Self.result(early, "e1", at: t + 1, .succeeded), key: early, topic: topics.commandResults),
                Self.record(Self.result(known, "k1", at: t + 1, .succeeded), key: known, topic: topics.commandResults),
            ])
            #expect(try await eventually(timeout: .seconds(60)) {
                try await reader.commands(known, pendingOnly: false, logger: logger).first?.status == "succeeded"
            })
            // Only the undecodable record is a dead letter.
            let letters = try await deadLetters(harness, from: Set(topics.all), count: 1)
            #expect(letters[TopicPartition(topic: topics.commands, partition: 0)]?[sent[1].offset] == "undecodable")
            #expect(letters[TopicPartition(topic: topics.commands, partition: 0)]?[sent[0].offset] == nil)
            #expect(letters[TopicPartition(topic: topics.commandResults, partition: 0)] == nil)
            // The device appears: its command is there, finished.
            #expect(try await reader.device(early, logger: logger) == nil)
            _ = try await producer.send(Events.record(Events.inform(early, at: t + 2, software: "1.0"), topic: topics.deviceEvents))
            #expect(try await eventually(timeout: .seconds(60)) { try await reader.device(early, logger: logger) != nil })
            let commands = try await reader.commands(early, pendingOnly: false, logger: logger)
            #expect(commands.map(\.commandID) == ["e1"])
            #expect(commands.first?.status == "succeeded")
            #expect(commands.first?.kind == "reboot")
        }
    }

    /// Reads dead letters whose source is one of `topics` until `count` arrived (30 s at most).
    func deadLetters(_ harness: TwinHarness, from topics: Set<String>, count: Int) async throws -> [TopicPartition: [Int64: String]] {
        let consumer = try KafkaConsumer(
            configuration: harness.environment.kafka(), options: .init(groupID: TestEnvironment.unique("dlq"), topics: [Topic.deadLetter]),
            logger: TestEnvironment.logger)
        let timeout = Task { try await Task.sleep(for: .seconds(30)); consumer.requestShutdown() }
        var letters: [TopicPartition: [Int64: String]] = [:], seen = 0
        for await batch in consumer.batches {
            for record in batch {
                let letter = try Twinfleet_Bus_V1_DeadLetter(serializedBytes: record.value)
                guard topics.contains(letter.sourceTopic) else { continue }
                letters[TopicPartition(topic: letter.sourceTopic, partition: letter.sourcePartition), default: [:]][letter.sourceOffset] = letter.errorCode
                seen += 1
            }
            if seen >= count { break }
        }
        timeout.cancel()
        await consumer.shutdown()
        return letters
    }
}
