import APIAccess
import AsyncHTTPClient
import BusContracts
import Foundation
import HTTPTypes
import Hummingbird
import Kafka
import Logging
import Testing
import TestSupport
import TwinfleetModel

/// A webhook receiver on 127.0.0.1 that refuses each event's first attempt (503) and accepts the
/// retry (or accepts at once), recording what arrived; with an inbox folder it also stores each
/// accepted delivery there as `<n>.body` and `<n>.sig` (the signature header).
actor WebhookReceiver {
    let refuseFirst: Bool
    let inbox: URL?

    init(refuseFirst: Bool = true, inbox: URL? = nil) {
        self.refuseFirst = refuseFirst
        self.inbox = inbox
    }

    struct Received: Sendable {
        var body: [UInt8]
        var signature: String
        var event: String
        var delivery: String
        var accepted: Bool
    }
    private(set) var received: [Received] = []
    private var task: Task<Void, any Error>?
    let port = freeLocalPort()

    func start() async throws {
        let router = Router()
        router.post("/hook") { request, _ -> Response in
            let body = Array(buffer: try await request.body.collect(upTo: 1 << 20))
            let delivery = request.headers[HTTPField.Name("X-Twinfleet-Delivery")!] ?? ""
            let accepted = await self.record(body: body, signature: request.headers[HTTPField.Name("X-Twinfleet-Signature")!] ?? "",
                                             event: request.headers[HTTPField.Name("X-Twinfleet-Event")!] ?? "", delivery: delivery)
            return Response(status: accepted ? .ok : .serviceUnavailable)
        }
        let app = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: port)), logger: Logger(label: "webhook-receiver"))
        task = Task { try await app.run() }
        for _ in 0..<100 {
            if (try? await HTTPClient.shared.execute(HTTPClientRequest(url: "http://127.0.0.1:\(port)/ready"), timeout: .seconds(1))) != nil { break }
            try await Task.sleep(for: .milliseconds(50))
        }
    }

    private func record(body: [UInt8], signature: String, event: String, delivery: String) -> Bool {
        let accepted = !refuseFirst || received.contains { $0.delivery == delivery }
        received.append(Received(body: body, signature: signature, event: event, delivery: delivery, accepted: accepted))
        if accepted, let inbox {
            let name = String(received.count)
            try? Data(body).write(to: inbox.appendingPathComponent("\(name).body"))
            try? Data(signature.utf8).write(to: inbox.appendingPathComponent("\(name).sig"))
        }
        return accepted
    }

    func stop() { task?.cancel() }
}

