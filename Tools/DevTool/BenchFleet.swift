import ArgumentParser
import FleetQuery
import Foundation
import ShardedPostgres
import Twin

/// The fleet-query benchmark: loads many twins straight into the shards with COPY, then times
/// first pages, counts and a group-by through the real `TwinReader` (all shards in parallel).
struct BenchFleet: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "bench-fleet", abstract: "Fleet-query latency benchmark (prints a Markdown table).")

    @Option(help: "Twins to load.") var devices = 100_000
    @Option(help: "Timed runs of each query.") var runs = 200
    @Option(help: "Page size of the timed first pages.") var pageSize = 50
    @Option(help: "Seconds after which a query stops being repeated (once it has 10 samples).") var budgetSeconds = 20

    /// The parameters every twin carries, with a value per device.
    static let parameters: [(path: String, type: String, value: @Sendable (Int) -> String)] = {
        var list: [(String, String, @Sendable (Int) -> String)] = [
            ("Device.WiFi.Radio.1.Channel", "unsignedInt", { String([1, 6, 11][$0 % 3]) }),
            ("Device.WiFi.Radio.2.Channel", "unsignedInt", { String([36, 44, 149, 157][$0 % 4]) }),
            ("Device.WiFi.SSID.1.SSID", "string", { "home-\($0 % 5000)" }),
            ("Device.WiFi.SSID.2.SSID", "string", { "guest-\($0 % 50)" }),
            ("Device.DeviceInfo.UpTime", "unsignedInt", { String(($0 &* 7919) % 1_000_000) }),
            ("Device.DeviceInfo.MemoryStatus.Free", "unsignedInt", { String(($0 &* 104_729) % 500_000) }),
            ("Device.Ethernet.Interface.1.Enable", "boolean", { $0 % 10 == 0 ? "false" : "true" }),
            ("Device.ManagementServer.PeriodicInformInterval", "unsignedInt", { String([300, 3600, 86400][$0 % 3]) }),
        ]
        for host in 1...22 {
            list.append(("Device.Hosts.Host.\(host).PhysAddress", "string", { String(format: "02:00:%02x:%02x:%02x:%02x", host, ($0 >> 16) & 0xff, ($0 >> 8) & 0xff, $0 & 0xff) }))
        }
        return list
    }()

    static let versions = ["1.8.2", "1.9.0", "2.0.0", "2.0.1", "2.1.0", "2.1.3", "2.2.0", "2.4.1", "2.10.0", "3.0.0-rc1"]
    static let models = ["XG-100", "XG-200", "ONT-9", "MESH-3"]

    func run() async throws {
        let environment = ToolEnvironment()
        let (postgres, poolTask) = try await environment.postgres(extra: [Outbox.migrations, TwinMigrations.shard])
        defer { poolTask.cancel() }
        let logger = environment.logger
        for shard in postgres.shards {
            try await shard.query("TRUNCATE devices, parameters, parameter_history, device_events, device_commands", logger: logger)
        }
        let map = postgres.shardMap
        var deviceLines: [Int: [String]] = [:], parameterLines: [Int: [String]] = [:]
        let loadStart = ContinuousClock.now
        for index in 0..<devices {
            let id = String(format: "00D09E-%@-S%07d", Self.models[index % 4], index)
            let partition = map.partition(forDevice: id)
            let shard = map.shard(forPartition: partition)
            let tags = index % 10 == 0 ? "{beta}" : (index % 7 == 0 ? "{vip,north}" : "{}")
            deviceLines[shard, default: []].append(
                "\(id)\t\(partition)\ttenant-a\tcwmp\t00D09E\tHGW\tS\(String(format: "%07d", index))\tAcme\t\(Self.models[index % 4])\t"
                + "\(Self.versions[index % Self.versions.count])\t\(tags)\t2026-01-01T00:00:00Z\t2026-11-23T00:00:00Z\t\(index % 3 != 0)")
            for parameter in Self.parameters {
                parameterLines[shard, default: []].append("\(id)\t\(parameter.path)\t\(partition)\t\(parameter.value(index))\t\(parameter.type)\t2026-11-23T00:00:00Z")
            }
        }
        try await copyPerShard(postgres, table: "devices", columns: [
            "device_id", "partition", "tenant_id", "protocol", "oui", "product_class", "serial_number", "manufacturer", "model_name",
            "software_version", "tags", "first_seen", "last_contact", "online",
        ], linesByShard: deviceLines, logger: logger)
        try await copyPerShard(postgres, table: "parameters", columns: ["device_id", "path", "partition", "value", "value_type", "value_since"],
                               linesByShard: parameterLines, logger: logger)
        for shard in postgres.shards {
            try await shard.query("ANALYZE devices", logger: logger)
            try await shard.query("ANALYZE parameters", logger: logger)
        }
        let loadSeconds = seconds(ContinuousClock.now - loadStart)

        let reader = TwinReader(postgres: postgres)
        var rows: [(String, String, Int, [Double])] = []
        func percentile(_ samples: [Double], _ p: Double) -> String {
            String(format: "%.1f", samples[min(samples.count - 1, max(0, Int((Double(samples.count) * p).rounded(.up)) - 1))])
        }
        func time(_ label: String, _ query: String, _ work: () async throws -> Int) async throws {
            var samples: [Double] = []
            var result = 0
            let budget = ContinuousClock.now + .seconds(budgetSeconds)
            for run in 0..<(runs + 3) {
                let start = ContinuousClock.now
                result = try await work()
                // The first runs warm the connections and caches; a slow query stops at its budget.
                if run >= 3 { samples.append(seconds(ContinuousClock.now - start) * 1000) }
                if samples.count >= 10 && ContinuousClock.now > budget { break }
            }
            rows.append((label, query, result, samples.sorted()))
            // Progress on standard error, so the table on standard output stays clean.
            FileHandle.standardError.write(Data("  \(label) `\(query)`: \(samples.count) runs, p50 \(percentile(samples.sorted(), 0.5)) ms\n".utf8))
        }
        for query in [
            #"softwareVersion = "2.4.1""#, #"Device.WiFi.Radio.2.Channel = 149 AND tag = beta"#,
            #"modelName = "XG-200" AND online = true"#, #"softwareVersion < "2.1""#,
            #"serialNumber = "S0099991""#, #"Device.DeviceInfo.UpTime > 990000"#,
            #"Device.Hosts.Host.*.PhysAddress = "02:00:05:00:10:01""#,
        ] {
            let filter = try FleetFilter(parsing: query)
            try await time("first page (\(pageSize))", query) {
                try await reader.fleet(filter, after: nil, limit: pageSize, logger: logger).devices.count
            }
        }
        try await time("count", "tag = beta") { try await reader.fleetCount(try FleetFilter(parsing: "tag = beta"), logger: logger) }
        try await time("group-by softwareVersion", "(all)") {
            try await reader.fleetGroups(.matchAll, by: try FleetGroupKey(parsing: "softwareVersion"), logger: logger).count
        }
        try await time("group-by Device.WiFi.Radio.1.Channel", "modelName = \"XG-100\"") {
            try await reader.fleetGroups(try FleetFilter(parsing: "modelName = \"XG-100\""), by: try FleetGroupKey(parsing: "Device.WiFi.Radio.1.Channel"), logger: logger).count
        }
        print("""
            Fleet-query benchmark — \(devices) twins × \(Self.parameters.count) parameters (\(devices * Self.parameters.count) parameter rows), \
            \(postgres.shards.count) shards, loaded by COPY in \(String(format: "%.0f", loadSeconds)) s; \(runs) timed runs each

            | query | filter | rows returned | runs | p50 ms | p99 ms |
            |---|---|---:|---:|---:|---:|
            \(rows.map { "| \($0.0) | `\($0.1)` | \($0.2) | \($0.3.count) | \(percentile($0.3, 0.5)) | \(percentile($0.3, 0.99)) |" }.joined(separator: "\n"))
            """)
    }
}
