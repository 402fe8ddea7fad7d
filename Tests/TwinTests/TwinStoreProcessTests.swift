import BusContracts
import Foundation
import Kafka
import PostgresNIO
import ShardedPostgres
import Testing
import TestSupport
import Twin
import TwinfleetModel

/// The twin-store executable, killed with SIGKILL mid-stream and restarted.
@Suite struct TwinStoreProcessTests {
    @Test func killAndRestartLosesAndDuplicatesNothing() async throws {
        let harness = try await TwinHarness.make(partitions: 4)
        let devices = (0..<300).map { "00D09E-HGW-K\(String(format: "%05d", $0))" }
        let t0 = Date(timeIntervalSince1970: 1_795_400_000)
        var events: [Twinfleet_Bus_V1_DeviceEvent] = []
        for device in devices {
            events.append(Events.inform(device, at: t0, software: "1.0", parameters: [
                Events.parameter("Device.ManagementServer.ConnectionRequestURL", .string("http://cpe/\(device)")),
            ]))
            events.append(Events.report(device, at: t0 + 1, (1...30).map {
                Events.parameter("Device.Hosts.Host.\($0).Active", .boolean(true))
            }))
            for step in 1...3 {
                events.append(Events.valueChange(device, at: t0 + Double(1 + step), [Events.parameter("Device.WiFi.Radio.1.Channel", .unsignedInt(UInt32(step)))]))
            }
        }
        let producer = try KafkaProducer(configuration: harness.environment.kafka(), logger: TestEnvironment.logger)
        _ = try await producer.sendAll(events.map { Events.record($0, topic: harness.topic) })
        await producer.shutdown()

        var variables = harness.environment.childEnvironment(postgres: harness.databases)
        variables["KAFKA_PARTITIONS"] = String(harness.partitions)
        variables["TWINSTORE_EVENTS_TOPIC"] = harness.topics.deviceEvents
        variables["TWINSTORE_COMMANDS_TOPIC"] = harness.topics.commands
        variables["TWINSTORE_RESULTS_TOPIC"] = harness.topics.commandResults
        variables["TWINSTORE_GROUP"] = TestEnvironment.unique("twin-store")
        variables["TWINSTORE_BATCH_SIZE"] = "15"
        variables["HTTP_PORT"] = "0"
        var service = try ChildProcess("twinfleet-twin-store", [], environment: harness.environment, variables: variables)

        try await withShardedPostgres(harness.databases, partitionCount: harness.partitions) { postgres in
            func total(_ query: PostgresQuery) async throws -> Int { try await sumOverShards(postgres, query) }
            let started = await eventually(timeout: .seconds(120)) {
                (try? await total("SELECT count(*)::int FROM devices")) ?? 0 > 40
            }
            #expect(started, "twin-store did not start applying: \(service.standardErrorTail)")
            service.signal(SIGKILL)
            _ = await service.waitForExit(timeout: .seconds(10))
            let atKill = try await total("SELECT coalesce(sum(twin_version), 0)::int FROM devices")
            #expect(atKill < devices.count * 5, "the kill should land mid-stream")
            service = try ChildProcess("twinfleet-twin-store", [], environment: harness.environment, variables: variables)
            let finished = await eventually(timeout: .seconds(180), every: .milliseconds(500)) {
                (try? await total("SELECT coalesce(sum(twin_version), 0)::int FROM devices")) ?? 0 >= devices.count * 5
            }
            #expect(finished, "twin-store did not finish: \(service.standardErrorTail)")
            try await Task.sleep(for: .seconds(2))
            // Exactly once: every device at version 5 (inform, report, 3 changes), 2 history
            // rows each (the channel's superseded values 1 and 2), offsets covering every record.
            #expect(try await total("SELECT count(*)::int FROM devices WHERE twin_version = 5") == devices.count)
            #expect(try await total("SELECT count(*)::int FROM parameter_history") == devices.count * 2)
            #expect(try await total("SELECT count(*)::int FROM parameters") == devices.count * 32)
            #expect(try await total("SELECT count(*)::int FROM parameters WHERE path = 'Device.WiFi.Radio.1.Channel' AND value = '3'") == devices.count)
            #expect(try await total("SELECT coalesce(sum(next_offset), 0)::int FROM consumer_offsets") == events.count)
            // Twin changes reach Kafka through the outbox, which drains.
            let drained = await eventually(timeout: .seconds(30)) {
                (try? await total("SELECT count(*)::int FROM outbox")) == 0
            }
            #expect(drained)
        }
        service.signal(SIGTERM)
        #expect(await service.waitForExit(timeout: .seconds(30)) == 0, "graceful stop failed: \(service.standardErrorTail)")
    }
}
