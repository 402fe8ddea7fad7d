import APIAccess
import Foundation
import Testing
import TestSupport

/// Authentication, the role × operation permission matrix, tenant isolation and the audit log.
@Suite(.serialized) struct APIAccessControlTests {
    @Test func documentIsServedAndAuthenticationIsRequired() async throws {
        let harness = try await APIHarness.start()
        defer { Task { await harness.stop() } }
        let anonymous = APIClient(port: harness.apiPort, key: nil)

        // The served contract is the repository's file, byte for byte (the process refuses to
        // start when its routes and the file differ).
        let document = try await anonymous.call(.GET, "/v1/openapi.json")
        #expect(document.status == 200)
        let file = try Data(contentsOf: APIHarness.repositoryRoot.appendingPathComponent("Services/API/openapi.json"))
        #expect(document.body == file)
        #expect((document.object["openapi"] as? String)?.hasPrefix("3.1") == true)

        // No credentials, a malformed key, an unknown key, a bad token: 401 problem+json.
        for (client, case_) in [(anonymous, "none"), (APIClient(port: harness.apiPort, key: "tfk_nonsense"), "malformed"),
                                (APIClient(port: harness.apiPort, key: APIKey.generate().text), "unknown"),
                                (APIClient(port: harness.apiPort, key: nil, bearer: "a.b.c"), "bad token")] {
            let response = try await client.call(.GET, "/v1/me")
            #expect(response.status == 401, "\(case_)")
            #expect(response.header("Content-Type") == "application/problem+json")
            #expect(response.problemType == "unauthenticated")
            #expect(response.header("WWW-Authenticate")?.hasPrefix("Bearer") == true)
            #expect(response.object["requestId"] as? String == response.header("X-Request-Id"))
        }

        // The bootstrap key works; a request ID sent is echoed.
        let me = try await harness.client().call(.GET, "/v1/me", headers: ["X-Request-Id": "trace-42"])
        #expect(me.status == 200)
        #expect(me.object["role"] as? String == "tenant-admin")
        #expect(me.header("X-Request-Id") == "trace-42")

        // A bearer token from the identity provider; wrong issuer or unknown tenant is refused.
        let idp = try #require(BearerTokenVerifier(secret: harness.jwtSecret))
        let exp = Int(Date().timeIntervalSince1970) + 300
        let token = idp.sign(claims: ["sub": "carol", "tenant": "default", "role": "auditor", "iss": "test-idp", "exp": exp])
        let viaToken = try await APIClient(port: harness.apiPort, key: nil, bearer: token).call(.GET, "/v1/me")
        #expect(viaToken.status == 200)
        #expect(viaToken.object["userId"] as? String == "carol")
        #expect(viaToken.object["role"] as? String == "auditor")
        for claims: [String: Any] in [["sub": "carol", "tenant": "default", "role": "auditor", "iss": "other", "exp": exp],
                                      ["sub": "carol", "tenant": "nope", "role": "auditor", "iss": "test-idp", "exp": exp],
                                      ["sub": "carol", "tenant": "default", "role": "auditor", "iss": "test-idp", "exp": exp - 3600]] {
            let refused = try await APIClient(port: harness.apiPort, key: nil, bearer: idp.sign(claims: claims)).call(.GET, "/v1/me")
            #expect(refused.status == 401, "\(claims)")
        }
    }

