import AsyncHTTPClient
import Foundation
import NIOSSL
import Testing
import TestSupport

/// With `API_TLS_CERT_FILE` and `API_TLS_KEY_FILE` the API speaks HTTPS only.
@Suite struct APITLSTests {
    @Test func apiSpeaksHTTPSWhenConfigured() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent(TestEnvironment.unique("api-tls"))
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let cert = directory.appendingPathComponent("cert.pem").path, key = directory.appendingPathComponent("key.pem").path
        let made = try runProgram("/usr/bin/openssl", ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=127.0.0.1", "-days", "1", "-keyout", key, "-out", cert])
        #expect(made.status == 0, "\(made.output)")

        let harness = try await APIHarness.start(apiVariables: ["API_TLS_CERT_FILE": cert, "API_TLS_KEY_FILE": key])
        defer { Task { await harness.stop() } }
        var tls = TLSConfiguration.makeClientConfiguration()
        tls.certificateVerification = .none
        let client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: .init(tlsConfiguration: tls))
        func me(_ scheme: String) async throws -> Int {
            var request = HTTPClientRequest(url: "\(scheme)://127.0.0.1:\(harness.apiPort)/v1/me")
            request.headers.add(name: "X-API-Key", value: harness.adminKey)
            return Int(try await client.execute(request, timeout: .seconds(10)).status.code)
        }
        #expect(try await me("https") == 200)
        await #expect(throws: (any Error).self, "plain HTTP on the TLS port gets no answer") { _ = try await me("http") }
        try await client.shutdown()
    }
}
