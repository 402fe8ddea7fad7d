import BusContracts
import FleetQuery
import Foundation
import Kafka
import PostgresNIO
import ShardedPostgres
import Testing
import TestSupport
import Twin

/// Resharding: a partition moved to another shard while the twin-store consumer runs and events
/// for it keep arriving.
@Suite(.serialized) struct PartitionMoveTests {
    @Test func aMovedPartitionKeepsApplyingExactlyOnceAndStaysQueryable() async throws {
        let harness = try await TwinHarness.make(partitions: 4)
        let devices = (0..<200).map { "00D09E-MOVE-\(String(format: "%05d", $0))" }
        let t0 = Date(timeIntervalSince1970: 1_796_100_000)
        let channel = "Device.WiFi.Radio.1.Channel"
        try await harness.run { postgres, reader, producer in
            let logger = TestEnvironment.logger
            func total(_ query: PostgresQuery) async throws -> Int { try await sumOverShards(postgres, query) }
            _ = try await producer.sendAll(devices.map {
                Events.record(Events.inform($0, at: t0, software: "1.0", parameters: [Events.parameter(channel, .unsignedInt(1))]), topic: harness.topic)
            })
            #expect(try await eventually(timeout: .seconds(120)) { try await total("SELECT count(*)::int FROM devices") == devices.count })

            let partition: Int32 = 1
            let map = postgres.shardMap
            let source = map.shard(forPartition: partition), target = 1 - source
            let moving = devices.filter { map.partition(forDevice: $0) == partition }
            #expect(moving.count > 20)
            // Value changes keep coming while the partition moves.
            let sender = Task {
                for step in 2...6 {
                    _ = try await producer.sendAll(devices.map {
                        Events.record(Events.valueChange($0, at: t0 + Double(step), [Events.parameter(channel, .unsignedInt(UInt32(step)))]), topic: harness.topic)
                    })
                    try await Task.sleep(for: .milliseconds(300))
                }
            }
            let report = try await PartitionMover(postgres: postgres, logger: logger).move(partition: partition, to: target)
            try await sender.value
            #expect(report.fromShard == source && report.toShard == target && !report.alreadyMoved)
            #expect(report.rows["devices"] == moving.count)
            #expect(report.rows["parameters"] == moving.count, "one parameter per device")
            #expect(postgres.shardMap.shard(forPartition: partition) == target)

            // Every change applied exactly once, wherever the partition was at the time.
            let done = try await eventually(timeout: .seconds(120), every: .milliseconds(500)) {
                try await total("SELECT count(*)::int FROM devices WHERE twin_version = 6") == devices.count
            }
            let versions = try await total("SELECT sum(twin_version)::int FROM devices")
            #expect(done, "versions: \(versions) of \(devices.count * 6)")
            #expect(try await total("SELECT count(*)::int FROM parameter_history") == devices.count * 5)
            #expect(try await total("SELECT count(*)::int FROM parameters WHERE value = '6'") == devices.count)

            // The rows live on the target only; the source keeps its fence.
            let onSource = postgres.client(forShard: source), onTarget = postgres.client(forShard: target)
            #expect(try await scalar(onSource, "SELECT count(*)::int FROM devices WHERE partition = 1") == 0)
            #expect(try await scalar(onSource, "SELECT count(*)::int FROM consumer_offsets WHERE partition = 1") == 0)
            #expect(try await scalar(onSource, "SELECT count(*)::int FROM partition_fences WHERE partition = 1") == 1)
            #expect(try await scalar(onTarget, "SELECT count(*)::int FROM devices WHERE partition = 1") == moving.count)
            #expect(try await scalar(onTarget, "SELECT count(*)::int FROM partition_fences") == 0)

            // Still fully queryable through the map.
            #expect(try await reader.fleetCount(.matchAll, logger: logger) == devices.count)
            let tagged = try await reader.fleet(try FleetFilter(parsing: "\(channel) = 6 AND partition = 1"), after: nil, limit: 1000, logger: logger)
            #expect(Set(tagged.devices.map(\.deviceID)) == Set(moving))
            #expect(try await reader.parameters(moving[0], logger: logger).first { $0.path == channel }?.value == .unsignedInt(6))

            // A second run finds the move done and changes nothing.
            let again = try await PartitionMover(postgres: postgres, logger: logger).move(partition: partition, to: target)
            #expect(again.alreadyMoved)
            #expect(try await scalar(onTarget, "SELECT count(*)::int FROM devices WHERE partition = 1") == moving.count)
        }
    }
}
