import BusContracts
import FleetQuery
import Foundation
import Logging
import PostgresNIO
import ShardedPostgres
import Twin
import TwinfleetModel

/// One device of a dry run: what the command would change there, and why it might not.
public struct BulkPlanItem: Sendable, Equatable {
    public struct Change: Sendable, Equatable {
        public var path: String
        /// The reported value; nil when the twin has no such parameter.
        public var current: String?
        public var target: String
        /// A queued Set of another command that already wants this parameter changed.
        public var pendingCommandID: String?
        public var pendingValue: String?
    }

    public var deviceID: String
    public var softwareVersion: String?
    public var online: Bool
    public var changes: [Change]
    /// Why queuing here may be unwise: a missing parameter, a pending change by another command.
    public var conflicts: [String]
    /// Every target equals the reported value.
    public var unchanged: Bool
}

/// A page of a dry run.
public struct BulkPlan: Sendable {
    /// Devices matching the query (all pages).
    public var matched: Int
    public var items: [BulkPlanItem]
    public var nextCursor: String?
}

/// Plans a bulk operation against the twins before anything is queued (dry run): which
/// devices match, their current values for the parameters a Set would write, and conflicts.
public struct BulkPlanner: Sendable {
    let postgres: ShardedPostgres
    let reader: TwinReader

    public init(postgres: ShardedPostgres) {
        self.postgres = postgres
        reader = TwinReader(postgres: postgres)
    }

    public func dryRun(query: String, template: Twinfleet_Bus_V1_Command, after cursor: String? = nil, limit: Int = 100,
                       logger: Logger) async throws -> BulkPlan {
        let filter = try FleetFilter(parsing: query)
        let matched = try await reader.fleetCount(filter, logger: logger)
        let page = try await reader.fleet(filter, after: cursor, limit: limit, logger: logger)
        var targets: [(path: String, value: String)] = []
        if case .setParameters(let set)? = template.kind {
            targets = set.parameters.compactMap { parameter in
                (try? Parameter(parameter)).map { ($0.path.rawValue, $0.value.wireString) }
            }
        }
        var rows: [String: [String: (value: String?, desired: String?, commandID: String?)]] = [:]
        if !targets.isEmpty {
            var byShard: [Int: [String]] = [:]
            for device in page.devices { byShard[postgres.shardMap.shard(forPartition: device.partition), default: []].append(device.deviceID) }
            let paths = targets.map(\.path)
            for (shard, devices) in byShard {
                let result = try await postgres.client(forShard: shard).query("""
                    SELECT device_id, path, value, desired_value, desired_command_id FROM parameters
                    WHERE device_id = ANY(\(devices)::text[]) AND path = ANY(\(paths)::text[])
                    """, logger: logger)
                for try await (device, path, value, desired, commandID) in result.decode((String, String, String?, String?, String?).self) {
                    rows[device, default: [:]][path] = (value, desired, commandID)
                }
            }
        }
        let items = page.devices.map { device -> BulkPlanItem in
            var changes: [BulkPlanItem.Change] = []
            var conflicts: [String] = []
            for target in targets {
                let row = rows[device.deviceID]?[target.path]
                if row == nil { conflicts.append("\(target.path) is not in the twin") }
                if let pending = row?.commandID {
                    conflicts.append("\(target.path) already has a pending change to \((row?.desired ?? "").debugDescription) by \(pending)")
                }
                changes.append(.init(path: target.path, current: row?.value, target: target.value, pendingCommandID: row?.commandID,
                                     pendingValue: row?.desired))
            }
            return BulkPlanItem(
                deviceID: device.deviceID, softwareVersion: device.softwareVersion, online: device.online, changes: changes,
                conflicts: conflicts, unchanged: !changes.isEmpty && changes.allSatisfy { $0.current == $0.target })
        }
        return BulkPlan(matched: matched, items: items, nextCursor: page.nextCursor)
    }
}
