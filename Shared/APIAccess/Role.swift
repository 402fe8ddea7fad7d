/// What a caller may do. Permissions are checked per route (`APIRoute.permission`); the tenant
/// scope is checked separately, on every resource a request touches.
public enum Permission: String, Sendable, Hashable, CaseIterable, Codable {
    /// Read one device's twin, history and commands by its ID.
    case devicesRead = "devices:read"
    /// Search, count and group the fleet (many devices per request).
    case fleetRead = "fleet:read"
    /// Change a device's tags or forget it.
    case devicesWrite = "devices:write"
    /// Queue and cancel commands for one device.
    case commandsWrite = "commands:write"
    /// See bulk operations and dry runs.
    case bulkRead = "bulk:read"
    /// Start, pause, resume and cancel bulk operations.
    case bulkWrite = "bulk:write"
    /// See tenants, users and API keys (never a key's secret).
    case accessRead = "access:read"
    /// Create tenants, users and API keys; revoke keys.
    case accessWrite = "access:write"
    /// Read the audit log.
    case auditRead = "audit:read"
    /// Create, change and delete webhook subscriptions (reading them needs `access:read`).
    case webhooksWrite = "webhooks:write"
}

/// The built-in roles. A role is a fixed set of permissions; every role is limited to the
/// caller's tenant and its descendants.
public enum Role: String, Sendable, Hashable, CaseIterable, Codable {
    /// Everything in the tenant subtree, including users, keys and child tenants.
    case tenantAdmin = "tenant-admin"
    /// Network operations: the fleet, commands and bulk operations; reads access and audit.
    case nocOperator = "noc-operator"
    /// One device at a time: read and command a device by ID; no fleet search, no bulk.
    case fieldTechnician = "field-technician"
    /// Reads everything, the audit log included; changes nothing.
    case auditor

    /// The permissions of the role.
    public var permissions: Set<Permission> {
        switch self {
        case .tenantAdmin: Set(Permission.allCases)
        case .nocOperator: [.devicesRead, .fleetRead, .devicesWrite, .commandsWrite, .bulkRead, .bulkWrite, .accessRead, .auditRead, .webhooksWrite]
        case .fieldTechnician: [.devicesRead, .commandsWrite]
        case .auditor: [.devicesRead, .fleetRead, .bulkRead, .accessRead, .auditRead]
        }
    }

    /// Whether the role has `permission`.
    public func allows(_ permission: Permission) -> Bool { permissions.contains(permission) }

    /// Whether a caller with this role may create a user or key with `other`: never a role
    /// with a permission the caller lacks (no privilege escalation).
    public func mayGrant(_ other: Role) -> Bool { allows(.accessWrite) && other.permissions.isSubset(of: permissions) }

    /// For people.
    public var summary: String {
        switch self {
        case .tenantAdmin: "Everything in the tenant and its child tenants, including users, API keys and webhooks"
        case .nocOperator: "Fleet search, commands and bulk operations; reads users, keys and the audit log"
        case .fieldTechnician: "One device at a time by its ID: read its twin and queue commands; no fleet search, no bulk"
        case .auditor: "Reads devices, the fleet, bulk operations, users, keys and the audit log; changes nothing"
        }
    }
}

/// Who is calling, once authenticated.
public struct Caller: Sendable, Equatable {
    /// User ID (API keys belong to a user; a JWT's `sub`).
    public var userID: String
    /// The caller's own tenant; the scope is this tenant and its descendants.
    public var tenantID: String
    public var role: Role
    /// The API key used, if any (rate limits are per key, or per user for tokens).
    public var keyID: String?

    public init(userID: String, tenantID: String, role: Role, keyID: String? = nil) {
        self.userID = userID
        self.tenantID = tenantID
        self.role = role
        self.keyID = keyID
    }

    /// What rate limits count against.
    public var rateLimitKey: String { keyID.map { "key:\($0)" } ?? "user:\(userID)" }
}
