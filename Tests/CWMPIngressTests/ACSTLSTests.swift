import AsyncHTTPClient
import BusContracts
import Foundation
import HTTPAuth
import Kafka
import NIOCore
import NIOSSL
import SwiftProtobuf
import Testing
import TestSupport

/// The ACS endpoint over HTTPS (a certificate made with openssl for the test): Basic is allowed
/// over TLS when configured, plain HTTP is refused, and the session's presence says TLS and the
/// CPE's address.
@Suite struct ACSTLSTests {
    @Test func httpsSessionWithBasicCarriesTLSAndAddressInPresence() async throws {
        let environment = try TestEnvironment.current()
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("acs-tls-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let cert = folder.appendingPathComponent("cert.pem").path, key = folder.appendingPathComponent("key.pem").path
        let openssl = Process()
        openssl.executableURL = URL(fileURLWithPath: "/usr/bin/openssl")
        openssl.arguments = ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=127.0.0.1", "-days", "1", "-keyout", key, "-out", cert]
        openssl.standardError = FileHandle.nullDevice
        try openssl.run()
        openssl.waitUntilExit()
        #expect(openssl.terminationStatus == 0)

        let instance = TestEnvironment.unique("cwmp")
        try await environment.createTopic(try Topic.deliveries(instance: instance), partitions: 1)
        let events = TestEnvironment.unique("tls-events")
        try await environment.createTopic(events, partitions: environment.partitionCount)
        let port = freeLocalPort(), opsPort = freeLocalPort()
        var variables = ACSSessionTests.ingressVariables(environment, instance: instance, port: port, opsPort: opsPort, planWaitMs: 200)
        variables["CWMP_AUTH"] = "digest+basic"
        variables["CWMP_TLS_CERT_FILE"] = cert
        variables["CWMP_TLS_KEY_FILE"] = key
        variables["CWMP_EVENTS_TOPIC"] = events
        let service = try ChildProcess("twinfleet-cwmp-ingress", [], environment: environment, variables: variables)
        defer { service.signal(SIGTERM) }
        let ready = await waitUntilReady(opsPort: opsPort, timeout: .seconds(60))
        #expect(ready, "cwmp-ingress did not become ready: \(service.standardErrorTail)")

        var tls = TLSConfiguration.makeClientConfiguration()
        tls.certificateVerification = .none
        let client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: .init(tlsConfiguration: tls))
        let serial = "T" + UUID().uuidString.prefix(8)
        func post(_ url: String, authorization: String?) async throws -> (Int, String) {
            var request = HTTPClientRequest(url: url)
            request.method = .POST
            request.headers.add(name: "content-type", value: "text/xml")
            if let authorization { request.headers.add(name: "authorization", value: authorization) }
            request.body = .bytes(ByteBuffer(string: ACSSessionTests.inform(serial: serial)))
            let response = try await client.execute(request, timeout: .seconds(20))
            return (Int(response.status.code), String(buffer: try await response.body.collect(upTo: 1 << 20)))
        }
        let basic = "Basic " + Data("cpe:s3cret".utf8).base64EncodedString()
        let informed = try await post("https://127.0.0.1:\(port)/acs", authorization: basic)
        #expect(informed.0 == 200)
        #expect(informed.1.contains("InformResponse"))
        // Plain HTTP on the TLS port gets no CWMP answer.
        await #expect(throws: (any Error).self) { _ = try await post("http://127.0.0.1:\(port)/acs", authorization: basic) }
        try await client.shutdown()

        let consumer = try KafkaConsumer(
            configuration: environment.kafka(), options: .init(groupID: TestEnvironment.unique("tls"), topics: [events]), logger: TestEnvironment.logger)
        var opened: Twinfleet_Bus_V1_Presence?
        let timeout = Task { try await Task.sleep(for: .seconds(30)); consumer.requestShutdown() }
        for await batch in consumer.batches {
            for record in batch {
                if let event = try? Twinfleet_Bus_V1_DeviceEvent(serializedBytes: record.value), case .presence(let presence)? = event.body,
                   presence.kind == .sessionOpened {
                    opened = presence
                }
            }
            if opened != nil { break }
        }
        timeout.cancel()
        await consumer.shutdown()
        #expect(opened?.tls == true)
        #expect(opened?.remoteAddress.hasPrefix("127.0.0.1:") == true, "\(opened?.remoteAddress ?? "none")")
        #expect(opened?.instanceID == instance)
    }

    /// `CWMP_CREDENTIALS=derived`: a CPE with its own username and derived password gets in;
    /// another CPE's password, or the shared one, does not; another CPE's valid credentials do
    /// not let it inform as this one.
    @Test func derivedPerDeviceCredentials() async throws {
        let environment = try TestEnvironment.current()
        let instance = TestEnvironment.unique("cwmp")
        try await environment.createTopic(try Topic.deliveries(instance: instance), partitions: 1)
        let events = TestEnvironment.unique("derived-events")
        try await environment.createTopic(events, partitions: environment.partitionCount)
        let port = freeLocalPort(), opsPort = freeLocalPort()
        let secret = "per-device-credential-secret-0123"
        var variables = ACSSessionTests.ingressVariables(environment, instance: instance, port: port, opsPort: opsPort, planWaitMs: 200)
        variables["CWMP_CREDENTIALS"] = "derived"
        variables["CWMP_CREDENTIAL_SECRET"] = secret
        variables["CWMP_EVENTS_TOPIC"] = events
        let service = try ChildProcess("twinfleet-cwmp-ingress", [], environment: environment, variables: variables)
        defer { service.signal(SIGTERM) }
        let ready = await waitUntilReady(opsPort: opsPort, timeout: .seconds(60))
        #expect(ready, "cwmp-ingress did not become ready: \(service.standardErrorTail)")
        let credentials = try DerivedCredentials(secret: Array(secret.utf8))
        let serial = "D" + UUID().uuidString.prefix(8)
        let acs = "http://127.0.0.1:\(port)/acs"
        func attempt(username: String, password: String) async throws -> (status: Int, body: String) {
            func post(_ authorization: String?) async throws -> (Int, [String], String) {
                var request = HTTPClientRequest(url: acs)
                request.method = .POST
                request.headers.add(name: "content-type", value: "text/xml")
                if let authorization { request.headers.add(name: "authorization", value: authorization) }
                request.body = .bytes(ByteBuffer(string: ACSSessionTests.inform(serial: serial)))
                let response = try await HTTPClient.shared.execute(request, timeout: .seconds(20))
                let body = try await response.body.collect(upTo: 1 << 20)
                return (Int(response.status.code), response.headers["www-authenticate"], String(buffer: body))
            }
            let challenged = try await post(nil)
            guard challenged.0 == 401 else { return (challenged.0, challenged.2) }
            let authorization = try ClientAuthorizer.authorization(
                answering: challenged.1, username: username, password: password, method: "POST", uri: "/acs", cnonce: "0a4f113b", allowBasic: false)
            let answered = try await post(authorization.headerValue)
            return (answered.0, answered.2)
        }
        #expect(try await attempt(username: serial, password: credentials.password(for: "someone-else")).status == 401)
        #expect(try await attempt(username: serial, password: "cpe-dev-password").status == 401)
        #expect(try await attempt(username: serial, password: credentials.password(for: serial)).status == 200)
        // Valid credentials of another device do not let a CPE inform as this one: fault 8001.
        let other = "O" + UUID().uuidString.prefix(8)
        let impostor = try await attempt(username: other, password: credentials.password(for: other))
        #expect(impostor.body.contains("8001"), "\(impostor)")
        #expect(!impostor.body.contains("InformResponse"))
    }
}
