import BusContracts
import Dispatcher
import FleetQuery
import Foundation
import HTTPTypes
import Hummingbird
import Twin
import TwinfleetModel

struct BulkRequestJSON: Codable, Sendable {
    /// Fleet query (docs: fleet filter language); the caller's tenant scope is added.
    var query: String
    var command: CommandBody
    /// Commands queued per second (default 10).
    var ratePerSecond: Int?
    /// UTC maintenance window `HH:MM-HH:MM`.
    var window: String?
    /// Dry run only: devices to show (default 100).
    var limit: Int?
    /// Dry run only: the page after this cursor.
    var cursor: String?
}

struct DryRunJSON: Codable, Sendable {
    struct Change: Codable, Sendable {
        var path: String
        var current: String?
        var target: String
        var pendingCommandId: String?
        var pendingValue: String?
    }
    struct Item: Codable, Sendable {
        var deviceId: String
        var softwareVersion: String?
        var online: Bool
        var changes: [Change]
        var conflicts: [String]
        var unchanged: Bool
    }
    var matched: Int
    var items: [Item]
    var nextCursor: String?
}

struct BulkJSON: Codable, Sendable {
    var id: String
    var tenantId: String
    var query: String
    var command: CommandBody
    var ratePerSecond: Int
    var window: String?
    var state: String
    var matched: Int
    var queued: Int
    var requestedBy: String
    var createdAt: Date
    var finishedAt: Date?
    /// Commands of the operation per twin status (`queued`, `succeeded`, …); only on single reads.
    var progress: [String: Int]?

    init(_ operation: BulkOperation, progress: [String: Int]? = nil) {
        id = operation.id
        tenantId = operation.tenantID
        query = operation.query
        command = CommandBody(operation.template)
        ratePerSecond = operation.ratePerSecond
        window = operation.window?.description
        state = operation.state.rawValue
        matched = operation.matched
        queued = operation.queued
        requestedBy = operation.requestedBy
        createdAt = operation.createdAt
        finishedAt = operation.finishedAt
        self.progress = progress
    }

    var etag: String { "\"\(state)-\(queued)\"" }
}

struct BulkPageJSON: Codable, Sendable {
    var items: [BulkJSON]
    var nextCursor: String?
}

/// Bulk operations over a fleet query: dry run, start, list, read with progress, pause,
/// resume, cancel. The command-dispatcher's bulk runner does the fan-out.
struct BulkRoutes {
    let services: APIServices

    /// The scoped query and the command template, checked against the data model of every
    /// protocol among the matching devices.
    private func prepare(_ body: BulkRequestJSON, context: APIRequestContext) async throws -> (FleetFilter, Twinfleet_Bus_V1_Command) {
        let filter = try FleetScope.filter(body.query, scope: context.scope, field: "/query")
        let protocols = try await services.reader.fleetGroups(filter, by: try FleetGroupKey(parsing: "protocol"), logger: context.logger)
            .compactMap { $0.value.flatMap(DeviceProtocol.init(rawValue:)) }
        var template: Twinfleet_Bus_V1_Command?
        for deviceProtocol in protocols.isEmpty ? [.cwmp] : protocols {
            do {
                template = try services.builder.build(body.command, protocol: deviceProtocol, now: Date())
            } catch {
                var problem = error
                problem.errors = problem.errors.map { .init(field: "/command" + $0.field, message: $0.message) }
                problem.detail = "the command is invalid for the \(deviceProtocol) devices the query matches (add `protocol = …` to the query to target one protocol): "
                    + problem.errors.map { "\($0.field): \($0.message)" }.joined(separator: "; ")
                throw problem
            }
        }
        return (filter, template!)
    }

    func dryRun(_ request: Request, context: APIRequestContext) async throws -> Response {
        let body = try APIJSON.decode(BulkRequestJSON.self, from: try await request.body.collect(upTo: services.maxBodyBytes))
        let limit = body.limit ?? 100
        guard (1...1000).contains(limit) else { throw APIProblem.field("/limit", "must be from 1 to 1000") }
        let (filter, template) = try await prepare(body, context: context)
        let plan: BulkPlan
        do {
            plan = try await services.planner.dryRun(query: filter.description, template: template, after: body.cursor, limit: limit, logger: context.logger)
        } catch let error as FleetQueryError {
            throw APIProblem.field("/cursor", error.message)
        }
        return try APIJSON.response(DryRunJSON(matched: plan.matched, items: plan.items.map { item in
            DryRunJSON.Item(
                deviceId: item.deviceID, softwareVersion: item.softwareVersion, online: item.online,
                changes: item.changes.map { .init(path: $0.path, current: $0.current, target: $0.target, pendingCommandId: $0.pendingCommandID, pendingValue: $0.pendingValue) },
                conflicts: item.conflicts, unchanged: item.unchanged)
        }, nextCursor: plan.nextCursor))
    }

