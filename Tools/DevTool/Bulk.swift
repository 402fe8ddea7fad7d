import ArgumentParser
import BusContracts
import Dispatcher
import Foundation
import ShardedPostgres
import TwinfleetModel

/// Bulk operations from the command line: plan (dry run), start, status, cancel. The running
/// command-dispatcher fans started operations out.
struct Bulk: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Bulk operations over a fleet query: plan (dry run), start, status, cancel.",
        subcommands: [Plan.self, Start.self, Status.self, Cancel.self])

    /// What to do on every device.
    struct CommandOptions: ParsableArguments {
        @Option(name: .customLong("set"), help: "Parameter to set, `path=value` (a string) or `path=type:value` (e.g. `unsignedInt:600`); repeatable.")
        var sets: [String] = []
        @Flag(help: "Reboot instead.") var reboot = false
        @Option(help: "Refresh this subtree instead (`Device.` for everything).") var refresh: String?

        func template() throws -> Twinfleet_Bus_V1_Command {
            var command = Twinfleet_Bus_V1_Command()
            if reboot {
                command.reboot = Twinfleet_Bus_V1_Reboot()
            } else if let refresh {
                command.refresh.path = refresh
            } else {
                guard !sets.isEmpty else { throw ValidationError("give --set, --reboot or --refresh") }
                command.setParameters.parameters = try sets.map(Self.parameter)
            }
            return command
        }

        static func parameter(_ text: String) throws -> Twinfleet_Bus_V1_Parameter {
            guard let equals = text.firstIndex(of: "=") else { throw ValidationError("--set \(text.debugDescription): expected path=value") }
            let path = try ParameterPath(validating: String(text[..<equals]))
            var rest = String(text[text.index(after: equals)...])
            var type = ParameterType.string
            if let colon = rest.firstIndex(of: ":"), let typed = try? ParameterType(parsing: String(rest[..<colon])) {
                type = typed
                rest = String(rest[rest.index(after: colon)...])
            }
            let value = try ParameterValue(parsing: rest, as: type)
            return Twinfleet_Bus_V1_Parameter(Parameter(path: path, value: value))
        }
    }

    struct Plan: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Dry run: matching devices, current values, conflicts (one JSON line per device).")
        @Option(help: "Fleet query.") var query: String
        @OptionGroup var command: CommandOptions
        @Option(help: "Devices to show.") var limit = 100

        func run() async throws {
            let environment = ToolEnvironment()
            let (postgres, task) = try await environment.postgres(extra: Migrate.serviceSets)
            let plan = try await BulkPlanner(postgres: postgres).dryRun(query: query, template: try command.template(), limit: limit, logger: environment.logger)
            emit(["event": "plan", "matched": plan.matched, "shown": plan.items.count, "conflicts": plan.items.filter { !$0.conflicts.isEmpty }.count])
            for item in plan.items {
                emit([
                    "device": item.deviceID, "online": item.online, "softwareVersion": item.softwareVersion as Any? ?? NSNull(),
                    "changes": item.changes.map { change -> [String: Any] in
                        ["path": change.path, "current": change.current ?? NSNull(), "target": change.target, "pending": change.pendingCommandID ?? NSNull()]
                    },
                    "conflicts": item.conflicts, "unchanged": item.unchanged,
                ])
            }
            task.cancel()
        }
    }

    struct Start: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Start a bulk operation; the command-dispatcher queues its commands.")
        @Option(help: "Fleet query.") var query: String
        @OptionGroup var command: CommandOptions
        @Option(help: "Commands queued per second.") var rate = 10
        @Option(help: "Maintenance window, UTC, `HH:MM-HH:MM` (may wrap midnight).") var window: String?
        @Option(help: "Tenant.") var tenant = "default"
        @Option(help: "Who asks (user ID).") var requestedBy = "devtool"

        func run() async throws {
            let environment = ToolEnvironment()
            var maintenance: MaintenanceWindow?
            if let window {
                guard let parsed = MaintenanceWindow(parsing: window) else { throw ValidationError("--window \(window.debugDescription): expected HH:MM-HH:MM") }
                maintenance = parsed
            }
            let (postgres, task) = try await environment.postgres(extra: Migrate.serviceSets)
            let operation = try await BulkStore(postgres: postgres).create(
                BulkOperation(id: UUID().uuidString.lowercased(), tenantID: tenant, query: query, template: try command.template(),
                              ratePerSecond: rate, window: maintenance, requestedBy: requestedBy), logger: environment.logger)
            emit(["event": "started", "id": operation.id, "matched": operation.matched])
            task.cancel()
        }
    }

    struct Status: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "State, counters and command outcomes of a bulk operation.")
        @Argument var id: String

        func run() async throws {
            let environment = ToolEnvironment()
            let (postgres, task) = try await environment.postgres(extra: Migrate.serviceSets)
            let store = BulkStore(postgres: postgres)
            guard let operation = try await store.load(id, logger: environment.logger) else { throw ValidationError("no bulk operation \(id)") }
            emit(["id": operation.id, "state": operation.state.rawValue, "matched": operation.matched, "queued": operation.queued,
                  "commands": try await store.progress(id, logger: environment.logger)])
            task.cancel()
        }
    }

    struct Cancel: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Stop queuing more commands of a bulk operation.")
        @Argument var id: String

        func run() async throws {
            let environment = ToolEnvironment()
            let (postgres, task) = try await environment.postgres(extra: Migrate.serviceSets)
            try await BulkStore(postgres: postgres).cancel(id, logger: environment.logger)
            emit(["event": "cancelled", "id": id])
            task.cancel()
        }
    }
}
