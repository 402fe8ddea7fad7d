import FleetQuery
import Foundation
import Logging
import PostgresNIO

/// One page of a fleet query.
public struct FleetPage: Sendable {
    /// The matching devices, in device-ID order (UTF-8 bytes).
    public var devices: [TwinDevice]
    /// Opaque cursor for the next page; nil on the last page.
    public var nextCursor: String?
}

/// Devices per value of a group key.
public struct FleetGroupCount: Sendable, Equatable {
    /// The group's value; nil groups devices without one.
    public var value: String?
    public var count: Int

    public init(value: String?, count: Int) {
        self.value = value
        self.count = count
    }
}

/// Fleet queries (docs/FLEET-QUERIES.md): the filter runs on every shard at once, and the pages
/// are merged by device ID. Device IDs are ordered by their UTF-8 bytes (`COLLATE "C"` on the
/// shards), so the cursor — the last device ID of a page — means the same on every shard and a
/// page is stable whatever other devices are added meanwhile.
extension TwinReader {
    /// Most devices one page may hold.
    public static let maxPageSize = 1000

    /// One page of the devices matching `filter`, after `cursor` (nil: the first page).
    public func fleet(_ filter: FleetFilter, after cursor: String?, limit: Int, now: Date = Date(), logger: Logger) async throws -> FleetPage {
        let limit = max(1, min(limit, Self.maxPageSize))
        let last = try cursor.map { text throws(FleetQueryError) in try FleetCursor(decoding: text, for: filter).lastDeviceID }
        let compiled = filter.compile(now: now, firstPlaceholder: 3)
        var bindings = PostgresBindings()
        bindings.append(last ?? "")
        bindings.append(limit + 1)
        try Self.append(compiled.binds, to: &bindings)
        let sql = """
            SELECT \(Self.deviceColumns) FROM devices d
            WHERE d.device_id > $1 AND (\(compiled.whereSQL))
            ORDER BY d.device_id LIMIT $2
            """
        let query = PostgresQuery(unsafeSQL: sql, binds: bindings)
        let perShard = try await onEveryShard { client in
            var devices: [TwinDevice] = []
            for try await row in try await client.query(query, logger: logger) {
                devices.append(try Self.device(from: row))
            }
            return devices
        }
        var merged = perShard.flatMap { $0 }
        merged.sort { $0.deviceID.utf8.lexicographicallyPrecedes($1.deviceID.utf8) }
        let more = merged.count > limit
        let page = Array(merged.prefix(limit))
        let next = more ? page.last.map { FleetCursor(lastDeviceID: $0.deviceID, filter: filter).encoded } : nil
        return FleetPage(devices: page, nextCursor: next)
    }

    /// How many devices match `filter`.
    public func fleetCount(_ filter: FleetFilter, now: Date = Date(), logger: Logger) async throws -> Int {
        let compiled = filter.compile(now: now)
        var bindings = PostgresBindings()
        try Self.append(compiled.binds, to: &bindings)
        let query = PostgresQuery(unsafeSQL: "SELECT count(*) FROM devices d WHERE \(compiled.whereSQL)", binds: bindings)
        let counts = try await onEveryShard { client in
            var count = 0
            for try await n in try await client.query(query, logger: logger).decode(Int.self) { count = n }
            return count
        }
        return counts.reduce(0, +)
    }

    /// Devices matching `filter` per value of `key`, largest group first (ties by value).
    public func fleetGroups(_ filter: FleetFilter, by key: FleetGroupKey, now: Date = Date(), logger: Logger) async throws -> [FleetGroupCount] {
        let group = key.compile(firstPlaceholder: 1)
        let compiled = filter.compile(now: now, firstPlaceholder: group.nextPlaceholder)
        var bindings = PostgresBindings()
        try Self.append(group.binds + compiled.binds, to: &bindings)
        let query = PostgresQuery(unsafeSQL: "SELECT \(group.sql) AS k, count(*) FROM devices d WHERE \(compiled.whereSQL) GROUP BY k", binds: bindings)
        let perShard = try await onEveryShard { client in
            var groups: [(String?, Int)] = []
            for try await (value, count) in try await client.query(query, logger: logger).decode((String?, Int).self) {
                groups.append((value, count))
            }
            return groups
        }
        var totals: [String?: Int] = [:]
        for groups in perShard { for (value, count) in groups { totals[value, default: 0] += count } }
        return totals.map { FleetGroupCount(value: $0.key, count: $0.value) }.sorted { a, b in
            if a.count != b.count { return a.count > b.count }
            switch (a.value, b.value) {
            case (nil, _): return false
            case (_, nil): return true
            case let (x?, y?): return x.utf8.lexicographicallyPrecedes(y.utf8)
            }
        }
    }

    /// Runs `work` on every shard concurrently; results in shard order.
    private func onEveryShard<T: Sendable>(_ work: @escaping @Sendable (PostgresClient) async throws -> T) async throws -> [T] {
        let clients = postgres.shards
        return try await withThrowingTaskGroup(of: (Int, T).self) { group in
            for (index, client) in clients.enumerated() { group.addTask { (index, try await work(client)) } }
            var results: [(Int, T)] = []
            for try await result in group { results.append(result) }
            return results.sorted { $0.0 < $1.0 }.map(\.1)
        }
    }

    static func append(_ binds: [SQLBind], to bindings: inout PostgresBindings) throws {
        for bind in binds {
            switch bind {
            case .text(let text): bindings.append(text)
            case .texts(let texts): bindings.append(texts)
            case .integer(let number): bindings.append(number)
            case .integers(let numbers): bindings.append(numbers)
            case .numeric(let text): bindings.append(text)
            case .boolean(let flag): bindings.append(flag)
            case .timestamp: bindings.append(bind.timestampText ?? "")  // exact microseconds (a Date binds through floating point)
            }
        }
    }
}
