import APIAccess
import Foundation
import HTTPTypes
import Hummingbird

/// Who may call a route.
enum Access: Sendable, Equatable {
    /// Anyone (the OpenAPI document).
    case everyone
    /// Any authenticated caller.
    case authenticated
    /// Callers whose role has the permission.
    case permission(Permission)
}

/// One operation of the public API. The table of routes is the implementation's side of the
/// contract: at start the service checks it against `openapi.json` (same paths, methods,
/// operation IDs and `x-permission`s) and refuses to start when they differ.
struct APIRoute: Sendable {
    typealias Handler = @Sendable (Request, APIRequestContext) async throws -> Response

    let method: HTTPRequest.Method
    /// The OpenAPI path template (`/v1/devices/{deviceId}`).
    let path: String
    let operationID: String
    let access: Access
    let handler: Handler

    init(_ method: HTTPRequest.Method, _ path: String, _ operationID: String, _ access: Access, _ handler: @escaping Handler) {
        self.method = method
        self.path = path
        self.operationID = operationID
        self.access = access
        self.handler = handler
    }

    var segments: [Substring] { path.split(separator: "/", omittingEmptySubsequences: false) }

    /// Whether a request path (raw, percent-encoded) fits the template.
    func matches(_ requestSegments: [Substring]) -> Bool {
        let own = segments
        guard own.count == requestSegments.count else { return false }
        for (template, actual) in zip(own, requestSegments) {
            if template.hasPrefix("{") { if actual.isEmpty { return false } } else if template != actual { return false }
        }
        return true
    }

    /// Hummingbird's form of the path (`:deviceId`).
    var routerPath: String {
        segments.map { $0.hasPrefix("{") ? ":" + $0.dropFirst().dropLast() : String($0) }.joined(separator: "/")
    }

    /// Writes are audited.
    var isWrite: Bool { method != .get && method != .head }
}

/// The route table.
struct APIRoutes: Sendable {
    let all: [APIRoute]

