import BusContracts
import Foundation
import Kafka
import PostgresNIO
import ShardedPostgres
import Testing
import TestSupport
import Twin
import TwinfleetModel

@Suite(.serialized) struct TwinEventApplierTests {
    func total(_ postgres: ShardedPostgres, _ query: PostgresQuery) async throws -> Int {
        try await sumOverShards(postgres, query)
    }

    @Test func eventsForManyDevicesLandOnTheirShardsAndReplayChangesNothing() async throws {
        let harness = try await TwinHarness.make(partitions: 6)
        let devices = (0..<400).map { "00D09E-HGW-\(String(format: "S%05d", $0 * 37))" }
        let t0 = Date(timeIntervalSince1970: 1_795_000_000)
        var events: [Twinfleet_Bus_V1_DeviceEvent] = []
        for device in devices {
            events.append(Events.inform(device, at: t0, software: "1.0", parameters: [
                Events.parameter("Device.ManagementServer.ConnectionRequestURL", .string("http://10.0.0.1:7547/\(device)")),
            ]))
            // A full synchronisation in two chunks.
            let all = (1...20).map { Events.parameter("Device.Ethernet.Interface.\($0).Enable", .boolean($0 % 2 == 0), writable: true) }
            events.append(Events.report(device, at: t0 + 1, root: "Device.", reportID: "sync-\(device)", final: false, Array(all[0..<10])))
            events.append(Events.report(device, at: t0 + 1, root: "Device.", reportID: "sync-\(device)", final: true, Array(all[10...]) + [
                Events.parameter("Device.DeviceInfo.SoftwareVersion", .string("1.0")),
                Events.parameter("Device.WiFi.Radio.1.Channel", .unsignedInt(6), writable: true),
            ]))
            events.append(Events.valueChange(device, at: t0 + 2, [Events.parameter("Device.WiFi.Radio.1.Channel", .unsignedInt(11))]))
            // The same value again: no history row.
            events.append(Events.valueChange(device, at: t0 + 3, [Events.parameter("Device.WiFi.Radio.1.Channel", .unsignedInt(11))]))
            events.append(Events.presence(device, at: t0 + 4, .sessionOpened, instance: "cwmp-1"))
        }
        let snapshot: (history: Int, parameters: Int, versions: Int)
        let group = TestEnvironment.unique("twin")
        snapshot = try await harness.run(group: group) { postgres, reader, producer in
            _ = try await producer.sendAll(events.map { Events.record($0, topic: harness.topic) })
            let applied = try await eventually(timeout: .seconds(120), every: .milliseconds(250)) {
                try await total(postgres, "SELECT count(*)::int FROM devices WHERE online") == devices.count
            }
            #expect(applied)
            let map = postgres.shardMap
            for (index, shard) in postgres.shards.enumerated() {
                let rows = try await shard.query("SELECT device_id, partition FROM devices", logger: TestEnvironment.logger)
                for try await (device, partition) in rows.decode((String, Int32).self) {
                    #expect(partition == map.partition(forDevice: device))
                    #expect(map.shard(forPartition: partition) == index)
                }
            }
            // 20 interfaces + software version + channel + CR URL from the Inform; the full sync
            // replaced Device. so the Inform's CR URL (not in the sync) is gone.
            let sample = try #require(try await reader.device(devices[7], logger: TestEnvironment.logger))
            #expect(sample.softwareVersion == "1.0")
            #expect(sample.manufacturer == "Acme")
            #expect(sample.instanceID == "cwmp-1")
            #expect(sample.online)
            #expect(sample.connectionRequestURL == "http://10.0.0.1:7547/\(devices[7])")
            let parameters = try await reader.parameters(devices[7], logger: TestEnvironment.logger)
            #expect(parameters.count == 22)
            #expect(parameters.first { $0.path == "Device.WiFi.Radio.1.Channel" }?.value == .unsignedInt(11))
            #expect(!parameters.contains { $0.path == "Device.ManagementServer.ConnectionRequestURL" })
            // History keeps superseded values only: the CR URL the full sync removed, and the
            // channel before its change (new paths and the repeated value add nothing).
            let history = try await total(postgres, "SELECT count(*)::int FROM parameter_history")
            #expect(history == devices.count * 2)
            return (history, try await total(postgres, "SELECT count(*)::int FROM parameters"),
                    try await total(postgres, "SELECT sum(twin_version)::int FROM devices"))
        }
        // The same consumer group restarted resumes from its stored offsets, and records sent
        // twice (a producer retry re-sending each device's trailing events) change nothing.
        let duplicates = stride(from: 3, to: events.count, by: 6).flatMap { events[$0...($0 + 2)] }
        try await harness.run(group: group) { postgres, _, producer in
            _ = try await producer.sendAll(duplicates.map { Events.record($0, topic: harness.topic) })
            let caughtUp = try await eventually(timeout: .seconds(120), every: .milliseconds(500)) {
                try await total(postgres, "SELECT coalesce(sum(next_offset), 0)::int FROM consumer_offsets") == events.count + duplicates.count
            }
            #expect(caughtUp)
            #expect(try await total(postgres, "SELECT count(*)::int FROM parameter_history") == snapshot.history)
            #expect(try await total(postgres, "SELECT count(*)::int FROM parameters") == snapshot.parameters)
            #expect(try await total(postgres, "SELECT sum(twin_version)::int FROM devices") == snapshot.versions)
        }
    }