    /// One representative request per operation, for every role: the role's permissions decide
    /// between 403 and anything else.
    @Test func permissionMatrix() async throws {
        let harness = try await APIHarness.start()
        defer { Task { await harness.stop() } }
        let admin = harness.client()
        let tenant = TestEnvironment.unique("perm").lowercased()
        #expect(try await admin.call(.POST, "/v1/tenants", json: ["id": tenant, "name": "Permissions"]).status == 201)
        let device = "\(tenant)-dev", doomed = "\(tenant)-doomed"
        try await harness.addDevices([device, doomed], tenant: tenant)
        var keys: [Role: String] = [:]
        for role in Role.allCases {
            let user = "\(tenant)-\(role.rawValue)"
            let created = try await admin.call(.POST, "/v1/users", json: ["id": user, "name": role.rawValue, "role": role.rawValue, "tenantId": tenant])
            #expect(created.status == 201, "\(created.text)")
            let key = try await admin.call(.POST, "/v1/api-keys", json: ["name": "matrix", "userId": user])
            #expect(key.status == 201, "\(key.text)")
            keys[role] = try #require(key.object["key"] as? String)
        }
        let bulkBody: [String: Any] = ["query": "deviceId = \(device)", "command": ["kind": "reboot"]]
        let requests: [(String, String, Any?, Permission?)] = [
            ("GET", "/v1/me", nil, nil),
            ("GET", "/v1/roles", nil, nil),
            ("GET", "/v1/devices", nil, .fleetRead),
            ("GET", "/v1/device-counts?groupBy=softwareVersion", nil, .fleetRead),
            ("GET", "/v1/devices/\(device)", nil, .devicesRead),
            ("GET", "/v1/devices/\(device)/history?path=Device.DeviceInfo.SoftwareVersion", nil, .devicesRead),
            ("GET", "/v1/devices/\(device)/snapshot?asOf=2026-01-01T00:00:00Z", nil, .devicesRead),
            ("GET", "/v1/devices/\(device)/events", nil, .devicesRead),
            ("POST", "/v1/devices/\(device)/commands", ["kind": "reboot"], .commandsWrite),
            ("GET", "/v1/devices/\(device)/commands", nil, .devicesRead),
            ("GET", "/v1/devices/\(device)/commands/none", nil, .devicesRead),
            ("POST", "/v1/devices/\(device)/commands/none/cancel", [String: Any](), .commandsWrite),
            ("POST", "/v1/bulk-operations/dry-run", bulkBody, .bulkRead),
            ("POST", "/v1/bulk-operations", bulkBody, .bulkWrite),
            ("GET", "/v1/bulk-operations", nil, .bulkRead),
            ("GET", "/v1/bulk-operations/none", nil, .bulkRead),
            ("POST", "/v1/bulk-operations/none/pause", [String: Any](), .bulkWrite),
            ("POST", "/v1/bulk-operations/none/resume", [String: Any](), .bulkWrite),
            ("POST", "/v1/bulk-operations/none/cancel", [String: Any](), .bulkWrite),
            ("GET", "/v1/tenants", nil, .accessRead),
            ("POST", "/v1/tenants", ["id": "\(tenant)-child", "name": "child"], .accessWrite),
            ("GET", "/v1/tenants/\(tenant)", nil, .accessRead),
            ("PATCH", "/v1/tenants/\(tenant)", ["name": "renamed"], .accessWrite),
            ("GET", "/v1/users", nil, .accessRead),
            ("POST", "/v1/users", ["id": "\(tenant)-new", "name": "new", "role": "auditor"], .accessWrite),
            ("GET", "/v1/users/\(tenant)-auditor", nil, .accessRead),
            ("PATCH", "/v1/users/\(tenant)-auditor", ["name": "Auditor"], .accessWrite),
            ("GET", "/v1/api-keys", nil, .accessRead),
            ("POST", "/v1/api-keys", ["name": "another"], .accessWrite),
            ("DELETE", "/v1/api-keys/0000000000000000", nil, .accessWrite),
            ("GET", "/v1/audit-log", nil, .auditRead),
            ("PUT", "/v1/devices/\(device)/tags/matrix", nil, .devicesWrite),
            ("DELETE", "/v1/devices/\(device)/tags/matrix", nil, .devicesWrite),
            ("DELETE", "/v1/devices/\(doomed)", nil, .devicesWrite),
            ("GET", "/v1/webhooks", nil, .accessRead),
            ("POST", "/v1/webhooks", ["url": "https://hooks.example.net/twinfleet", "events": ["device.online"]], .webhooksWrite),
            ("GET", "/v1/webhooks/none", nil, .accessRead),
            ("PATCH", "/v1/webhooks/none", ["active": false], .webhooksWrite),
            ("DELETE", "/v1/webhooks/none", nil, .webhooksWrite),
            ("GET", "/v1/webhooks/none/deliveries", nil, .accessRead),
        ]
        let document = try JSONSerialization.jsonObject(with: Data(contentsOf: APIHarness.repositoryRoot.appendingPathComponent("Services/API/openapi.json"))) as? [String: Any]
        let operations = (document?["paths"] as? [String: [String: Any]] ?? [:]).values.reduce(0) { $0 + $1.keys.filter { ["get", "post", "put", "patch", "delete"].contains($0) }.count }
        #expect(requests.count == operations - 1, "one request per documented operation except the public document")
        #expect(Set(requests.map { "\($0.0) \($0.1)" }).count == requests.count)
        for role in Role.allCases {
            let client = harness.client(key: keys[role])
            for (method, path, body, permission) in requests {
                let response = try await client.call(.init(rawValue: method), path, json: body)
                let allowed = permission.map(role.allows) ?? true
                if allowed {
                    #expect(response.status != 403 && response.status < 500, "\(role) \(method) \(path): \(response.status) \(response.text)")
                } else {
                    #expect(response.status == 403, "\(role) \(method) \(path): \(response.status) \(response.text)")
                    #expect(response.problemType == "forbidden")
                }
            }
        }
        // Nobody grants more than they have: the tenant admin of the tenant cannot be created by
        // a NOC operator, and a key cannot exceed its user's role.
        let noc = harness.client(key: keys[.nocOperator])
        #expect(try await noc.call(.POST, "/v1/users", json: ["id": "\(tenant)-x", "name": "x", "role": "tenant-admin"]).status == 403)
        let tenantAdmin = harness.client(key: keys[.tenantAdmin])
        let escalation = try await tenantAdmin.call(.POST, "/v1/api-keys", json: ["name": "up", "userId": "\(tenant)-auditor", "role": "noc-operator"])
        #expect(escalation.status == 422)
        #expect((escalation.object["errors"] as? [[String: Any]])?.first?["field"] as? String == "/role")
    }

