import APIAccess
import Foundation
import HTTPTypes
import Hummingbird

struct WebhookJSON: Codable, Sendable {
    var id: String
    var tenantId: String
    var url: String
    var events: [String]
    var paths: [String]
    var active: Bool
    var createdBy: String
    var createdAt: Date
    var updatedAt: Date
    var version: Int
    /// Only in the response that creates the subscription: the signing secret, shown once.
    var secret: String?

    init(_ row: WebhookRow, secret: String? = nil) {
        id = row.id
        tenantId = row.tenantID
        url = row.url
        events = row.events
        paths = row.paths
        active = row.active
        createdBy = row.createdBy
        createdAt = row.createdAt
        updatedAt = row.updatedAt
        version = row.version
        self.secret = secret
    }
    var etag: String { "\"\(version)\"" }
}

struct NewWebhookJSON: Codable, Sendable {
    var url: String
    var events: [String]
    /// For `parameter.changed`: exact paths, or prefixes ending in `.`; empty for every path.
    var paths: [String]?
    /// At least 16 characters; generated when absent.
    var secret: String?
}

struct WebhookPatchJSON: Codable, Sendable {
    var url: String?
    var events: [String]?
    var paths: [String]?
    var active: Bool?
}

struct DeliveryJSON: Codable, Sendable {
    var id: String
    var eventId: String
    var eventType: String
    var state: String
    var attempts: Int
    var nextAttemptAt: Date?
    var lastStatus: Int?
    var lastError: String?
    var createdAt: Date
    var deliveredAt: Date?

    init(_ row: DeliveryRow) {
        id = String(row.id)
        eventId = row.eventID
        eventType = row.eventType
        state = row.state
        attempts = row.attempts
        nextAttemptAt = row.state == "pending" ? row.nextAttemptAt : nil
        lastStatus = row.lastStatus
        lastError = row.lastError
        createdAt = row.createdAt
        deliveredAt = row.deliveredAt
    }
}

/// Webhook subscriptions of the caller's tenant: which events to POST where, signed with the
/// subscription's secret (`X-Twinfleet-Signature`, see docs/API.md).
struct WebhookRoutes {
    let services: APIServices
    let store: WebhookStore
    /// Whether URLs may name loopback and private addresses (development and tests).
    let allowPrivateTargets: Bool

    func checkURL(_ text: String, field: String) throws -> String {
        guard text.utf8.count <= 2048, let url = URL(string: text), let scheme = url.scheme?.lowercased(), scheme == "https" || scheme == "http",
              let host = url.host, !host.isEmpty, url.user == nil else {
            throw APIProblem.field(field, "must be an absolute http or https URL without credentials")
        }
        if !allowPrivateTargets && Self.isPrivate(host) {
            throw APIProblem.field(field, "must not point at a loopback, link-local or private address")
        }
        return text
    }

    static func isPrivate(_ host: String) -> Bool {
        let lower = host.lowercased().trimmingCharacters(in: CharacterSet(charactersIn: "[]"))
        if lower == "localhost" || lower.hasSuffix(".localhost") { return true }
        if lower.contains(":") {  // IPv6 literal: loopback, unspecified, link-local, unique local
            return lower == "::1" || lower == "::" || lower.hasPrefix("fe80:") || lower.hasPrefix("fc") || lower.hasPrefix("fd")
        }
        let octets = lower.split(separator: ".").compactMap { Int($0) }
        guard octets.count == 4, lower.split(separator: ".").count == 4 else { return false }
        switch (octets[0], octets[1]) {
        case (10, _), (127, _), (0, _), (169, 254), (192, 168): return true
        case (172, let b) where (16...31).contains(b): return true
        case (100, let b) where (64...127).contains(b): return true
        default: return false
        }
    }