    /// Events of many devices interleaved record by record, as overlapping sessions put them on a
    /// partition: each device's events are applied in its own order (they are written in waves,
    /// see `TwinApplier`), which shows in its values, its history and its twin changes.
    @Test func interleavedEventsOfManyDevicesApplyInEachDevicesOwnOrder() async throws {
        let harness = try await TwinHarness.make(partitions: 3)
        let run = UUID().uuidString.prefix(6)
        let devices = (0..<60).map { "00D09E-HGW-WAVE\(run)-\($0)" }
        let t0 = Date(timeIntervalSince1970: 1_795_400_000)
        let channel = "Device.WiFi.Radio.1.Channel"
        func steps(_ device: String) -> [Twinfleet_Bus_V1_DeviceEvent] {
            [
                Events.inform(device, at: t0, software: "1.0", parameters: [Events.parameter(channel, .unsignedInt(1))]),
                Events.valueChange(device, at: t0 + 1, [Events.parameter(channel, .unsignedInt(2))]),
                Events.presence(device, at: t0 + 2, .sessionOpened, instance: "cwmp-a"),
                Events.valueChange(device, at: t0 + 3, [Events.parameter(channel, .unsignedInt(3))]),
                Events.presence(device, at: t0 + 4, .disconnected, instance: "cwmp-a"),
            ]
        }
        let perDevice = devices.map(steps)
        // Round-robin: the first event of every device, then the second of every device, ...
        let stream = (0..<5).flatMap { step in perDevice.map { $0[step] } }
        try await harness.run { postgres, reader, producer in
            let watcher = try KafkaConsumer(
                configuration: harness.environment.kafka(), options: .init(groupID: TestEnvironment.unique("changes"), topics: [Topic.twinChanges]),
                logger: TestEnvironment.logger)
            _ = try await producer.sendAll(stream.map { Events.record($0, topic: harness.topic) })
            var changes: [String: [Twinfleet_Bus_V1_TwinChange]] = [:]
            let wanted = Set(devices)
            let timeout = Task { try await Task.sleep(for: .seconds(60)); watcher.requestShutdown() }
            for await batch in watcher.batches {
                for record in batch where wanted.contains(record.keyString ?? "") {
                    changes[record.keyString!, default: []].append(try Twinfleet_Bus_V1_TwinChange(serializedBytes: record.value))
                }
                if devices.allSatisfy({ changes[$0]?.count == 5 }) { break }
            }
            timeout.cancel()
            await watcher.shutdown()
            for device in devices {
                let twin = try #require(try await reader.device(device, logger: TestEnvironment.logger))
                #expect(!twin.online, "\(device): the disconnection came last")
                #expect(twin.instanceID == "cwmp-a")
                #expect(try await reader.parameters(device, logger: TestEnvironment.logger).first { $0.path == channel }?.value == .unsignedInt(3))
                let published = changes[device] ?? []
                #expect(published.map(\.twinVersion) == [1, 2, 3, 4, 5], "\(device)")
                #expect(published.map { $0.parameterChanges.first?.newValue.unsignedIntValue } == [1, 2, nil, 3, nil], "\(device)")
                #expect(published.map { $0.deviceFieldChanges.first { $0.field == "online" }?.newValue } == [nil, nil, "true", nil, "false"], "\(device)")
            }
            // Superseded values, each with the interval it held.
            let shard = postgres.client(forPartition: postgres.shardMap.partition(forDevice: devices[0]))
            var history: [(String, Date, Date)] = []
            for try await row in try await shard.query("""
                SELECT value, valid_from, changed_at FROM parameter_history WHERE device_id = \(devices[0]) AND path = \(channel) ORDER BY changed_at
                """, logger: TestEnvironment.logger).decode((String, Date, Date).self) {
                history.append(row)
            }
            #expect(history.map(\.0) == ["1", "2"])
            #expect(history.map(\.1) == [t0, t0 + 1])
            #expect(history.map(\.2) == [t0 + 1, t0 + 3])
            #expect(try await total(postgres, "SELECT count(*)::int FROM parameter_history") == devices.count * 2)
        }
    }

