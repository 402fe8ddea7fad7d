import Foundation
import Testing
import TestSupport

/// Runs the shell blocks of docs/API.md, in order, against a real API: the walkthrough's curl
/// examples must work as written.
@Suite struct APIWalkthroughTests {
    @Test func docsAPIWalkthroughRuns() async throws {
        let inbox = FileManager.default.temporaryDirectory.appendingPathComponent(TestEnvironment.unique("webhook-inbox"))
        try FileManager.default.createDirectory(at: inbox, withIntermediateDirectories: true)
        let receiver = WebhookReceiver(refuseFirst: false, inbox: inbox)
        try await receiver.start()
        let harness = try await APIHarness.start(apiVariables: ["API_WEBHOOK_ALLOW_PRIVATE": "true", "API_WEBHOOK_GROUP": TestEnvironment.unique("webhooks")])
        defer { Task { await harness.stop(); await receiver.stop(); try? FileManager.default.removeItem(at: inbox) } }
        // The walkthrough's fleet: ACME North's gateways, connected before the integrator starts.
        let hourAgo = Date().addingTimeInterval(-7200)
        try await harness.addDevices((1...3).map { "00D09E-HGW-ACME\($0)" }, tenant: "acme-north", software: "1.4", parameters: [
            Events.parameter("Device.WiFi.Radio.1.Channel", .unsignedInt(6), writable: true),
        ], at: hourAgo)
        try await harness.addDevices(["00D09E-HGW-ACME9"], tenant: "acme-north", software: "2.1", at: hourAgo)

        let document = try String(contentsOf: APIHarness.repositoryRoot.appendingPathComponent("docs/API.md"), encoding: .utf8)
        var blocks: [String] = []
        var current: [Substring]?
        for line in document.split(separator: "\n", omittingEmptySubsequences: false) {
            if current == nil, line == "```sh" { current = [] } else if current != nil, line == "```" {
                blocks.append(current!.joined(separator: "\n"))
                current = nil
            } else if current != nil { current!.append(line) }
        }
        #expect(blocks.count >= 5)
        let script = "set -euo pipefail\n" + blocks.joined(separator: "\n")
        let work = inbox.appendingPathComponent("work")
        try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
        // The walkthrough polls until things happen; five minutes is a generous bound.
        let (status, output) = try runProgram("/usr/bin/timeout", ["300", "/bin/bash", "-c", script], environment: [
            "TWINFLEET_API": "http://127.0.0.1:\(harness.apiPort)", "API_BOOTSTRAP_KEY": harness.adminKey,
            "WEBHOOK_URL": "http://127.0.0.1:\(receiver.port)/hook", "WEBHOOK_INBOX": inbox.path,
        ], in: work)
        #expect(status == 0, "docs/API.md failed:\n\(output)\n\(harness.logs)")
    }
}