    func create(_ request: Request, context: APIRequestContext) async throws -> Response {
        let caller = try context.requireCaller()
        let bytes = try await request.body.collect(upTo: services.maxBodyBytes)
        let body = try APIJSON.decode(BulkRequestJSON.self, from: bytes)
        let rate = body.ratePerSecond ?? 10
        guard (1...10_000).contains(rate) else { throw APIProblem.field("/ratePerSecond", "must be from 1 to 10000") }
        var window: MaintenanceWindow?
        if let text = body.window {
            guard let parsed = MaintenanceWindow(parsing: text) else { throw APIProblem.field("/window", "must be HH:MM-HH:MM (UTC), e.g. 22:00-04:00") }
            window = parsed
        }
        if body.limit != nil { throw APIProblem.field("/limit", "applies to dry runs only") }
        if body.cursor != nil { throw APIProblem.field("/cursor", "applies to dry runs only") }
        let (filter, template) = try await prepare(body, context: context)
        let key = try request.idempotencyKey()
        return try await Idempotency.run(key: key.map { "bulk:\($0)" }, tenant: caller.tenantID, request: try APIJSON.bytes(body),
                                         store: services.store, context: context) {
            let operation = BulkOperation(
                id: UUID().uuidString.lowercased(), tenantID: caller.tenantID, query: filter.description, template: template,
                ratePerSecond: rate, window: window, requestedBy: caller.userID)
            let created = try await services.bulk.create(operation, logger: context.logger)
            let shown = BulkJSON(created)
            return Reply(status: .created, headers: [.location: "/v1/bulk-operations/\(created.id)", .eTag: shown.etag], body: try APIJSON.bytes(shown))
        }
    }

    func list(_ request: Request, context: APIRequestContext) async throws -> Response {
        let limit = try request.query("limit", default: 50, in: 1...500)
        let operations = try await services.bulk.list(tenants: context.scope, after: request.query("cursor"), limit: limit + 1, logger: context.logger)
        let page = Array(operations.prefix(limit))
        return try APIJSON.response(BulkPageJSON(items: page.map { BulkJSON($0) }, nextCursor: operations.count > limit ? page.last?.id : nil))
    }

    private func load(_ context: APIRequestContext) async throws -> BulkOperation {
        let id = try context.parameter("operationId")
        guard let operation = try await services.bulk.load(id, logger: context.logger), context.sees(tenant: operation.tenantID) else {
            throw APIProblem(.notFound, "no bulk operation \(id)")
        }
        return operation
    }

    func get(_ request: Request, context: APIRequestContext) async throws -> Response {
        let operation = try await load(context)
        let shown = BulkJSON(operation, progress: try await services.bulk.progress(operation.id, logger: context.logger))
        return try APIJSON.response(shown, headers: [.eTag: shown.etag])
    }

    /// Pause, resume or cancel; `If-Match` (optional) must carry the operation's current ETag.
    func transition(_ request: Request, context: APIRequestContext, to target: BulkState) async throws -> Response {
        let operation = try await load(context)
        let current = BulkJSON(operation)
        if request.ifMatchFails(current.etag) {
            throw APIProblem(.preconditionFailed, "the operation changed (now \(operation.state.rawValue), \(operation.queued) queued); read it again", headers: [.eTag: current.etag])
        }
        let allowed: Set<BulkState> = switch target {
        case .paused: [.running]
        case .running: [.paused]
        case .cancelled: [.running, .paused]
        case .completed: []
        }
        guard allowed.contains(operation.state) else {
            throw APIProblem(.conflict, "a \(operation.state.rawValue) operation cannot be \(target == .running ? "resumed" : target.rawValue)")
        }
        switch target {
        case .paused: try await services.bulk.pause(operation.id, logger: context.logger)
        case .running: try await services.bulk.resume(operation.id, logger: context.logger)
        default: try await services.bulk.cancel(operation.id, logger: context.logger)
        }
        guard let updated = try await services.bulk.load(operation.id, logger: context.logger) else { throw APIProblem(.notFound, "no bulk operation \(operation.id)") }
        let shown = BulkJSON(updated)
        return try APIJSON.response(shown, headers: [.eTag: shown.etag])
    }
}