    @Test func historyHoldsRealChangesAndAnswersAsOfQueries() async throws {
        let harness = try await TwinHarness.make()
        let device = "00D09E-HGW-ASOF1"
        let t1 = Date(timeIntervalSince1970: 1_795_100_000)
        let events = [
            Events.report(device, at: t1, root: "Device.", reportID: "r1", [
                Events.parameter("Device.WiFi.SSID.1.SSID", .string("home")),
                Events.parameter("Device.X_ACME_Debug.Level", .unsignedInt(1)),
            ]),
            Events.valueChange(device, at: t1 + 60, [Events.parameter("Device.WiFi.SSID.1.SSID", .string("home-5g"))]),
            Events.report(device, at: t1 + 120, root: "Device.", reportID: "r2", [
                Events.parameter("Device.WiFi.SSID.1.SSID", .string("home-5g")),
            ]),
        ]
        try await harness.run { postgres, reader, producer in
            _ = try await producer.sendAll(events.map { Events.record($0, topic: harness.topic) })
            let applied = try await eventually(timeout: .seconds(60)) {
                (try await reader.device(device, logger: TestEnvironment.logger)?.twinVersion ?? 0) == 3
            }
            #expect(applied)
            let logger = TestEnvironment.logger
            #expect(try await reader.parameters(device, asOf: t1 - 1, logger: logger).isEmpty)
            #expect(try await reader.parameters(device, asOf: t1 + 30, logger: logger) == [
                "Device.WiFi.SSID.1.SSID": .string("home"), "Device.X_ACME_Debug.Level": .unsignedInt(1),
            ])
            #expect(try await reader.parameters(device, asOf: t1 + 90, logger: logger)["Device.WiFi.SSID.1.SSID"] == .string("home-5g"))
            // The second full sync no longer had the vendor parameter: removed at t1+120.
            #expect(try await reader.parameters(device, asOf: t1 + 130, logger: logger) == ["Device.WiFi.SSID.1.SSID": .string("home-5g")])
            let history = try await reader.history(device, path: "Device.WiFi.SSID.1.SSID", from: t1, to: t1 + 200, logger: logger)
            #expect(history.map(\.value) == [.string("home"), .string("home-5g")], "the unchanged value in r2 must not add history")
            let removed = try await reader.history(device, path: "Device.X_ACME_Debug.Level", from: t1, to: t1 + 200, logger: logger)
            #expect(removed.map(\.value) == [.unsignedInt(1), nil])
        }
    }

    /// A new twin's first values go in with COPY: awkward text reads back byte for byte, the
    /// instant is the event's to the microsecond, and the same values reported again are
    /// recognised as unchanged (no history) by the compare-and-upsert path.
    @Test func aNewTwinsCopiedValuesReadBackExactlyAndCompareEqualLater() async throws {
        let harness = try await TwinHarness.make(partitions: 1)
        let device = "00D09E-COPY-" + UUID().uuidString.prefix(6)
        // An instant the bus can carry (events travel in whole microseconds).
        let t = Date(unixMicroseconds: Date(timeIntervalSince1970: 1_795_400_000.1234567).unixMicroseconds)
        let awkward: [String: ParameterValue] = [
            "Device.X_ACME_Note.Text": .string("tab\there\nnew line\\back\\slash \\N ünï ✓"),
            "Device.X_ACME_Note.Empty": .string(""),
            "Device.DeviceInfo.UpTime": .unsignedInt(4_294_967_295),
            "Device.DeviceInfo.FirstUseDate": .dateTime(Date(timeIntervalSince1970: 1_700_000_000)),
            "Device.WiFi.SSID.1.Enable": .boolean(true),
        ]
        let parameters = awkward.sorted { $0.key < $1.key }.map { Events.parameter($0.key, $0.value) }
        var changed = parameters
        changed[0] = Events.parameter(parameters[0].path, .string("changed"))
        let events = [
            Events.report(device, at: t, root: "Device.", reportID: "r1", parameters),
            Events.report(device, at: t + 60, root: "Device.", reportID: "r2", parameters),
            Events.report(device, at: t + 120, root: "Device.", reportID: "r3", changed),
        ]
        try await harness.run { postgres, reader, producer in
            let logger = TestEnvironment.logger
            _ = try await producer.sendAll(events.map { Events.record($0, topic: harness.topic) })
            let applied = try await eventually(timeout: .seconds(60)) {
                (try await reader.device(device, logger: logger)?.twinVersion ?? 0) == 2
            }
            #expect(applied, "r1 and r3 change the twin; r2 changes nothing")
            #expect(try await reader.parameters(device, asOf: t, logger: logger) == awkward)
            #expect(try await reader.parameters(device, asOf: t - 0.000_001, logger: logger).isEmpty)
            #expect(try await reader.parameters(device, asOf: t + 90, logger: logger) == awkward)
            let rows = try await total(postgres, "SELECT count(*)::int FROM parameter_history WHERE device_id = \(device)")
            #expect(rows == 1, "only r3's change supersedes a value")
            let now = try await reader.parameters(device, asOf: t + 130, logger: logger)
            #expect(now[parameters[0].path] == .string("changed"))
            #expect(now.count == awkward.count)
        }
    }

    /// The first full synchronisation after an Inform that stored a few values: the new paths go
    /// in with COPY, the stored ones through the compare-and-upsert (history for the one that
    /// changed), and a second identical synchronisation changes nothing.
    @Test func aFirstSyncAfterAnInformMixesCopiedAndComparedValues() async throws {
        let harness = try await TwinHarness.make(partitions: 1)
        let device = "00D09E-SPARSE-" + UUID().uuidString.prefix(6)
        let t = Date(timeIntervalSince1970: 1_795_500_000)
        let informed = [
            Events.parameter("Device.DeviceInfo.SoftwareVersion", .string("1.0")),
            Events.parameter("Device.ManagementServer.ConnectionRequestURL", .string("http://192.0.2.1:7547/cr")),
        ]
        var synced: [String: ParameterValue] = [
            "Device.DeviceInfo.SoftwareVersion": .string("1.1"),
            "Device.ManagementServer.ConnectionRequestURL": .string("http://192.0.2.1:7547/cr"),
        ]
        for index in 1...10 { synced["Device.WiFi.SSID.\(index).SSID"] = .string("net-\(index)") }
        let report = synced.sorted { $0.key < $1.key }.map { Events.parameter($0.key, $0.value) }
        let events = [
            Events.inform(device, at: t, software: "1.0", parameters: informed),
            Events.report(device, at: t + 60, root: "Device.", reportID: "s1", report),
            Events.report(device, at: t + 120, root: "Device.", reportID: "s2", report),
        ]
        try await harness.run { postgres, reader, producer in
            let logger = TestEnvironment.logger
            _ = try await producer.sendAll(events.map { Events.record($0, topic: harness.topic) })
            let applied = try await eventually(timeout: .seconds(60)) {
                let count = try await reader.parameters(device, asOf: t + 200, logger: logger).count
                let marked = try await total(postgres, "SELECT count(*)::int FROM parameters WHERE device_id = \(device) AND sync_id = 's2'")
                return count == synced.count && marked == synced.count
            }
            #expect(applied)
            #expect(try await reader.parameters(device, asOf: t + 30, logger: logger) == [
                "Device.DeviceInfo.SoftwareVersion": .string("1.0"),
                "Device.ManagementServer.ConnectionRequestURL": .string("http://192.0.2.1:7547/cr"),
            ])
            #expect(try await reader.parameters(device, asOf: t + 90, logger: logger) == synced)
            let history = try await reader.history(device, path: "Device.DeviceInfo.SoftwareVersion", from: t, to: t + 200, logger: logger)
            #expect(history.map(\.value) == [.string("1.0"), .string("1.1")])
            #expect(try await total(postgres, "SELECT count(*)::int FROM parameter_history WHERE device_id = \(device)") == 1,
                    "only the changed software version supersedes a value")
        }
    }

    /// A full sync removes what the twin no longer has, whether the twin had a few rows before
    /// (an Inform's) or none; a new twin's first sync has nothing to remove, and a later sync of
    /// the same twin does.
    @Test func aFullSyncRemovesWhatTheTwinNoLongerHasWhetherItHadRowsOrNot() async throws {
        let harness = try await TwinHarness.make(partitions: 2)
        let run = UUID().uuidString.prefix(6)
        let informed = "00D09E-FULL-\(run)-A", chunked = "00D09E-FULL-\(run)-B", fresh = "00D09E-FULL-\(run)-C"
        let t = Date(timeIntervalSince1970: 1_795_600_000)
        let ssids = (1...20).map { Events.parameter("Device.WiFi.SSID.\($0).SSID", .string("net-\($0)")) }
        let events = [
            Events.inform(informed, at: t, software: "1.0", parameters: [
                Events.parameter("Device.DeviceInfo.SoftwareVersion", .string("1.0")),
                Events.parameter("Device.DeviceInfo.ProvisioningCode", .string("old")),
            ]),
            Events.report(informed, at: t + 1, root: "Device.", reportID: "a1", ssids + [Events.parameter("Device.DeviceInfo.SoftwareVersion", .string("1.0"))]),
            Events.report(chunked, at: t + 1, root: "Device.", reportID: "b1", final: false, Array(ssids[0..<10])),
            Events.report(chunked, at: t + 1, root: "Device.", reportID: "b1", final: true, Array(ssids[10...])),
            Events.report(fresh, at: t + 1, root: "Device.", reportID: "c1", ssids),
            Events.report(fresh, at: t + 2, root: "Device.", reportID: "c2", Array(ssids[0..<15])),
        ]
        try await harness.run { _, reader, producer in
            let logger = TestEnvironment.logger
            _ = try await producer.sendAll(events.map { Events.record($0, topic: harness.topic) })
            // The devices may sit on different partitions: wait for the last record of each.
            let applied = try await eventually(timeout: .seconds(60)) {
                let freshCount = try await reader.parameters(fresh, asOf: t + 10, logger: logger).count
                let chunkedCount = try await reader.parameters(chunked, asOf: t + 10, logger: logger).count
                let informedSynced = try await reader.parameters(informed, asOf: t + 10, logger: logger)["Device.WiFi.SSID.20.SSID"] != nil
                return freshCount == 15 && chunkedCount == 20 && informedSynced
            }
            #expect(applied)
            let a = try await reader.parameters(informed, asOf: t + 10, logger: logger)
            #expect(a.count == 21)
            #expect(a["Device.DeviceInfo.ProvisioningCode"] == nil, "the Inform's value the sync did not report is removed")
            #expect(try await reader.parameters(chunked, asOf: t + 10, logger: logger).count == 20, "both chunks of one sync stay")
            #expect(try await reader.parameters(fresh, asOf: t + 1.5, logger: logger).count == 20)
            #expect(try await reader.parameters(fresh, asOf: t + 10, logger: logger)["Device.WiFi.SSID.16.SSID"] == nil)
        }
    }

    @Test func createdObjectsBringTheirUniqueKeysAndDeletedObjectsLeave() async throws {
        let harness = try await TwinHarness.make(partitions: 1)
        let device = "os::OBJ-" + UUID().uuidString.prefix(6)
        let t = Date(timeIntervalSince1970: 1_795_300_000)
        let created = Events.envelope(device, at: t, protocol: .usp) {
            $0.objectCreated.path = "Device.Hosts.Host.7."
            $0.objectCreated.uniqueKeys = ["PhysAddress": "02:5a:00:00:00:01"]
        }
        let deleted = Events.envelope(device, at: t + 60, protocol: .usp) { $0.objectDeleted.path = "Device.Hosts.Host.7." }
        let events = [
            Events.report(device, at: t - 60, root: "Device.", reportID: "r1", [Events.parameter("Device.Hosts.Host.1.PhysAddress", .string("00:11:22:33:44:55"))]),
            created, deleted,
        ]
        try await harness.run { _, reader, producer in
            let logger = TestEnvironment.logger
            _ = try await producer.sendAll(events.map { Events.record($0, topic: harness.topic) })
            let applied = try await eventually(timeout: .seconds(60)) {
                (try await reader.device(device, logger: logger)?.twinVersion ?? 0) == 3
            }
            #expect(applied)
            #expect(try await reader.parameters(device, asOf: t + 30, logger: logger)["Device.Hosts.Host.7.PhysAddress"] == .string("02:5a:00:00:00:01"))
            let now = try await reader.parameters(device, asOf: t + 90, logger: logger)
            #expect(now == ["Device.Hosts.Host.1.PhysAddress": .string("00:11:22:33:44:55")])
        }
    }

    @Test func badRecordsAreDeadLetteredAndNeighboursApplied() async throws {
        let harness = try await TwinHarness.make(partitions: 1)
        let t = Date(timeIntervalSince1970: 1_795_200_000)
        let good = ["00D09E-HGW-GOOD1", "00D09E-HGW-GOOD2"]
        var bad = Events.valueChange("00D09E-HGW-BAD", at: t, [])
        bad.valueChange.parameters = [{ var p = Twinfleet_Bus_V1_Parameter(); p.path = "Device..Broken"; p.value.stringValue = "x"; return p }()]
        var empty = Events.envelope("00D09E-HGW-EMPTY", at: t) { _ in }
        empty.body = nil
        // PostgreSQL text cannot hold NUL: the new twin's COPY fails, and only that record goes.
        let nul = Events.report("00D09E-HGW-NUL", at: t, root: "Device.", reportID: "n1",
                                (1...10).map { Events.parameter("Device.WiFi.SSID.\($0).SSID", .string($0 == 5 ? "a\u{0}b" : "ok")) })
        let records = [
            Events.record(Events.inform(good[0], at: t, software: "2.0"), topic: harness.topic),
            OutgoingRecord(topic: harness.topic, key: "garbage", value: [0xff, 0x00, 0x13, 0x37]),
            Events.record(bad, topic: harness.topic),
            Events.record(empty, topic: harness.topic),
            OutgoingRecord(topic: harness.topic, key: "someone-else", value: try Events.inform(good[1], at: t, software: "2.0").serializedBytes()),
            Events.record(nul, topic: harness.topic),
            Events.record(Events.inform(good[1], at: t, software: "2.1"), topic: harness.topic),
        ]
        try await harness.run { postgres, reader, producer in
            let reports = try await producer.sendAll(records)
            let done = try await eventually(timeout: .seconds(60)) {
                try await reader.device(good[1], logger: TestEnvironment.logger)?.softwareVersion == "2.1"
            }
            #expect(done)
            #expect(try await reader.device(good[0], logger: TestEnvironment.logger)?.softwareVersion == "2.0")
            #expect(try await reader.device("00D09E-HGW-BAD", logger: TestEnvironment.logger) == nil)
            #expect(try await reader.device("00D09E-HGW-NUL", logger: TestEnvironment.logger) == nil)
            // Five dead letters, with their reasons.
            let reader = try KafkaConsumer(
                configuration: harness.environment.kafka(), options: .init(groupID: TestEnvironment.unique("dlq"), topics: [Topic.deadLetter]),
                logger: TestEnvironment.logger)
            let timeout = Task { try await Task.sleep(for: .seconds(30)); reader.requestShutdown() }
            var codes: [Int64: String] = [:]
            for await batch in reader.batches {
                for record in batch {
                    let letter = try Twinfleet_Bus_V1_DeadLetter(serializedBytes: record.value)
                    if letter.sourceTopic == harness.topic { codes[letter.sourceOffset] = letter.errorCode }
                }
                if codes.count >= 5 { break }
            }
            timeout.cancel()
            await reader.shutdown()
            #expect(codes == [
                reports[1].offset: "undecodable", reports[2].offset: "invalid-parameter",
                reports[3].offset: "empty-event", reports[4].offset: "key-mismatch", reports[5].offset: "apply-failed",
            ])
        }
    }

    @Test func twinChangesArePublishedAfterCommit() async throws {
        let harness = try await TwinHarness.make()
        let device = "00D09E-HGW-CHG-\(UUID().uuidString.prefix(6))"
        let t = Date(timeIntervalSince1970: 1_795_300_000)
        try await harness.run { _, _, producer in
            let watcher = try KafkaConsumer(
                configuration: harness.environment.kafka(), options: .init(groupID: TestEnvironment.unique("changes"), topics: [Topic.twinChanges]),
                logger: TestEnvironment.logger)
            _ = try await producer.sendAll([
                Events.inform(device, at: t, software: "3.0", parameters: [Events.parameter("Device.WiFi.Radio.1.Channel", .unsignedInt(1))]),
                Events.valueChange(device, at: t + 1, [Events.parameter("Device.WiFi.Radio.1.Channel", .unsignedInt(6))]),
                Events.valueChange(device, at: t + 2, [Events.parameter("Device.WiFi.Radio.1.Channel", .unsignedInt(6))]),
            ].map { Events.record($0, topic: harness.topic) })
            let timeout = Task { try await Task.sleep(for: .seconds(30)); watcher.requestShutdown() }
            var changes: [Twinfleet_Bus_V1_TwinChange] = []
            for await batch in watcher.batches {
                for record in batch where record.keyString == device {
                    changes.append(try Twinfleet_Bus_V1_TwinChange(serializedBytes: record.value))
                }
                if changes.count >= 2 { break }
            }
            timeout.cancel()
            try await Task.sleep(for: .seconds(1))
            await watcher.shutdown()
            #expect(changes.map(\.twinVersion) == [1, 2], "the repeated value must not publish a change")
            #expect(changes.first?.deviceFieldChanges.contains { $0.field == "softwareVersion" && $0.newValue == "3.0" } == true)
            let channel = try #require(changes.last?.parameterChanges.first)
            #expect(channel.path == "Device.WiFi.Radio.1.Channel")
            #expect(channel.oldValue.unsignedIntValue == 1)
            #expect(channel.newValue.unsignedIntValue == 6)
        }
    }
}