    @Test func tenantsSeeOnlyTheirSubtree() async throws {
        let harness = try await APIHarness.start()
        defer { Task { await harness.stop() } }
        let admin = harness.client()
        let parent = TestEnvironment.unique("p").lowercased(), child = parent + "-a", other = TestEnvironment.unique("b").lowercased()
        #expect(try await admin.call(.POST, "/v1/tenants", json: ["id": parent, "name": "Parent ISP"]).status == 201)
        #expect(try await admin.call(.POST, "/v1/tenants", json: ["id": child, "name": "Reseller A", "parentId": parent]).status == 201)
        #expect(try await admin.call(.POST, "/v1/tenants", json: ["id": other, "name": "Other ISP"]).status == 201)
        let (childDevice, otherDevice, parentDevice) = ("\(child)-gw1", "\(other)-gw1", "\(parent)-gw1")
        try await harness.addDevices([childDevice], tenant: child)
        try await harness.addDevices([otherDevice], tenant: other)
        try await harness.addDevices([parentDevice], tenant: parent)

        func key(_ tenant: String, role: Role) async throws -> APIClient {
            let user = "\(tenant)-\(role.rawValue)"
            #expect(try await admin.call(.POST, "/v1/users", json: ["id": user, "name": user, "role": role.rawValue, "tenantId": tenant]).status == 201)
            let created = try await admin.call(.POST, "/v1/api-keys", json: ["name": "k", "userId": user])
            return harness.client(key: created.object["key"] as? String)
        }
        let parentKey = try await key(parent, role: .nocOperator)
        let childKey = try await key(child, role: .nocOperator)

        // By query: each sees its subtree only, whatever the query says.
        func ids(_ client: APIClient, _ query: String) async throws -> Set<String> {
            let response = try await client.call(.GET, "/v1/devices?q=\(query.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? "")")
            #expect(response.status == 200, "\(response.text)")
            return Set(response.items.compactMap { $0["id"] as? String })
        }
        #expect(try await ids(parentKey, "") == [parentDevice, childDevice])
        #expect(try await ids(childKey, "") == [childDevice])
        #expect(try await ids(childKey, "deviceId = \(otherDevice) OR tenant = \(other)").isEmpty)
        #expect(try await ids(childKey, "NOT tenant = \(child)").isEmpty)
        let counted = try await childKey.call(.GET, "/v1/device-counts?groupBy=tenant")
        #expect(counted.object["count"] as? Int == 1)

        // By ID: other tenants' devices do not exist for the caller, reads and commands alike.
        #expect(try await childKey.call(.GET, "/v1/devices/\(otherDevice)").status == 404)
        #expect(try await childKey.call(.GET, "/v1/devices/\(parentDevice)").status == 404, "a child does not see its parent's devices")
        #expect(try await parentKey.call(.GET, "/v1/devices/\(childDevice)").status == 200, "a parent sees its children's devices")
        let command = try await childKey.call(.POST, "/v1/devices/\(otherDevice)/commands", json: ["kind": "reboot"])
        #expect(command.status == 404)
        #expect(try await childKey.call(.GET, "/v1/devices/\(otherDevice)/commands").status == 404)
        // Bulk operations are scoped the same way.
        let plan = try await childKey.call(.POST, "/v1/bulk-operations/dry-run", json: ["query": "", "command": ["kind": "reboot"]])
        #expect(plan.object["matched"] as? Int == 1, "\(plan.text)")
        #expect(plan.items.map { $0["deviceId"] as? String } == [childDevice])
        // Tenants, users and keys of other subtrees are invisible too.
        #expect(try await childKey.call(.GET, "/v1/tenants/\(other)").status == 404)
        let tenants = try await parentKey.call(.GET, "/v1/tenants")
        #expect(Set(tenants.items.compactMap { $0["id"] as? String }) == [parent, child])
        let users = try await childKey.call(.GET, "/v1/users")
        #expect(users.items.allSatisfy { $0["tenantId"] as? String == child })
        // A child cannot create a tenant outside its subtree.
        let outside = try await harness.client(key: (try await admin.call(.POST, "/v1/api-keys", json: ["name": "ta", "userId": try await {
            let user = "\(child)-admin"
            _ = try await admin.call(.POST, "/v1/users", json: ["id": user, "name": "admin", "role": "tenant-admin", "tenantId": child])
            return user
        }()])).object["key"] as? String).call(.POST, "/v1/tenants", json: ["id": "\(child)-x", "name": "x", "parentId": other])
        #expect(outside.status == 422)
    }