@Suite struct APIWebhookTests {
    @Test func eventsAreSignedRetriedAndScopedToTheTenant() async throws {
        let receiver = WebhookReceiver()
        try await receiver.start()
        let harness = try await APIHarness.start(apiVariables: [
            "API_WEBHOOK_ALLOW_PRIVATE": "true", "API_WEBHOOK_RETRY_BASE_SECONDS": "1",
            "API_WEBHOOK_GROUP": TestEnvironment.unique("webhooks"),
        ])
        defer { Task { await harness.stop(); await receiver.stop() } }
        let resultsTopic = harness.resultsTopic
        let admin = harness.client()
        let tenant = TestEnvironment.unique("hook").lowercased(), other = TestEnvironment.unique("nohook").lowercased()
        for id in [tenant, other] { #expect(try await admin.call(.POST, "/v1/tenants", json: ["id": id, "name": id]).status == 201) }

        // A private URL is refused unless allowed; this API allows it (tests), so check the validation of events instead.
        let badEvents = try await admin.call(.POST, "/v1/webhooks", json: ["url": "http://127.0.0.1:\(receiver.port)/hook", "events": ["device.exploded"]])
        #expect(badEvents.status == 422)
        #expect((badEvents.object["errors"] as? [[String: Any]])?.first?["field"] as? String == "/events/0")

        // The tenant's NOC operator subscribes.
        _ = try await admin.call(.POST, "/v1/users", json: ["id": "\(tenant)-noc", "name": "noc", "role": "noc-operator", "tenantId": tenant])
        let key = try await admin.call(.POST, "/v1/api-keys", json: ["name": "hooks", "userId": "\(tenant)-noc"]).object["key"] as? String
        let noc = harness.client(key: key)
        let created = try await noc.call(.POST, "/v1/webhooks", json: [
            "url": "http://127.0.0.1:\(receiver.port)/hook",
            "events": ["device.online", "parameter.changed", "command.completed"], "paths": ["Device.WiFi."],
        ])
        #expect(created.status == 201, "\(created.text)")
        let secret = try #require(created.object["secret"] as? String)
        let webhookID = try #require(created.object["id"] as? String)
        #expect(try await noc.call(.GET, "/v1/webhooks/\(webhookID)").object["secret"] == nil, "the secret is shown once")

        // Events: a device of the tenant appears with parameters, comes online, a command completes;
        // a device of another tenant changes too.
        let device = "\(tenant)-gw", foreign = "\(other)-gw"
        try await harness.addDevices([device], tenant: tenant, parameters: [
            Events.parameter("Device.WiFi.Radio.1.Channel", .unsignedInt(6), writable: true),
            Events.parameter("Device.DeviceInfo.UpTime", .unsignedInt(10)),
        ])
        try await harness.addDevices([foreign], tenant: other, parameters: [Events.parameter("Device.WiFi.Radio.1.Channel", .unsignedInt(1))])
        var online = Events.presence(device, at: Date(), .connected, instance: "cwmp-7")
        online.tenantID = tenant
        _ = try await harness.producer.send(Events.record(online, topic: harness.eventsTopic))
        var result = Twinfleet_Bus_V1_CommandResult()
        result.commandID = "cmd-\(tenant)"
        result.deviceID = device
        result.tenantID = tenant
        result.status = .succeeded
        result.occurredAtUs = Date().unixMicroseconds
        _ = try await harness.producer.send(OutgoingRecord(topic: resultsTopic, key: device, value: try result.serializedBytes()))

        let wanted: Set<String> = ["parameter.changed", "device.online", "command.completed"]
        let arrived = await eventually(timeout: .seconds(60), every: .milliseconds(250)) {
            Set(await receiver.received.filter(\.accepted).map(\.event)).isSuperset(of: wanted)
        }
        let received = await receiver.received
        #expect(arrived, "received: \(received.map { "\($0.event) accepted=\($0.accepted)" }) \(harness.logs)")

        for delivery in received {
            #expect(WebhookSignature.verify(header: delivery.signature, body: delivery.body, secret: secret), "signature of \(delivery.event)")
            #expect(!WebhookSignature.verify(header: delivery.signature, body: delivery.body, secret: "wrong-secret-123"))
            let event = try #require(try JSONSerialization.jsonObject(with: Data(delivery.body)) as? [String: Any])
            #expect(event["tenantId"] as? String == tenant, "only the tenant's events")
            #expect(event["type"] as? String == delivery.event)
            #expect(event["id"] as? String == delivery.delivery)
        }
        // Every event was refused once and retried; each was accepted exactly once.
        for event in wanted {
            let attempts = received.filter { $0.event == event }
            #expect(attempts.first?.accepted == false && attempts.contains { $0.accepted }, "\(event): \(attempts.map(\.accepted))")
        }
        // The path filter: only Device.WiFi. changes, UpTime left out.
        let change = try #require(received.first { $0.event == "parameter.changed" && $0.accepted })
        let data = (try JSONSerialization.jsonObject(with: Data(change.body)) as? [String: Any])?["data"] as? [String: Any]
        let paths = (data?["changes"] as? [[String: Any]])?.compactMap { $0["path"] as? String }
        #expect(paths == ["Device.WiFi.Radio.1.Channel"])
        let completed = try #require(received.first { $0.event == "command.completed" && $0.accepted })
        let completion = (try JSONSerialization.jsonObject(with: Data(completed.body)) as? [String: Any])?["data"] as? [String: Any]
        #expect(completion?["commandId"] as? String == "cmd-\(tenant)")
        #expect(completion?["status"] as? String == "succeeded")

        // The delivery log shows each delivered after two attempts.
        // (The sender records a delivery after the receiver's answer arrives: wait for it.)
        var deliveries = try await noc.call(.GET, "/v1/webhooks/\(webhookID)/deliveries")
        _ = await eventually(timeout: .seconds(30)) {
            deliveries = (try? await noc.call(.GET, "/v1/webhooks/\(webhookID)/deliveries")) ?? deliveries
            return deliveries.items.filter { $0["state"] as? String == "delivered" }.count >= 3
        }
        #expect(deliveries.status == 200)
        let delivered = deliveries.items.filter { $0["state"] as? String == "delivered" }
        #expect(delivered.count >= 3, "\(deliveries.text)")
        #expect(delivered.allSatisfy { ($0["attempts"] as? Int ?? 0) >= 2 && $0["lastStatus"] as? Int == 200 }, "each was refused once first")

        // Other tenants neither see nor delete the subscription.
        _ = try await admin.call(.POST, "/v1/users", json: ["id": "\(other)-adm", "name": "adm", "role": "tenant-admin", "tenantId": other])
        let otherKey = try await admin.call(.POST, "/v1/api-keys", json: ["name": "x", "userId": "\(other)-adm"]).object["key"] as? String
        #expect(try await harness.client(key: otherKey).call(.DELETE, "/v1/webhooks/\(webhookID)").status == 404)
        #expect(try await noc.call(.DELETE, "/v1/webhooks/\(webhookID)").status == 204)
    }
}
