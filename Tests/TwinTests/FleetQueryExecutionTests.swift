import FleetQuery
import Foundation
import PostgresNIO
import ShardedPostgres
import Testing
import TestSupport
import Twin

/// Fleet queries on real shards against a brute-force scan of the same devices in memory.
@Suite(.serialized) struct FleetQueryExecutionTests {
    static let now = Date(timeIntervalSince1970: 1_796_000_000)

    /// A deterministic fleet: varied fields, tags and parameters, with NULLs, odd values and IDs
    /// whose byte order differs from dictionary order.
    static func fleet(count: Int, map: ShardMap) -> [DeviceSnapshot] {
        var generator = SplitMix(seed: 42)
        let versions = ["1.0", "1.9", "1.10", "2.0.1", "2.1", "2.1.0-rc1", "V2.10", nil]
        let models = ["XG-100", "XG-200", "HGW_X", "ont-9", nil]
        let tagSets: [[String]] = [[], ["beta"], ["beta", "north"], ["north"], ["vip", "beta"]]
        let ssids = ["home", "Guest", "home_5g", "x%y", "naïve", ""]
        return (0..<count).map { index in
            let prefix = ["00D09E", "a0b1c2", "Z", "zz", "_x"][index % 5]
            let id = "\(prefix)-HGW-\(String(format: "%05d", generator.next() % 100_000))-\(index)"
            var parameters: [String: ParameterSnapshot] = [
                "Device.WiFi.Radio.1.Channel": ParameterSnapshot(value: String([1, 6, 11, 36, 149][index % 5]), type: "unsignedInt"),
                "Device.WiFi.SSID.1.SSID": .string(ssids[index % ssids.count]),
                "Device.DeviceInfo.UpTime": ParameterSnapshot(value: String(generator.next() % 1_000_000), type: "unsignedInt"),
                "Device.WiFi.": .object,
            ]
            if index % 3 == 0 { parameters["Device.WiFi.SSID.2.SSID"] = .string("iot-\(index % 4)") }
            if index % 7 == 0 { parameters["Device.X_ACME_Temp"] = ParameterSnapshot(value: ["-3.5", "41", "junk"][index % 3], type: index % 3 == 2 ? "string" : "decimal") }
            if index % 4 == 0 { parameters["Device.Ethernet.Interface.1.Enable"] = ParameterSnapshot(value: index % 8 == 0 ? "true" : "false", type: "boolean") }
            let partition = map.partition(forDevice: id)
            return DeviceSnapshot(
                deviceID: id, partition: Int64(partition), tenant: index % 2 == 0 ? "tenant-a" : "tenant-b",
                protocol: index % 6 == 0 ? "usp" : "cwmp", oui: index % 9 == 0 ? nil : prefix, productClass: "HGW",
                serialNumber: "S\(index)", manufacturer: index % 5 == 0 ? nil : "Acme", modelName: models[index % models.count],
                hardwareVersion: index % 2 == 0 ? "hw1" : nil, softwareVersion: versions[index % versions.count],
                tags: tagSets[index % tagSets.count],
                firstSeen: now.addingTimeInterval(-Double(index) * 86_400), lastContact: now.addingTimeInterval(-Double(index % 20) * 3_600),
                lastBoot: index % 3 == 0 ? nil : now.addingTimeInterval(-Double(index) * 600),
                online: index % 2 == 1, instance: index % 2 == 1 ? "cwmp-\(index % 3)" : nil, twinVersion: Int64(index % 10),
                parameters: parameters)
        }
    }

    static let queries = [
        "", "softwareVersion = \"2.1\"", "softwareVersion < \"2.1\"", "softwareVersion >= \"1.10\"", "softwareVersion != \"2.1\"",
        "softwareVersion IS NULL", "modelName ~ \"XG-*\"", "modelName IN (\"HGW_X\", \"ont-9\")", "modelName IS NOT NULL AND NOT online = true",
        "tag = beta", "tag != beta", "tag IN (vip, north)", "tag = beta AND tag = north", "NOT tag = beta OR online = true",
        "Device.WiFi.Radio.1.Channel = 6", "Device.WiFi.Radio.1.Channel > 11", "Device.WiFi.Radio.1.Channel <= 11 AND protocol = usp",
        "Device.WiFi.Radio.1.Channel IN (1, 149)", "Device.WiFi.SSID.1.SSID = \"home\"", "Device.WiFi.SSID.1.SSID ~ \"home*\"",
        "Device.WiFi.SSID.1.SSID = \"x%y\"", "Device.WiFi.SSID.1.SSID = \"naïve\"", "Device.WiFi.SSID.1.SSID < \"home\"",
        "Device.WiFi.SSID.*.SSID = \"iot-1\"", "Device.WiFi.SSID.*.SSID ~ \"iot-*\" AND NOT Device.WiFi.SSID.1.SSID = \"home\"",
        "EXISTS Device.X_ACME_Temp", "NOT EXISTS Device.X_ACME_Temp", "Device.X_ACME_Temp > 0", "Device.X_ACME_Temp < 0",
        "Device.Ethernet.Interface.1.Enable = true", "Device.Ethernet.Interface.*.Enable = false", "Device.DeviceInfo.UpTime >= 500000",
        "lastContact > -5h", "lastContact < \"2026-11-30T00:00:00Z\"", "firstSeen >= -30d AND online = true", "lastBoot IS NULL",
        "tenant = \"tenant-a\" AND (softwareVersion > \"2\" OR tag = vip)", "partition IN (0, 1, 2)", "twinVersion >= 5",
        "deviceId ~ \"Z-*\"", "oui IS NULL OR manufacturer IS NULL", "instance = \"cwmp-1\"", "hardwareVersion != \"hw1\"",
    ]

