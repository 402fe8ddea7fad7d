import APIAccess
import Foundation
import HTTPTypes
import Hummingbird

struct TenantJSON: Codable, Sendable {
    var id: String
    var parentId: String?
    var name: String
    var createdAt: Date
    var updatedAt: Date
    var version: Int

    init(_ row: TenantRow) {
        id = row.id
        parentId = row.parentID
        name = row.name
        createdAt = row.createdAt
        updatedAt = row.updatedAt
        version = row.version
    }
    var etag: String { "\"\(version)\"" }
}

struct NewTenantJSON: Codable, Sendable {
    var id: String
    var name: String
    /// Defaults to the caller's tenant.
    var parentId: String?
}

struct TenantPatchJSON: Codable, Sendable {
    var name: String
}

struct UserJSON: Codable, Sendable {
    var id: String
    var tenantId: String
    var name: String
    var email: String?
    var role: String
    var disabled: Bool
    var createdAt: Date
    var updatedAt: Date
    var version: Int

    init(_ row: UserRow) {
        id = row.id
        tenantId = row.tenantID
        name = row.name
        email = row.email
        role = row.role.rawValue
        disabled = row.disabled
        createdAt = row.createdAt
        updatedAt = row.updatedAt
        version = row.version
    }
    var etag: String { "\"\(version)\"" }
}

struct NewUserJSON: Codable, Sendable {
    var id: String
    var name: String
    var email: String?
    var role: String
    /// Defaults to the caller's tenant.
    var tenantId: String?
}

struct UserPatchJSON: Codable, Sendable {
    var name: String?
    var email: String?
    var role: String?
    var disabled: Bool?
}

struct KeyJSON: Codable, Sendable {
    var id: String
    var userId: String
    var tenantId: String
    var role: String
    var name: String
    var createdBy: String
    var createdAt: Date
    var expiresAt: Date?
    var revokedAt: Date?
    /// Only in the response that creates the key: the whole key, shown once.
    var key: String?

    init(_ row: KeyRow, key: String? = nil) {
        id = row.id
        userId = row.userID
        tenantId = row.tenantID
        role = row.role.rawValue
        name = row.name
        createdBy = row.createdBy
        createdAt = row.createdAt
        expiresAt = row.expiresAt
        revokedAt = row.revokedAt
        self.key = key
    }
}

struct NewKeyJSON: Codable, Sendable {
    var name: String
    /// Defaults to the caller.
    var userId: String?
    /// Defaults to the user's role; never more than the caller's.
    var role: String?
    var expiresAt: Date?
}

struct RoleJSON: Codable, Sendable {
    var name: String
    var description: String
    var permissions: [String]
}

struct MeJSON: Codable, Sendable {
    var userId: String
    var tenantId: String
    var role: String
    var keyId: String?
    var permissions: [String]
    /// The tenants the caller sees; absent for the root tenant, which sees every device.
    var tenants: [String]?
}

struct PageJSON<Item: Codable & Sendable>: Codable, Sendable {
    var items: [Item]
    var nextCursor: String?

    /// A page from `limit + 1` rows: the first `limit`, and the cursor after the last when there are more.
    init<Row>(rows: [Row], limit: Int, cursor: (Row) -> String, item: (Row) -> Item) {
        let page = rows.prefix(limit)
        items = page.map(item)
        nextCursor = rows.count > limit ? page.last.map(cursor) : nil
    }

    init(items: [Item], nextCursor: String?) {
        self.items = items
        self.nextCursor = nextCursor
    }
}

struct AuditJSON: Codable, Sendable {
    var id: String
    var at: Date
    var tenantId: String
    var actor: String
    var keyId: String?
    var role: String?
    var action: String
    var method: String
    var path: String
    var status: Int
    var requestId: String
    var remoteAddress: String
    var detail: String?

    init(_ row: AuditRow) {
        id = String(row.id)
        at = row.at
        tenantId = row.tenantID
        actor = row.actor
        keyId = row.keyID
        role = row.role
        action = row.action
        method = row.method
        path = row.path
        status = row.status
        requestId = row.requestID
        remoteAddress = row.remoteAddress
        detail = row.detail
    }
}