    @Test func writesAreAudited() async throws {
        let harness = try await APIHarness.start()
        defer { Task { await harness.stop() } }
        let admin = harness.client()
        let tenant = TestEnvironment.unique("aud").lowercased()
        let created = try await admin.call(.POST, "/v1/tenants", json: ["id": tenant, "name": "Audited"], headers: ["X-Request-Id": "req-\(tenant)"])
        #expect(created.status == 201)
        let device = "\(tenant)-gw"
        try await harness.addDevices([device], tenant: tenant)
        let queued = try await admin.call(.POST, "/v1/devices/\(device)/commands", json: ["kind": "reboot"])
        #expect(queued.status == 202)
        // A refused write is recorded too, with its status.
        let refused = try await APIClient(port: harness.apiPort, key: nil).call(.POST, "/v1/tenants", json: ["id": "x", "name": "x"])
        #expect(refused.status == 401)

        let log = try await admin.call(.GET, "/v1/audit-log?limit=1000")
        #expect(log.status == 200)
        let entries = log.items
        let creation = try #require(entries.first { $0["requestId"] as? String == "req-\(tenant)" })
        #expect(creation["action"] as? String == "createTenant")
        #expect(creation["actor"] as? String == "bootstrap-admin")
        #expect(creation["status"] as? Int == 201)
        #expect(creation["method"] as? String == "POST")
        #expect(creation["remoteAddress"] as? String == "127.0.0.1")
        #expect(creation["detail"] as? String == "/v1/tenants/\(tenant)")
        let command = try #require(entries.first { $0["action"] as? String == "queueCommand" && ($0["path"] as? String)?.contains(device) == true })
        #expect(command["status"] as? Int == 202)
        #expect((command["detail"] as? String)?.hasPrefix("/v1/devices/\(device)/commands/api-") == true)
        #expect(entries.contains { $0["actor"] as? String == "anonymous" && $0["status"] as? Int == 401 })
        // Reads are not audited.
        #expect(!entries.contains { $0["method"] as? String == "GET" })
        // An auditor of another tenant sees none of it.
        let other = TestEnvironment.unique("aud2").lowercased()
        _ = try await admin.call(.POST, "/v1/tenants", json: ["id": other, "name": "Other"])
        _ = try await admin.call(.POST, "/v1/users", json: ["id": "\(other)-aud", "name": "a", "role": "auditor", "tenantId": other])
        let auditorKey = try await admin.call(.POST, "/v1/api-keys", json: ["name": "a", "userId": "\(other)-aud"]).object["key"] as? String
        let foreign = try await harness.client(key: auditorKey).call(.GET, "/v1/audit-log")
        #expect(foreign.status == 200)
        #expect(foreign.items.allSatisfy { $0["tenantId"] as? String == other }, "\(foreign.text)")
    }
}