    @Test func queriesPagesCountsAndGroupsMatchABruteForceScan() async throws {
        let environment = try TestEnvironment.current()
        let databases = try await TestDatabases.create(shards: 2, in: environment)
        try await withShardedPostgres(databases, partitionCount: 6) { postgres in
            let logger = TestEnvironment.logger
            try await postgres.migrate([PlatformMigrations.control, PlatformMigrations.shard, Outbox.migrations, TwinMigrations.shard], logger: logger)
            try await postgres.loadShardMap(logger: logger)
            let fleet = Self.fleet(count: 600, map: postgres.shardMap)
            do { try await Self.insert(fleet, into: postgres) } catch { Issue.record("\(String(reflecting: error))"); throw error }
            let reader = TwinReader(postgres: postgres)
            for text in Self.queries {
                let filter = try FleetFilter(parsing: text)
                let expected = fleet.filter { filter.matches($0, now: Self.now) }.map(\.deviceID)
                    .sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
                // Every page, following cursors, with a page size that does not divide the total.
                var seen: [String] = [], cursor: String?, pages = 0
                repeat {
                    let page: FleetPage
                    do { page = try await reader.fleet(filter, after: cursor, limit: 37, now: Self.now, logger: logger) } catch {
                        Issue.record("query \(text): \(String(reflecting: error))")
                        throw error
                    }
                    seen += page.devices.map(\.deviceID)
                    cursor = page.nextCursor
                    pages += 1
                } while cursor != nil && pages < 100
                #expect(seen == expected, "query \(text)")
                #expect(try await reader.fleetCount(filter, now: Self.now, logger: logger) == expected.count, "count \(text)")
            }
            // The oracle is not vacuous: queries select different, non-trivial sets.
            let sizes = try Self.queries.map { text in try FleetFilter(parsing: text) }.map { filter in fleet.filter { filter.matches($0, now: Self.now) }.count }
            #expect(Set(sizes).count > 20)
            #expect(sizes.filter { $0 > 0 && $0 < fleet.count }.count > 30)

            for (keyText, filterText) in [("softwareVersion", ""), ("modelName", "online = false"), ("Device.WiFi.Radio.1.Channel", "tag = beta"), ("online", "")] {
                let key = try FleetGroupKey(parsing: keyText), filter = try FleetFilter(parsing: filterText)
                var expected: [String?: Int] = [:]
                for device in fleet where filter.matches(device, now: Self.now) { expected[key.value(of: device), default: 0] += 1 }
                let groups = try await reader.fleetGroups(filter, by: key, now: Self.now, logger: logger)
                #expect(Dictionary(uniqueKeysWithValues: groups.map { ($0.value, $0.count) }) == expected, "group by \(keyText)")
                #expect(groups.map(\.count) == groups.map(\.count).sorted(by: >))
            }

            // A cursor is bound to its filter.
            let first = try await reader.fleet(try FleetFilter(parsing: "tag = beta"), after: nil, limit: 5, now: Self.now, logger: logger)
            let cursor = try #require(first.nextCursor)
            await #expect(throws: FleetQueryError.self) {
                _ = try await reader.fleet(try FleetFilter(parsing: "tag = vip"), after: cursor, limit: 5, now: Self.now, logger: logger)
            }
        }
    }

    /// Writes the snapshots straight into the shard tables (the applier is tested elsewhere).
    static func insert(_ fleet: [DeviceSnapshot], into postgres: ShardedPostgres) async throws {
        let logger = TestEnvironment.logger
        for device in fleet {
            let client = postgres.client(forPartition: Int32(device.partition))
            try await client.query("""
                INSERT INTO devices (device_id, partition, tenant_id, protocol, oui, product_class, serial_number, manufacturer,
                    model_name, hardware_version, software_version, tags, first_seen, last_contact, last_boot, online,
                    instance_id, twin_version)
                VALUES (\(device.deviceID), \(Int32(device.partition)), \(device.tenant), \(device.protocol), \(device.oui),
                    \(device.productClass), \(device.serialNumber), \(device.manufacturer), \(device.modelName),
                    \(device.hardwareVersion), \(device.softwareVersion), \(device.tags), \(device.firstSeen),
                    \(device.lastContact), \(device.lastBoot), \(device.online), \(device.instance), \(device.twinVersion))
                """, logger: logger)
            let paths = Array(device.parameters.keys)
            try await client.query("""
                INSERT INTO parameters (device_id, path, partition, value, value_type, value_since)
                SELECT \(device.deviceID), y.path, \(Int32(device.partition)), CASE WHEN y.is_null THEN NULL ELSE y.v END, y.type, now()
                FROM unnest(\(paths)::text[], \(paths.map { device.parameters[$0]!.value ?? "" })::text[],
                            \(paths.map { device.parameters[$0]!.value == nil })::bool[],
                            \(paths.map { device.parameters[$0]!.type })::text[]) AS y(path, v, is_null, type)
                """, logger: logger)
        }
    }
}

/// A small deterministic generator (SplitMix64).
struct SplitMix {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
