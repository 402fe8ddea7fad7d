import Foundation
import Testing
import TestSupport
import TwinfleetModel

/// Devices, commands, bulk operations and the conventions (problems, ETags, idempotency,
/// pagination) on real PostgreSQL and the dev broker.
@Suite(.serialized) struct APIResourceTests {
    @Test func devicesTwinHistoryAndFleetQueries() async throws {
        let harness = try await APIHarness.start()
        defer { Task { await harness.stop() } }
        let admin = harness.client()
        let tenant = TestEnvironment.unique("dev").lowercased()
        #expect(try await admin.call(.POST, "/v1/tenants", json: ["id": tenant, "name": "Devices"]).status == 201)
        let devices = (0..<25).map { "\(tenant)-gw\(String(format: "%02d", $0))" }
        let t0 = Date(timeIntervalSince1970: (Date().timeIntervalSince1970 - 3600).rounded())
        try await harness.addDevices(Array(devices[..<20]), tenant: tenant, software: "1.0", parameters: [
            Events.parameter("Device.WiFi.Radio.1.Channel", .unsignedInt(6), writable: true),
            Events.parameter("Device.DeviceInfo.UpTime", .unsignedInt(10)),
        ], at: t0)
        try await harness.addDevices(Array(devices[20...]), tenant: tenant, software: "2.0", at: t0)
        // A value change an hour later makes history.
        _ = try await harness.producer.send(Events.record(Events.valueChange(devices[0], at: t0.addingTimeInterval(1800), tenant: tenant, [
            Events.parameter("Device.WiFi.Radio.1.Channel", .unsignedInt(11), writable: true),
        ]), topic: harness.eventsTopic))
        #expect(await eventually(timeout: .seconds(30)) {
            let twin = try? await admin.call(.GET, "/v1/devices/\(devices[0])?path=Device.WiFi.")
            return (twin?.object["parameters"] as? [[String: Any]])?.first?["value"] as? String == "11"
        })

        // The twin: device fields, typed parameters under a prefix, an ETag that 304s.
        let twin = try await admin.call(.GET, "/v1/devices/\(devices[0])?path=Device.WiFi.")
        #expect(twin.status == 200)
        let device = try #require(twin.object["device"] as? [String: Any])
        #expect(device["tenantId"] as? String == tenant)
        #expect(device["softwareVersion"] as? String == "1.0")
        let parameters = try #require(twin.object["parameters"] as? [[String: Any]])
        #expect(parameters.count == 1)
        #expect(parameters[0]["type"] as? String == "unsignedInt")
        #expect(parameters[0]["writable"] as? Bool == true)
        let etag = try #require(twin.header("ETag"))
        #expect(try await admin.call(.GET, "/v1/devices/\(devices[0])?path=Device.WiFi.", headers: ["If-None-Match": etag]).status == 304)
        #expect(try await admin.call(.GET, "/v1/devices/\(devices[0])", headers: ["If-None-Match": etag]).status == 200, "another representation, another ETag")

        // History and the twin as of a time.
        let history = try await admin.call(.GET, "/v1/devices/\(devices[0])/history?path=Device.WiFi.Radio.1.Channel&from=\(APIClient.time(t0.addingTimeInterval(-60)))")
        #expect(history.status == 200, "\(history.text)")
        #expect(history.items.map { $0["value"] as? String } == ["6", "11"])
        let before = try await admin.call(.GET, "/v1/devices/\(devices[0])/snapshot?asOf=\(APIClient.time(t0.addingTimeInterval(900)))&path=Device.WiFi.")
        #expect((before.object["parameters"] as? [[String: Any]])?.first?["value"] as? String == "6")
        let after = try await admin.call(.GET, "/v1/devices/\(devices[0])/snapshot?asOf=\(APIClient.time(t0.addingTimeInterval(2000)))&path=Device.WiFi.")
        #expect((after.object["parameters"] as? [[String: Any]])?.first?["value"] as? String == "11")
        #expect(try await admin.call(.GET, "/v1/devices/\(devices[0])/snapshot").problemType == "bad-request", "asOf is required")

        // Fleet queries: filter, pagination over both shards, field selection, counts.
        func q(_ text: String) -> String { text.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? "" }
        var seen: [String] = []
        var cursor: String?
        repeat {
            let page = try await admin.call(.GET, "/v1/devices?q=\(q("tenant = \(tenant)"))&limit=7&fields=softwareVersion" + (cursor.map { "&cursor=\(q($0))" } ?? ""))
            #expect(page.status == 200, "\(page.text)")
            for item in page.items {
                seen.append(item["id"] as? String ?? "")
                #expect(Set(item.keys) == ["id", "softwareVersion"], "field selection")
            }
            cursor = page.object["nextCursor"] as? String
        } while cursor != nil
        #expect(seen == devices, "every device exactly once, in order")
        let channel = try await admin.call(.GET, "/v1/devices?q=\(q("tenant = \(tenant) AND Device.WiFi.Radio.1.Channel = 6"))")
        #expect(channel.items.count == 19)
        let groups = try await admin.call(.GET, "/v1/device-counts?q=\(q("tenant = \(tenant)"))&groupBy=softwareVersion")
        #expect(groups.object["count"] as? Int == 25)
        let byVersion = (groups.object["groups"] as? [[String: Any]] ?? []).map { "\($0["value"] ?? "")=\($0["count"] ?? "")" }
        #expect(byVersion == ["1.0=20", "2.0=5"])

        // Bad queries name the parameter.
        let bad = try await admin.call(.GET, "/v1/devices?q=\(q("softwareVersion <"))")
        #expect(bad.status == 400)
        #expect(bad.problemType == "invalid-query")
        #expect((bad.object["errors"] as? [[String: Any]])?.first?["field"] as? String == "q")
        #expect(try await admin.call(.GET, "/v1/devices?fields=nonsense").status == 400)
        #expect(try await admin.call(.GET, "/v1/devices?limit=0").status == 400)
        #expect(try await admin.call(.GET, "/v1/devices?cursor=garbage").status == 400)
        #expect(try await admin.call(.GET, "/v1/devices/nobody-\(tenant)").problemType == "not-found")
    }

    @Test func tagsAndForgettingGoThroughTheTwin() async throws {
        let harness = try await APIHarness.start()
        defer { Task { await harness.stop() } }
        let admin = harness.client()
        let tenant = TestEnvironment.unique("tag").lowercased()
        #expect(try await admin.call(.POST, "/v1/tenants", json: ["id": tenant, "name": "Tags"]).status == 201)
        let (kept, forgotten) = ("\(tenant)-kept", "\(tenant)-gone")
        try await harness.addDevices([kept, forgotten], tenant: tenant, parameters: [Events.parameter("Device.WiFi.Radio.1.Channel", .unsignedInt(6), writable: true)])

        let added = try await admin.call(.PUT, "/v1/devices/\(kept)/tags/beta")
        #expect(added.status == 202, "\(added.text)")
        #expect(added.object["tags"] as? [String] == ["beta"])
        #expect(try await admin.call(.PUT, "/v1/devices/\(kept)/tags/pilot:north").status == 202)
        #expect(try await admin.call(.PUT, "/v1/devices/\(kept)/tags/has%20space").status == 422)
        func tagged(_ tag: String) async throws -> [String] {
            let page = try await admin.call(.GET, "/v1/devices?q=" + "tenant = \(tenant) AND tag = \"\(tag)\"".addingPercentEncoding(withAllowedCharacters: .alphanumerics)!)
            return page.items.compactMap { $0["id"] as? String }
        }
        #expect(await eventually(timeout: .seconds(30)) { (try? await tagged("pilot:north")) == [kept] })
        #expect(try await tagged("beta") == [kept])
        #expect(try await admin.call(.DELETE, "/v1/devices/\(kept)/tags/beta").status == 202)
        #expect(await eventually(timeout: .seconds(30)) { (try? await tagged("beta"))?.isEmpty == true })
        let device = try await admin.call(.GET, "/v1/devices/\(kept)")
        #expect((device.object["device"] as? [String: Any])?["tags"] as? [String] == ["pilot:north"])

        // Forgetting deletes the twin with its parameters and history; the other device stays.
        _ = try await admin.call(.POST, "/v1/devices/\(forgotten)/commands", json: ["kind": "reboot"])
        let forget = try await admin.call(.DELETE, "/v1/devices/\(forgotten)")
        #expect(forget.status == 202)
        #expect(await eventually(timeout: .seconds(30)) { (try? await admin.call(.GET, "/v1/devices/\(forgotten)"))?.status == 404 })
        #expect(try await admin.call(.GET, "/v1/devices/\(forgotten)/history?path=Device.WiFi.Radio.1.Channel").status == 404)
        #expect(try await admin.call(.DELETE, "/v1/devices/\(forgotten)").status == 404)
        #expect(try await admin.call(.GET, "/v1/devices/\(kept)").status == 200)
        // A device that reports again after being forgotten starts as new.
        try await harness.addDevices([forgotten], tenant: tenant)
        let reborn = try await admin.call(.GET, "/v1/devices/\(forgotten)")
        #expect((reborn.object["device"] as? [String: Any])?["twinVersion"] as? Int == 1)
        #expect((reborn.object["pendingCommands"] as? [Any])?.isEmpty == true)
    }

    @Test func commandsAreValidatedQueuedAndCancelled() async throws {
        let harness = try await APIHarness.start()
        defer { Task { await harness.stop() } }
        let admin = harness.client()
        let tenant = TestEnvironment.unique("cmd").lowercased()
        #expect(try await admin.call(.POST, "/v1/tenants", json: ["id": tenant, "name": "Commands"]).status == 201)
        let device = "\(tenant)-gw", uspDevice = "\(tenant)-usp"
        try await harness.addDevices([device], tenant: tenant, parameters: [Events.parameter("Device.WiFi.Radio.1.Channel", .unsignedInt(6), writable: true)])
        try await harness.addDevices([uspDevice], tenant: tenant, protocol: .usp)

        // Validation against the typed data model, every field at fault named.
        let invalid = try await admin.call(.POST, "/v1/devices/\(device)/commands", json: [
            "kind": "set-parameters",
            "parameters": [["path": "Device.WiFi.Radio.1.Channel", "value": "eleven"],
                           ["path": "Device.DeviceInfo.UpTime", "value": "5"],
                           ["path": "Device.Nonsense.Thing", "value": "1"]],
        ])
        #expect(invalid.status == 422)
        #expect(invalid.problemType == "validation-failed")
        let fields = (invalid.object["errors"] as? [[String: Any]] ?? []).compactMap { $0["field"] as? String }
        #expect(fields == ["/parameters/0/value", "/parameters/1/path", "/parameters/2/path"], "\(invalid.text)")
        let operate = try await admin.call(.POST, "/v1/devices/\(device)/commands", json: ["kind": "operate", "commandPath": "Device.Reboot()"])
        #expect(operate.status == 422, "operate is USP only")
        #expect(try await admin.call(.POST, "/v1/devices/\(uspDevice)/commands", json: ["kind": "operate", "commandPath": "Device.Reboot()"]).status == 202)
        #expect(try await admin.call(.POST, "/v1/devices/\(device)/commands", json: ["kind": "fly"]).status == 422)
        // Notification attributes: CWMP only, each entry checked, and read back as written.
        let attributes = try await admin.call(.POST, "/v1/devices/\(device)/commands", json: [
            "kind": "set-parameter-attributes",
            "attributes": [["path": "Device.WiFi.Radio.1.Channel", "notification": 2], ["path": "Device.WiFi.", "accessList": ["Subscriber"]]],
        ])
        #expect(attributes.status == 202, "\(attributes.text)")
        let stored = (attributes.object["request"] as? [String: Any])?["attributes"] as? [[String: Any]]
        #expect(stored?.first?["notification"] as? Int == 2, "\(attributes.text)")
        #expect(stored?.last?["accessList"] as? [String] == ["Subscriber"], "\(attributes.text)")
        let badAttributes = try await admin.call(.POST, "/v1/devices/\(device)/commands", json: [
            "kind": "set-parameter-attributes",
            "attributes": [["path": "Device.WiFi.Radio.1.Channel", "notification": 9], ["path": "Device.WiFi."], ["path": "Device.Nonsense.", "notification": 1]],
        ])
        let badFields = (badAttributes.object["errors"] as? [[String: Any]] ?? []).compactMap { $0["field"] as? String }
        #expect(badAttributes.status == 422)
        #expect(badFields == ["/attributes/0/notification", "/attributes/1", "/attributes/2/path"], "\(badAttributes.text)")
        #expect(try await admin.call(.POST, "/v1/devices/\(uspDevice)/commands", json: [
            "kind": "set-parameter-attributes", "attributes": [["path": "Device.WiFi.", "notification": 2]],
        ]).status == 422, "USP agents use subscriptions")
        #expect(try await admin.call(.POST, "/v1/devices/\(device)/commands", json: ["kind": "reboot", "url": "http://x"]).status == 422, "fields of other kinds are refused")
        let missing = try await admin.call(.POST, "/v1/devices/\(device)/commands", json: ["priority": 1])
        #expect(missing.status == 422)
        #expect((missing.object["errors"] as? [[String: Any]])?.first?["field"] as? String == "/kind")

        // A valid Set: 202, Location, then the twin shows it pending with the desired value.
        let queued = try await admin.call(.POST, "/v1/devices/\(device)/commands", json: [
            "kind": "set-parameters", "parameters": [["path": "Device.WiFi.Radio.1.Channel", "value": "11"]],
        ], headers: ["Idempotency-Key": "change-1"])
        #expect(queued.status == 202, "\(queued.text)")
        let location = try #require(queued.header("Location"))
        let commandID = try #require(queued.object["id"] as? String)
        #expect(location == "/v1/devices/\(device)/commands/\(commandID)")
        let typed = ((queued.object["request"] as? [String: Any])?["parameters"] as? [[String: Any]])?.first
        #expect(typed?["type"] as? String == "unsignedInt", "the value is typed from the data model")
        #expect(await eventually(timeout: .seconds(30)) { (try? await admin.call(.GET, location))?.status == 200 })
        let twin = try await admin.call(.GET, "/v1/devices/\(device)?path=Device.WiFi.Radio.1.Channel")
        let parameter = (twin.object["parameters"] as? [[String: Any]])?.first
        #expect((parameter?["desired"] as? [String: Any])?["value"] as? String == "11")
        #expect(parameter?["pendingCommandId"] as? String == commandID)
        #expect((twin.object["pendingCommands"] as? [[String: Any]])?.contains { $0["id"] as? String == commandID } == true)

        // Idempotency: the same request replays, another body with the key conflicts.
        let replay = try await admin.call(.POST, "/v1/devices/\(device)/commands", json: [
            "kind": "set-parameters", "parameters": [["path": "Device.WiFi.Radio.1.Channel", "value": "11"]],
        ], headers: ["Idempotency-Key": "change-1"])
        #expect(replay.status == 202)
        #expect(replay.object["id"] as? String == commandID)
        #expect(replay.header("Idempotent-Replayed") == "true")
        let reused = try await admin.call(.POST, "/v1/devices/\(device)/commands", json: ["kind": "reboot"], headers: ["Idempotency-Key": "change-1"])
        #expect(reused.status == 409)
        #expect(reused.problemType == "idempotency-key-reused")
        let list = try await admin.call(.GET, "/v1/devices/\(device)/commands")
        #expect(list.items.filter { ($0["request"] as? [String: Any])?["kind"] as? String == "set-parameters" }.count == 1, "one command, not two")

        // Cancel: a stale If-Match is refused; then 202 and the twin records the request.
        let current = try await admin.call(.GET, location)
        #expect(try await admin.call(.POST, location + "/cancel", json: [String: Any](), headers: ["If-Match": "\"stale\""]).status == 412)
        let cancel = try await admin.call(.POST, location + "/cancel", json: ["reason": "changed my mind"], headers: ["If-Match": try #require(current.header("ETag"))])
        #expect(cancel.status == 202, "\(cancel.text)")
        #expect(await eventually(timeout: .seconds(30)) {
            (try? await admin.call(.GET, location))?.object["cancelRequestedAt"] != nil
        })
        #expect(try await admin.call(.POST, "/v1/devices/\(device)/commands/api-none/cancel", json: [String: Any]()).status == 404)
    }

    @Test func bulkOperationsUsersKeysAndETags() async throws {
        let harness = try await APIHarness.start()
        defer { Task { await harness.stop() } }
        let admin = harness.client()
        let tenant = TestEnvironment.unique("blk").lowercased()
        #expect(try await admin.call(.POST, "/v1/tenants", json: ["id": tenant, "name": "Bulk"]).status == 201)
        let devices = (0..<4).map { "\(tenant)-gw\($0)" }
        try await harness.addDevices(devices, tenant: tenant, parameters: [Events.parameter("Device.WiFi.Radio.1.Channel", .unsignedInt(6), writable: true)])
        let body: [String: Any] = ["query": "tenant = \(tenant)", "command": ["kind": "set-parameters", "parameters": [["path": "Device.WiFi.Radio.1.Channel", "value": "1"]]],
                                   "ratePerSecond": 1, "window": "00:00-00:01"]
        var dry = body
        dry.removeValue(forKey: "ratePerSecond")
        dry.removeValue(forKey: "window")
        let plan = try await admin.call(.POST, "/v1/bulk-operations/dry-run", json: dry)
        #expect(plan.status == 200, "\(plan.text)")
        #expect(plan.object["matched"] as? Int == 4)
        #expect(plan.items.allSatisfy { (($0["changes"] as? [[String: Any]])?.first?["current"] as? String) == "6" })
        let invalid = try await admin.call(.POST, "/v1/bulk-operations/dry-run", json: ["query": "tenant = \(tenant)", "command": ["kind": "set-parameters", "parameters": [["path": "Device.WiFi.Radio.1.Channel", "value": "x"]]]])
        #expect(invalid.status == 422)
        #expect((invalid.object["errors"] as? [[String: Any]])?.first?["field"] as? String == "/command/parameters/0/value")

        let created = try await admin.call(.POST, "/v1/bulk-operations", json: body)
        #expect(created.status == 201, "\(created.text)")
        let location = try #require(created.header("Location"))
        #expect(created.object["state"] as? String == "running")
        #expect(created.object["matched"] as? Int == 4)
        let etag = try #require(created.header("ETag"))
        #expect(try await admin.call(.POST, location + "/pause", json: [String: Any](), headers: ["If-Match": "\"other\""]).status == 412)
        let paused = try await admin.call(.POST, location + "/pause", json: [String: Any](), headers: ["If-Match": etag])
        #expect(paused.object["state"] as? String == "paused", "\(paused.text)")
        #expect(try await admin.call(.POST, location + "/pause", json: [String: Any]()).status == 409)
        #expect(try await admin.call(.POST, location + "/resume", json: [String: Any]()).object["state"] as? String == "running")
        #expect(try await admin.call(.POST, location + "/cancel", json: [String: Any]()).object["state"] as? String == "cancelled")
        #expect(try await admin.call(.POST, location + "/resume", json: [String: Any]()).status == 409)
        let read = try await admin.call(.GET, location)
        #expect(read.object["progress"] is [String: Any])
        let listed = try await admin.call(.GET, "/v1/bulk-operations")
        #expect(listed.items.contains { $0["id"] as? String == read.object["id"] as? String })

        // Users: optimistic concurrency with If-Match.
        let user = "\(tenant)-ops"
        let newUser = try await admin.call(.POST, "/v1/users", json: ["id": user, "name": "Ops", "role": "noc-operator", "tenantId": tenant, "email": "ops@example.net"])
        #expect(newUser.status == 201)
        let userETag = try #require(newUser.header("ETag"))
        #expect(try await admin.call(.POST, "/v1/users", json: ["id": user, "name": "Ops", "role": "noc-operator"]).status == 409)
        #expect(try await admin.call(.PATCH, "/v1/users/\(user)", json: ["name": "Ops team"], headers: ["If-Match": userETag]).status == 200)
        let stale = try await admin.call(.PATCH, "/v1/users/\(user)", json: ["name": "Again"], headers: ["If-Match": userETag])
        #expect(stale.status == 412)
        #expect(stale.problemType == "precondition-failed")

        // Keys: the secret is shown once, never listed, and stops working when revoked or when its user is disabled.
        let key = try await admin.call(.POST, "/v1/api-keys", json: ["name": "integration", "userId": user])
        #expect(key.status == 201)
        #expect(key.header("Cache-Control") == "no-store")
        let secret = try #require(key.object["key"] as? String)
        let keyID = try #require(key.object["id"] as? String)
        let keys = try await admin.call(.GET, "/v1/api-keys?limit=1000")
        #expect(keys.items.contains { $0["id"] as? String == keyID })
        #expect(!keys.text.contains(String(secret.suffix(20))))
        #expect(try await harness.client(key: secret).call(.GET, "/v1/me").status == 200)
        let disabled = try await admin.call(.PATCH, "/v1/users/\(user)", json: ["disabled": true])
        #expect(disabled.status == 200)
        #expect(try await harness.client(key: secret).call(.GET, "/v1/me").status == 401)
        _ = try await admin.call(.PATCH, "/v1/users/\(user)", json: ["disabled": false])
        #expect(try await harness.client(key: secret).call(.GET, "/v1/me").status == 200)
        #expect(try await admin.call(.DELETE, "/v1/api-keys/\(keyID)").status == 200)
        #expect(try await harness.client(key: secret).call(.GET, "/v1/me").status == 401)
    }

    @Test func badInputGetsProblemsAndLosesNothing() async throws {
        let harness = try await APIHarness.start(apiVariables: ["API_MAX_BODY_BYTES": "4096"])
        defer { Task { await harness.stop() } }
        let admin = harness.client()
        let tenant = TestEnvironment.unique("bad").lowercased()
        #expect(try await admin.call(.POST, "/v1/tenants", json: ["id": tenant, "name": "Bad input"]).status == 201)
        try await harness.addDevices(["\(tenant)-gw"], tenant: tenant)
        let commands = "/v1/devices/\(tenant)-gw/commands"

        let cases: [(String, APIResponse, Int, String)] = [
            ("malformed JSON", try await admin.call(.POST, commands, body: Data("{\"kind\":".utf8), headers: ["Content-Type": "application/json"]), 400, "bad-request"),
            ("wrong type", try await admin.call(.POST, commands, json: ["kind": 7]), 422, "validation-failed"),
            ("too large", try await admin.call(.POST, commands, json: ["kind": "reboot", "commandKey": String(repeating: "x", count: 10_000)]), 413, "payload-too-large"),
            ("not JSON", try await admin.call(.POST, commands, body: Data("kind=reboot".utf8), headers: ["Content-Type": "application/x-www-form-urlencoded"]), 415, "unsupported-media-type"),
            ("no route", try await admin.call(.GET, "/v1/nothing-here"), 404, "not-found"),
            ("wrong method", try await admin.call(.DELETE, "/v1/devices"), 405, "method-not-allowed"),
            ("bad time", try await admin.call(.GET, "/v1/devices/\(tenant)-gw/history?path=Device.&from=yesterday"), 400, "bad-request"),
            ("bad tenant id", try await admin.call(.POST, "/v1/tenants", json: ["id": "Has Spaces", "name": "x"]), 422, "validation-failed"),
        ]
        for (name, response, status, type) in cases {
            #expect(response.status == status, "\(name): \(response.status) \(response.text)")
            #expect(response.problemType == type, "\(name): \(response.text)")
            #expect(response.header("Content-Type") == "application/problem+json", "\(name)")
            #expect(response.object["status"] as? Int == status, "\(name)")
        }
        #expect(cases[5].1.header("Allow") == "GET")
        let wrongType = cases[1].1.object["errors"] as? [[String: Any]]
        #expect(wrongType?.first?["field"] as? String == "/kind")
        // The process still serves.
        #expect(try await admin.call(.POST, commands, json: ["kind": "reboot"]).status == 202)
    }

    @Test func rateLimitAnswers429WithRetryAfter() async throws {
        let harness = try await APIHarness.start(apiVariables: ["API_RATE_PER_SECOND": "1", "API_RATE_BURST": "3"])
        defer { Task { await harness.stop() } }
        let admin = harness.client()
        var statuses: [Int] = []
        var retryAfter: String?
        for _ in 0..<6 {
            let response = try await admin.call(.GET, "/v1/me")
            statuses.append(response.status)
            if response.status == 429 {
                retryAfter = response.header("Retry-After")
                #expect(response.problemType == "rate-limited")
            }
        }
        #expect(statuses.prefix(3).allSatisfy { $0 == 200 })
        #expect(statuses.contains(429), "\(statuses)")
        #expect(retryAfter.flatMap(Int.init).map { $0 >= 1 } == true)
        // Another key has its own bucket.
        let other = try await APIClient(port: harness.apiPort, key: nil, bearer: nil).call(.GET, "/v1/openapi.json")
        #expect(other.status == 200, "the public document is not rate limited")
    }
}

extension APIClient {
    /// A time as a query value.
    static func time(_ date: Date) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime]
        return formatter.string(from: date)
    }
}