    func checkEvents(_ events: [String], field: String) throws -> [String] {
        guard !events.isEmpty else { throw APIProblem.field(field, "name at least one event type") }
        for (index, event) in events.enumerated() where WebhookEventType(rawValue: event) == nil {
            throw APIProblem.field("\(field)/\(index)", "must be one of \(WebhookEventType.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        return Array(Set(events)).sorted()
    }

    func checkPaths(_ paths: [String], field: String) throws -> [String] {
        guard paths.count <= 100 else { throw APIProblem.field(field, "at most 100 paths") }
        for (index, path) in paths.enumerated() where path.isEmpty || path.utf8.count > 1024 || path.contains(" ") {
            throw APIProblem.field("\(field)/\(index)", "must be a parameter path or a prefix ending in '.'")
        }
        return paths
    }

    func list(_ request: Request, context: APIRequestContext) async throws -> Response {
        let rows = try await store.subscriptions(in: context.scope, logger: context.logger)
        return try APIJSON.response(PageJSON(items: rows.map { WebhookJSON($0) }, nextCursor: nil))
    }

    func create(_ request: Request, context: APIRequestContext) async throws -> Response {
        let caller = try context.requireCaller()
        let body = try APIJSON.decode(NewWebhookJSON.self, from: try await request.body.collect(upTo: services.maxBodyBytes))
        let url = try checkURL(body.url, field: "/url")
        let events = try checkEvents(body.events, field: "/events")
        let paths = try checkPaths(body.paths ?? [], field: "/paths")
        if let secret = body.secret, !(16...256).contains(secret.utf8.count) { throw APIProblem.field("/secret", "must be 16 to 256 bytes") }
        let secret = body.secret ?? "whsec_" + APIKey.generate().secret
        let row = WebhookRow(id: "wh-" + UUID().uuidString.lowercased(), tenantID: caller.tenantID, url: url, secret: secret, events: events, paths: paths,
                             active: true, createdBy: caller.userID, createdAt: Date(), updatedAt: Date(), version: 1)
        try await store.create(row, logger: context.logger)
        guard let created = try await store.subscription(row.id, logger: context.logger) else { throw APIProblem(.internalError, "the subscription vanished") }
        return try APIJSON.response(WebhookJSON(created, secret: secret), status: .created,
                                    headers: [.location: "/v1/webhooks/\(row.id)", .eTag: WebhookJSON(created).etag, .cacheControl: "no-store"])
    }

    private func visible(_ context: APIRequestContext) async throws -> WebhookRow {
        let id = try context.parameter("webhookId")
        guard let row = try await store.subscription(id, logger: context.logger), context.sees(tenant: row.tenantID) else {
            throw APIProblem(.notFound, "no webhook subscription \(id)")
        }
        return row
    }

    func get(_ request: Request, context: APIRequestContext) async throws -> Response {
        let row = try await visible(context)
        return try APIJSON.response(WebhookJSON(row), headers: [.eTag: WebhookJSON(row).etag])
    }

    func update(_ request: Request, context: APIRequestContext) async throws -> Response {
        let row = try await visible(context)
        let body = try APIJSON.decode(WebhookPatchJSON.self, from: try await request.body.collect(upTo: services.maxBodyBytes))
        let url = try body.url.map { try checkURL($0, field: "/url") }
        let events = try body.events.map { try checkEvents($0, field: "/events") }
        let paths = try body.paths.map { try checkPaths($0, field: "/paths") }
        guard let updated = try await store.update(row.id, url: url, events: events, paths: paths, active: body.active,
                                                   expected: try AccessRoutes.ifMatch(request), logger: context.logger) else {
            throw APIProblem(.preconditionFailed, "webhook \(row.id) changed; read it again", headers: [.eTag: WebhookJSON(row).etag])
        }
        return try APIJSON.response(WebhookJSON(updated), headers: [.eTag: WebhookJSON(updated).etag])
    }

    func delete(_ request: Request, context: APIRequestContext) async throws -> Response {
        let row = try await visible(context)
        try await store.delete(row.id, logger: context.logger)
        return Response(status: .noContent)
    }

    func deliveries(_ request: Request, context: APIRequestContext) async throws -> Response {
        let row = try await visible(context)
        let limit = try request.query("limit", default: 100, in: 1...1000)
        let rows = try await store.deliveries(subscription: row.id, limit: limit, logger: context.logger)
        return try APIJSON.response(PageJSON(items: rows.map(DeliveryJSON.init), nextCursor: nil))
    }
}