    init(services: APIServices, document: [UInt8]) {
        let devices = DeviceRoutes(services: services)
        let deviceWrites = DeviceWriteRoutes(services: services)
        let commands = CommandRoutes(services: services)
        let bulk = BulkRoutes(services: services)
        let access = AccessRoutes(services: services)
        let webhooks = WebhookRoutes(services: services, store: services.webhooks, allowPrivateTargets: services.allowPrivateWebhooks)
        all = [
            APIRoute(.get, "/v1/openapi.json", "getOpenAPIDocument", .everyone) { _, _ in
                Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: document)))
            },
            APIRoute(.get, "/v1/me", "getMe", .authenticated, access.me),
            APIRoute(.get, "/v1/roles", "listRoles", .authenticated, access.roles),
            APIRoute(.get, "/v1/devices", "listDevices", .permission(.fleetRead), devices.list),
            APIRoute(.get, "/v1/device-counts", "countDevices", .permission(.fleetRead), devices.count),
            APIRoute(.get, "/v1/devices/{deviceId}", "getDevice", .permission(.devicesRead), devices.twin),
            APIRoute(.delete, "/v1/devices/{deviceId}", "forgetDevice", .permission(.devicesWrite), deviceWrites.forget),
            APIRoute(.put, "/v1/devices/{deviceId}/tags/{tag}", "addDeviceTag", .permission(.devicesWrite)) { try await deviceWrites.setTag($0, context: $1, adding: true) },
            APIRoute(.delete, "/v1/devices/{deviceId}/tags/{tag}", "removeDeviceTag", .permission(.devicesWrite)) { try await deviceWrites.setTag($0, context: $1, adding: false) },
            APIRoute(.get, "/v1/devices/{deviceId}/history", "getParameterHistory", .permission(.devicesRead), devices.history),
            APIRoute(.get, "/v1/devices/{deviceId}/snapshot", "getDeviceSnapshot", .permission(.devicesRead), devices.snapshot),
            APIRoute(.get, "/v1/devices/{deviceId}/events", "listDeviceEvents", .permission(.devicesRead), devices.events),
            APIRoute(.post, "/v1/devices/{deviceId}/commands", "queueCommand", .permission(.commandsWrite), commands.queue),
            APIRoute(.get, "/v1/devices/{deviceId}/commands", "listCommands", .permission(.devicesRead), commands.list),
            APIRoute(.get, "/v1/devices/{deviceId}/commands/{commandId}", "getCommand", .permission(.devicesRead), commands.get),
            APIRoute(.post, "/v1/devices/{deviceId}/commands/{commandId}/cancel", "cancelCommand", .permission(.commandsWrite), commands.cancel),
            APIRoute(.post, "/v1/bulk-operations/dry-run", "dryRunBulkOperation", .permission(.bulkRead), bulk.dryRun),
            APIRoute(.post, "/v1/bulk-operations", "createBulkOperation", .permission(.bulkWrite), bulk.create),
            APIRoute(.get, "/v1/bulk-operations", "listBulkOperations", .permission(.bulkRead), bulk.list),
            APIRoute(.get, "/v1/bulk-operations/{operationId}", "getBulkOperation", .permission(.bulkRead), bulk.get),
            APIRoute(.post, "/v1/bulk-operations/{operationId}/pause", "pauseBulkOperation", .permission(.bulkWrite)) { try await bulk.transition($0, context: $1, to: .paused) },
            APIRoute(.post, "/v1/bulk-operations/{operationId}/resume", "resumeBulkOperation", .permission(.bulkWrite)) { try await bulk.transition($0, context: $1, to: .running) },
            APIRoute(.post, "/v1/bulk-operations/{operationId}/cancel", "cancelBulkOperation", .permission(.bulkWrite)) { try await bulk.transition($0, context: $1, to: .cancelled) },
            APIRoute(.get, "/v1/tenants", "listTenants", .permission(.accessRead), access.listTenants),
            APIRoute(.post, "/v1/tenants", "createTenant", .permission(.accessWrite), access.createTenant),
            APIRoute(.get, "/v1/tenants/{tenantId}", "getTenant", .permission(.accessRead), access.getTenant),
            APIRoute(.patch, "/v1/tenants/{tenantId}", "updateTenant", .permission(.accessWrite), access.updateTenant),
            APIRoute(.get, "/v1/users", "listUsers", .permission(.accessRead), access.listUsers),
            APIRoute(.post, "/v1/users", "createUser", .permission(.accessWrite), access.createUser),
            APIRoute(.get, "/v1/users/{userId}", "getUser", .permission(.accessRead), access.getUser),
            APIRoute(.patch, "/v1/users/{userId}", "updateUser", .permission(.accessWrite), access.updateUser),
            APIRoute(.get, "/v1/api-keys", "listApiKeys", .permission(.accessRead), access.listKeys),
            APIRoute(.post, "/v1/api-keys", "createApiKey", .permission(.accessWrite), access.createKey),
            APIRoute(.delete, "/v1/api-keys/{keyId}", "revokeApiKey", .permission(.accessWrite), access.revokeKey),
            APIRoute(.get, "/v1/audit-log", "listAuditLog", .permission(.auditRead), access.audit),
            APIRoute(.get, "/v1/webhooks", "listWebhooks", .permission(.accessRead), webhooks.list),
            APIRoute(.post, "/v1/webhooks", "createWebhook", .permission(.webhooksWrite), webhooks.create),
            APIRoute(.get, "/v1/webhooks/{webhookId}", "getWebhook", .permission(.accessRead), webhooks.get),
            APIRoute(.patch, "/v1/webhooks/{webhookId}", "updateWebhook", .permission(.webhooksWrite), webhooks.update),
            APIRoute(.delete, "/v1/webhooks/{webhookId}", "deleteWebhook", .permission(.webhooksWrite), webhooks.delete),
            APIRoute(.get, "/v1/webhooks/{webhookId}/deliveries", "listWebhookDeliveries", .permission(.accessRead), webhooks.deliveries),
        ]
    }

    /// The route for a request, or why there is none.
    func route(method: HTTPRequest.Method, path: String) -> Result<APIRoute, APIProblem> {
        let segments = path.split(separator: "/", omittingEmptySubsequences: false)
        let candidates = all.filter { $0.matches(segments) }
        if let route = candidates.first(where: { $0.method == method }) {
            return .success(route)
        }
        if candidates.isEmpty { return .failure(APIProblem(.notFound, "no such resource: \(path)")) }
        let allowed = candidates.map(\.method.rawValue).joined(separator: ", ")
        return .failure(APIProblem(.methodNotAllowed, "\(method.rawValue) is not allowed here; use \(allowed)", headers: [.allow: allowed]))
    }

    /// Differences between the routes and the OpenAPI document (empty when they agree).
    func differences(from document: [UInt8]) -> [String] {
        guard let root = try? JSONSerialization.jsonObject(with: Data(document)) as? [String: Any],
              let paths = root["paths"] as? [String: Any] else { return ["openapi.json has no paths object"] }
        var documented: [String: (operationID: String, permission: String?, secured: Bool)] = [:]
        for (path, item) in paths {
            guard let item = item as? [String: Any] else { continue }
            for method in ["get", "post", "put", "patch", "delete"] {
                guard let operation = item[method] as? [String: Any] else { continue }
                let security = operation["security"] as? [Any]
                documented["\(method.uppercased()) \(path)"] = (operation["operationId"] as? String ?? "", operation["x-permission"] as? String, security.map { !$0.isEmpty } ?? true)
            }
        }
        var problems: [String] = []
        for route in all {
            let key = "\(route.method.rawValue) \(route.path)"
            guard let entry = documented.removeValue(forKey: key) else { problems.append("\(key) is served but not documented"); continue }
            if entry.operationID != route.operationID { problems.append("\(key): operationId \(entry.operationID), served as \(route.operationID)") }
            switch route.access {
            case .everyone:
                if entry.secured { problems.append("\(key) is public but documented with security") }
            case .authenticated:
                if !entry.secured || entry.permission != nil { problems.append("\(key) needs authentication only; document security and no x-permission") }
            case .permission(let permission):
                if !entry.secured || entry.permission != permission.rawValue {
                    problems.append("\(key) needs \(permission.rawValue); documented x-permission \(entry.permission ?? "none")")
                }
            }
        }
        problems += documented.keys.sorted().map { "\($0) is documented but not served" }
        return problems
    }
}