/// Tenants, users, API keys, roles, the caller itself and the audit log. Everything is limited
/// to the caller's tenant subtree; nobody grants a role with more permissions than their own.
struct AccessRoutes {
    let services: APIServices

    static func identifier(_ text: String, field: String) throws -> String {
        guard (1...63).contains(text.utf8.count), text.utf8.first.map({ (UInt8(ascii: "a")...UInt8(ascii: "z")).contains($0) || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) }) == true,
              text.allSatisfy({ $0.isASCII && ($0.isLowercase || $0.isNumber || $0 == "-" || $0 == "." || $0 == "_") }) else {
            throw APIProblem.field(field, "must be 1 to 63 characters: lowercase letters, digits, '-', '.', '_', starting with a letter or digit")
        }
        return text
    }

    static func name(_ text: String, field: String) throws -> String {
        let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
        guard (1...200).contains(trimmed.count), !trimmed.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) else {
            throw APIProblem.field(field, "must be 1 to 200 characters without control characters")
        }
        return trimmed
    }

    static func checkEmail(_ email: String?) throws {
        if let email, email.count > 254 || !email.contains("@") { throw APIProblem.field("/email", "is not an email address") }
    }

    static func role(_ text: String, field: String) throws -> Role {
        guard let role = Role(rawValue: text) else {
            throw APIProblem.field(field, "must be one of \(Role.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        return role
    }

    static func ifMatch(_ request: Request) throws -> Int? {
        guard let text = request.headers[.ifMatch], text != "*" else { return nil }
        guard let version = Int(text.trimmingCharacters(in: CharacterSet(charactersIn: "\" W/"))) else {
            throw APIProblem(.preconditionFailed, "If-Match must be an ETag this API returned")
        }
        return version
    }

    // MARK: Me, roles

    func me(_ request: Request, context: APIRequestContext) async throws -> Response {
        let caller = try context.requireCaller()
        return try APIJSON.response(MeJSON(userId: caller.userID, tenantId: caller.tenantID, role: caller.role.rawValue, keyId: caller.keyID,
                                           permissions: caller.role.permissions.map(\.rawValue).sorted(), tenants: context.scope))
    }

    func roles(_ request: Request, context: APIRequestContext) async throws -> Response {
        try APIJSON.response(PageJSON(items: Role.allCases.map {
            RoleJSON(name: $0.rawValue, description: $0.summary, permissions: $0.permissions.map(\.rawValue).sorted())
        }, nextCursor: nil))
    }

    // MARK: Tenants

    func listTenants(_ request: Request, context: APIRequestContext) async throws -> Response {
        let limit = try request.query("limit", default: 100, in: 1...1000)
        let rows = try await services.store.tenants(in: context.scope, after: request.query("cursor"), limit: limit + 1, logger: context.logger)
        return try APIJSON.response(PageJSON(rows: rows, limit: limit, cursor: \.id, item: TenantJSON.init))
    }

    private func visibleTenant(_ id: String, context: APIRequestContext) async throws -> TenantRow {
        guard context.sees(tenant: id), let row = try await services.store.tenant(id, logger: context.logger) else {
            throw APIProblem(.notFound, "no tenant \(id)")
        }
        return row
    }

    func getTenant(_ request: Request, context: APIRequestContext) async throws -> Response {
        let row = try await visibleTenant(context.parameter("tenantId"), context: context)
        return try APIJSON.response(TenantJSON(row), headers: [.eTag: TenantJSON(row).etag])
    }

    func createTenant(_ request: Request, context: APIRequestContext) async throws -> Response {
        let caller = try context.requireCaller()
        let body = try APIJSON.decode(NewTenantJSON.self, from: try await request.body.collect(upTo: services.maxBodyBytes))
        let id = try Self.identifier(body.id, field: "/id")
        let name = try Self.name(body.name, field: "/name")
        let parent = body.parentId ?? caller.tenantID
        guard context.sees(tenant: parent), try await services.store.tenant(parent, logger: context.logger) != nil else {
            throw APIProblem.field("/parentId", "no tenant \(parent) in your scope")
        }
        guard try await services.store.createTenant(id: id, parent: parent, name: name, logger: context.logger),
              let row = try await services.store.tenant(id, logger: context.logger) else {
            throw APIProblem(.conflict, "tenant \(id) exists")
        }
        return try APIJSON.response(TenantJSON(row), status: .created, headers: [.location: "/v1/tenants/\(id)", .eTag: TenantJSON(row).etag])
    }

    func updateTenant(_ request: Request, context: APIRequestContext) async throws -> Response {
        let row = try await visibleTenant(context.parameter("tenantId"), context: context)
        let body = try APIJSON.decode(TenantPatchJSON.self, from: try await request.body.collect(upTo: services.maxBodyBytes))
        let name = try Self.name(body.name, field: "/name")
        guard let updated = try await services.store.renameTenant(row.id, name: name, expected: try Self.ifMatch(request), logger: context.logger) else {
            throw APIProblem(.preconditionFailed, "tenant \(row.id) changed; read it again", headers: [.eTag: TenantJSON(row).etag])
        }
        return try APIJSON.response(TenantJSON(updated), headers: [.eTag: TenantJSON(updated).etag])
    }

    // MARK: Users

    func listUsers(_ request: Request, context: APIRequestContext) async throws -> Response {
        let limit = try request.query("limit", default: 100, in: 1...1000)
        let rows = try await services.store.users(in: context.scope, after: request.query("cursor"), limit: limit + 1, logger: context.logger)
        return try APIJSON.response(PageJSON(rows: rows, limit: limit, cursor: \.id, item: UserJSON.init))
    }

    private func visibleUser(_ id: String, context: APIRequestContext) async throws -> UserRow {
        guard let row = try await services.store.user(id, logger: context.logger), context.sees(tenant: row.tenantID) else {
            throw APIProblem(.notFound, "no user \(id)")
        }
        return row
    }

    func getUser(_ request: Request, context: APIRequestContext) async throws -> Response {
        let row = try await visibleUser(context.parameter("userId"), context: context)
        return try APIJSON.response(UserJSON(row), headers: [.eTag: UserJSON(row).etag])
    }

    func createUser(_ request: Request, context: APIRequestContext) async throws -> Response {
        let caller = try context.requireCaller()
        let body = try APIJSON.decode(NewUserJSON.self, from: try await request.body.collect(upTo: services.maxBodyBytes))
        let id = try Self.identifier(body.id, field: "/id")
        let name = try Self.name(body.name, field: "/name")
        let role = try Self.role(body.role, field: "/role")
        guard caller.role.mayGrant(role) else { throw APIProblem(.forbidden, "a \(caller.role.rawValue) cannot create a \(role.rawValue)") }
        try Self.checkEmail(body.email)
        let tenant = body.tenantId ?? caller.tenantID
        guard context.sees(tenant: tenant), try await services.store.tenant(tenant, logger: context.logger) != nil else {
            throw APIProblem.field("/tenantId", "no tenant \(tenant) in your scope")
        }
        guard try await services.store.createUser(id: id, tenant: tenant, name: name, email: body.email, role: role, logger: context.logger),
              let row = try await services.store.user(id, logger: context.logger) else {
            throw APIProblem(.conflict, "user \(id) exists")
        }
        return try APIJSON.response(UserJSON(row), status: .created, headers: [.location: "/v1/users/\(id)", .eTag: UserJSON(row).etag])
    }

    func updateUser(_ request: Request, context: APIRequestContext) async throws -> Response {
        let caller = try context.requireCaller()
        let row = try await visibleUser(context.parameter("userId"), context: context)
        let body = try APIJSON.decode(UserPatchJSON.self, from: try await request.body.collect(upTo: services.maxBodyBytes))
        let role = try body.role.map { try Self.role($0, field: "/role") }
        guard caller.role.mayGrant(role ?? row.role) else { throw APIProblem(.forbidden, "a \(caller.role.rawValue) cannot manage a \((role ?? row.role).rawValue)") }
        if row.id == caller.userID, body.disabled == true || role != nil { throw APIProblem(.forbidden, "you cannot disable yourself or change your own role") }
        let name = try body.name.map { try Self.name($0, field: "/name") }
        try Self.checkEmail(body.email)
        guard let updated = try await services.store.updateUser(row.id, name: name, email: body.email, role: role, disabled: body.disabled,
                                                                expected: try Self.ifMatch(request), logger: context.logger) else {
            throw APIProblem(.preconditionFailed, "user \(row.id) changed; read it again", headers: [.eTag: UserJSON(row).etag])
        }
        return try APIJSON.response(UserJSON(updated), headers: [.eTag: UserJSON(updated).etag])
    }

    // MARK: Keys

    func listKeys(_ request: Request, context: APIRequestContext) async throws -> Response {
        let limit = try request.query("limit", default: 100, in: 1...1000)
        let rows = try await services.store.keys(in: context.scope, after: request.query("cursor"), limit: limit + 1, logger: context.logger)
        return try APIJSON.response(PageJSON(rows: rows, limit: limit, cursor: \.id, item: { KeyJSON($0) }))
    }

    func createKey(_ request: Request, context: APIRequestContext) async throws -> Response {
        let caller = try context.requireCaller()
        let body = try APIJSON.decode(NewKeyJSON.self, from: try await request.body.collect(upTo: services.maxBodyBytes))
        let name = try Self.name(body.name, field: "/name")
        let user = try await visibleUser(body.userId ?? caller.userID, context: context)
        guard !user.disabled else { throw APIProblem.field("/userId", "user \(user.id) is disabled") }
        let role = try body.role.map { try Self.role($0, field: "/role") } ?? user.role
        guard role.permissions.isSubset(of: user.role.permissions) else { throw APIProblem.field("/role", "exceeds the user's role \(user.role.rawValue)") }
        guard caller.role.mayGrant(role) else { throw APIProblem(.forbidden, "a \(caller.role.rawValue) cannot create a key with role \(role.rawValue)") }
        if let expires = body.expiresAt, expires <= Date() { throw APIProblem.field("/expiresAt", "is in the past") }
        let key = APIKey.generate()
        let row = try await services.store.createKey(key, user: user, role: role, name: name, expiresAt: body.expiresAt, createdBy: caller.userID, logger: context.logger)
        return try APIJSON.response(KeyJSON(row, key: key.text), status: .created, headers: [.location: "/v1/api-keys/\(row.id)", .cacheControl: "no-store"])
    }

    func revokeKey(_ request: Request, context: APIRequestContext) async throws -> Response {
        let id = try context.parameter("keyId")
        guard let row = try await services.store.key(id, logger: context.logger), context.sees(tenant: row.tenantID) else {
            throw APIProblem(.notFound, "no API key \(id)")
        }
        let caller = try context.requireCaller()
        guard caller.role.mayGrant(row.role) else { throw APIProblem(.forbidden, "you cannot revoke a key with role \(row.role.rawValue)") }
        // Revoking the key in use would lock the caller out mid-request; another key must do it.
        if row.id == caller.keyID { throw APIProblem(.conflict, "this is the key you are using; revoke it with another key") }
        guard let revoked = try await services.store.revokeKey(id, logger: context.logger) else { throw APIProblem(.notFound, "no API key \(id)") }
        return try APIJSON.response(KeyJSON(revoked))
    }

    // MARK: Audit

    func audit(_ request: Request, context: APIRequestContext) async throws -> Response {
        let limit = try request.query("limit", default: 100, in: 1...1000)
        var cursor: Int64?
        if let text = request.query("cursor") {
            guard let value = Int64(text), value > 0 else { throw APIProblem.field("cursor", "is not a cursor this API returned", kind: .badRequest) }
            cursor = value
        }
        let rows = try await services.store.auditLog(
            in: context.scope, before: cursor, actor: request.query("actor"), action: request.query("action"),
            from: try request.queryTime("from"), to: try request.queryTime("to"), limit: limit + 1, logger: context.logger)
        return try APIJSON.response(PageJSON(rows: rows, limit: limit, cursor: { String($0.id) }, item: AuditJSON.init))
    }
}
