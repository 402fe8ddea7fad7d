import AsyncHTTPClient
import CWMPCodec
import Hummingbird
import NIOConcurrencyHelpers
import NIOCore
import DataModel
import DeviceSim
import Foundation
import HTTPAuth
import Testing
import TwinfleetModel

/// The simulator's building blocks without a platform: data models built from the Broadband
/// Forum definitions, firmware images, and the shared connection-request listener over real
/// HTTP with Digest.
@Suite struct DeviceSimTests {
    static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("shared/specs/data-models").path
    static let schema = try! DataModelSchema.load(directory: directory)
    static let builder = try! SimModelBuilder(dataModels: directory)

    @Test(arguments: SimDeviceKind.allCases)
    func everyParameterIsDefinedTypedAndValid(kind: SimDeviceKind) throws {
        let model = Self.builder.device(kind: kind, serial: "SN0000042", software: "3.1.4")
        #expect(model.count > 300, "\(kind) has only \(model.count) parameters")
        var problems: [String] = []
        for (path, parameter) in model.sorted(by: { $0.key < $1.key }) {
            let parsed = try ParameterPath(validating: path)
            guard case .parameter(let definition)? = Self.schema.lookup(parsed, protocol: kind.protocol) else {
                problems.append("\(path): not in the \(kind.protocol) model")
                continue
            }
            if definition.type.rawValue != parameter.type { problems.append("\(path): type \(parameter.type), the standard says \(definition.type)") }
            if definition.isWritable != parameter.writable { problems.append("\(path): writable \(parameter.writable), the standard says \(definition.access)") }
            do {
                _ = try Self.schema.checkReportedValue(path: parsed, value: parameter.value, protocol: kind.protocol)
            } catch {
                problems.append("\(path) = \(parameter.value): \(error)")
            }
        }
        #expect(problems.isEmpty, "\(problems.count) problems:\n\(problems.prefix(40).joined(separator: "\n"))")
        #expect(model[kind.root + "DeviceInfo.SerialNumber"]?.value == "SN0000042")
        #expect(model[kind.root + "DeviceInfo.SoftwareVersion"]?.value == "3.1.4")
    }

    @Test func tablesAreCountedAndDevicesDiffer() throws {
        let one = Self.builder.device(kind: .tr181Gateway, serial: "A1", software: "1")
        let two = Self.builder.device(kind: .tr181Gateway, serial: "A2", software: "1")
        // Every NumberOfEntries equals the instances of its table.
        for (path, parameter) in one where path.hasSuffix("NumberOfEntries") {
            let table = String(path.dropLast("NumberOfEntries".count)) + "."
            let instances = Set(one.keys.filter { $0.hasPrefix(table) }.compactMap { $0.dropFirst(table.count).split(separator: ".").first.flatMap { Int($0) } })
            #expect(Int(parameter.value) == instances.count, "\(path) = \(parameter.value), but \(table) has \(instances.count) instances")
        }
        #expect(one["Device.WiFi.AccessPoint.1.AssociatedDevice.2.MACAddress"] != nil)
        #expect(one["Device.WiFi.SSID.1.MACAddress"]?.value != two["Device.WiFi.SSID.1.MACAddress"]?.value)
        #expect(one["Device.IP.Interface.1.IPv4Address.1.IPAddress"]?.value != two["Device.IP.Interface.1.IPv4Address.1.IPAddress"]?.value)
        // The same serial number always gives the same device.
        #expect(one == Self.builder.device(kind: .tr181Gateway, serial: "A1", software: "1"))
        #expect(one["Device.WiFi.SSID.1.SSID"]?.writable == true)
        #expect(one["Device.DeviceInfo.SerialNumber"]?.writable == false)
    }

    /// The fleet's session limit serves connection-request sessions (urgent) before periodic
    /// informs that were already waiting, and each kind in arrival order.
    @Test func urgentWaitersGetTheNextSlotFirst() async throws {
        let slots = AsyncSlots(1)
        await slots.acquire()
        let order = NIOLockedValueBox<[String]>([])
        var tasks: [Task<Void, Never>] = []
        for (index, (name, urgent)) in [("periodic-1", false), ("periodic-2", false), ("request-1", true), ("request-2", true)].enumerated() {
            tasks.append(Task {
                await slots.acquire(urgent: urgent)
                order.withLockedValue { $0.append(name) }
                await slots.release()
            })
            // Each waiter queued before the next one comes.
            while await slots.waiting < index + 1 { try await Task.sleep(for: .milliseconds(5)) }
        }
        #expect(order.withLockedValue { $0 }.isEmpty, "nobody gets a slot while it is held")
        await slots.release()
        for task in tasks { await task.value }
        #expect(order.withLockedValue { $0 } == ["request-1", "request-2", "periodic-1", "periodic-2"])
    }

    @Test func firmwareImagesNameTheirVersion() {
        let image = SimFirmware.image(version: "2.4.1", size: 1000)
        #expect(image.count == 1000)
        #expect(SimFirmware.version(of: image) == "2.4.1")
        #expect(SimFirmware.version(of: Array(repeating: 0xFF, count: 1000)) == nil)
        #expect(SimFirmware.version(of: Array("TWINFLEET-FIRMWARE version=\n".utf8)) == nil)
        #expect(SimFirmware.sha256(Array("abc".utf8)) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
    }

    @Test func firmwareServerServesImagesChecksumsAndRefusesOthers() async throws {
        let server = FirmwareServer(port: 0, imageSize: 2048)
        let task = Task { try await server.run() }
        defer { task.cancel() }
        let url = await server.url(version: "5.0.0")
        let image = try await SimFirmware.fetch(url, client: .shared, timeout: .seconds(10))
        #expect(SimFirmware.version(of: image) == "5.0.0")
        #expect(image.count == 2048)
        let sum = try await HTTPClient.shared.execute(HTTPClientRequest(url: url + ".sha256"), timeout: .seconds(10)).body.collect(upTo: 1024)
        #expect(String(buffer: sum) == SimFirmware.sha256(image))
        let corrupt = try await SimFirmware.fetch(await server.url(version: "5.0.0-corrupt"), client: .shared, timeout: .seconds(10))
        #expect(SimFirmware.version(of: corrupt) == nil)
        await #expect(throws: SimFirmware.FetchError.self) {
            _ = try await SimFirmware.fetch("http://127.0.0.1:\(await server.port())/elsewhere", client: .shared, timeout: .seconds(10))
        }
    }

    @Test func connectionRequestsNeedDigestAndNameARegisteredDevice() async throws {
        let server = ConnectionRequestServer(port: 0)
        let task = Task { try await server.run() }
        defer { task.cancel() }
        let port = await server.port()
        // The CPE points at an ACS that is not there: the session it opens fails, but the
        // connection request itself is what is checked.
        let cpe = SimulatedCPE(serial: "CR1", acsURL: "http://127.0.0.1:1/", username: "u", password: "p", parameters: SimulatedCPE.gatewayModel(serial: "CR1"))
        let url = await server.register(cpe, username: "acs", password: "secret", port: port)
        #expect(await cpe.value("Device.ManagementServer.ConnectionRequestURL") == url)

        let anonymous = try await HTTPClient.shared.execute(HTTPClientRequest(url: url), timeout: .seconds(10))
        #expect(anonymous.status == .unauthorized)
        let challenges = anonymous.headers["www-authenticate"]
        #expect(challenges.contains { $0.hasPrefix("Digest") })

        func ask(password: String) async throws -> UInt {
            let authorization = try ClientAuthorizer.authorization(
                answering: challenges, username: "acs", password: password, method: "GET", uri: URL(string: url)!.path, cnonce: "0a4f113b", allowBasic: false)
            var request = HTTPClientRequest(url: url)
            request.headers.add(name: "authorization", value: authorization.headerValue)
            return try await HTTPClient.shared.execute(request, timeout: .seconds(10)).status.code
        }
        #expect(try await ask(password: "wrong") == 401)
        #expect(await cpe.refusedConnectionRequests == 1)
        #expect(try await ask(password: "secret") == 200)
        #expect(await cpe.connectionRequests == 1)
        let unknown = try await HTTPClient.shared.execute(HTTPClientRequest(url: "http://127.0.0.1:\(port)/cr/NOPE"), timeout: .seconds(10))
        #expect(unknown.status == .notFound)
    }
}

extension DeviceSimTests {
    @Test func compactModelsAreSmallerAndStillValid() throws {
        let compact = try SimModelBuilder(dataModels: Self.directory, size: .compact)
        for kind in SimDeviceKind.allCases {
            let small = compact.device(kind: kind, serial: "C1", software: "1")
            let full = Self.builder.device(kind: kind, serial: "C1", software: "1")
            #expect(small.count < full.count * 2 / 3, "\(kind): compact \(small.count), full \(full.count)")
            #expect(small.count > 100)
            for (path, parameter) in small {
                let parsed = try ParameterPath(validating: path)
                #expect(throws: Never.self) { _ = try Self.schema.checkReportedValue(path: parsed, value: parameter.value, protocol: kind.protocol) }
            }
        }
    }

    /// TR-069 A.3.2.4: a parameter with active notification (2) that changes on the device
    /// starts a session at once with `4 VALUE CHANGE` and the new value; one with notification
    /// off waits for the next session. The ACS here is a few lines of real HTTP that asks for
    /// active notification on the hosts' Active parameters.
    @Test func activeNotificationStartsASessionWithTheChange() async throws {
        let informs = NIOLockedValueBox<[Inform]>([])
        let router = Router()
        router.post("/acs") { request, _ -> Response in
            let body = try await request.body.collect(upTo: 1 << 20)
            guard body.readableBytes > 0 else {
                // The first session's empty POST gets the SetParameterAttributes; later ones end.
                guard informs.withLockedValue({ $0.count }) == 1 else { return Response(status: .noContent) }
                let attributes = SetParameterAttributesStruct(name: "Device.Hosts.Host.", notificationChange: true, notification: .active,
                                                              accessListChange: false, accessList: [])
                let envelope = CWMPEnvelope(header: CWMPHeader(id: "spa-1"), message: .setParameterAttributes(SetParameterAttributes(parameterList: [attributes])))
                return Response(status: .ok, headers: [.contentType: "text/xml"], body: .init(byteBuffer: ByteBuffer(bytes: CWMPEncoder().encode(envelope))))
            }
            let envelope = try CWMPDecoder().decode(Array(buffer: body))
            if case .inform(let inform) = envelope.message {
                informs.withLockedValue { $0.append(inform) }
                let answer = CWMPEnvelope(header: envelope.header, message: .informResponse(InformResponse()))
                return Response(status: .ok, headers: [.contentType: "text/xml", .setCookie: "session=\(informs.withLockedValue { $0.count })"],
                                body: .init(byteBuffer: ByteBuffer(bytes: CWMPEncoder().encode(answer))))
            }
            return Response(status: .noContent)
        }
        let bound = NIOLockedValueBox<Int?>(nil)
        let app = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)),
                              onServerRunning: { channel in bound.withLockedValue { $0 = channel.localAddress?.port } })
        let server = Task { try await app.run() }
        defer { server.cancel() }
        var port: Int?
        while port == nil { try await Task.sleep(for: .milliseconds(10)); port = bound.withLockedValue { $0 } }

        let serial = "SN0000077"
        let cpe = SimulatedCPE(serial: serial, acsURL: "http://127.0.0.1:\(port!)/acs", username: "cpe", password: "secret",
                               parameters: Self.builder.device(kind: .tr181Gateway, serial: serial, software: "1.0.0"))
        let rpcs = try await cpe.session(events: ["0 BOOTSTRAP"])
        #expect(rpcs == ["SetParameterAttributes"])

        // Notification off: no session of its own.
        await cpe.changeLocally("Device.WiFi.SSID.1.SSID", to: "changed")
        try await Task.sleep(for: .milliseconds(600))
        #expect(informs.withLockedValue { $0.count } == 1)

        // Active: a session comes at once, carrying both changes.
        await cpe.changeLocally("Device.Hosts.Host.1.Active", to: "false")
        let deadline = ContinuousClock.now + .seconds(10)
        while informs.withLockedValue({ $0.count }) < 2, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(50)) }
        #expect(informs.withLockedValue { $0.count } == 2)
        let second = informs.withLockedValue { $0.last }
        #expect(second?.events.map(\.eventCode.rawValue) == ["4 VALUE CHANGE"])
        let reported = Dictionary(uniqueKeysWithValues: (second?.parameterList ?? []).map { ($0.name, $0.value.text) })
        #expect(reported["Device.Hosts.Host.1.Active"] == "false")
        #expect(reported["Device.WiFi.SSID.1.SSID"] == "changed")
    }

    /// FactoryReset brings back the model as built (rebuilt from the builder, not a kept copy),
    /// and what a CPE remembers of its sessions stays bounded however long it runs.
    @Test func factoryResetRestoresTheShippedModelAndHistoryStaysBounded() async throws {
        let sessions = NIOLockedValueBox(0)
        let router = Router()
        router.post("/acs") { request, _ -> Response in
            let body = try await request.body.collect(upTo: 1 << 20)
            func answer(_ message: CWMPMessage, id: String) -> Response {
                Response(status: .ok, headers: [.contentType: "text/xml", .setCookie: "session=\(sessions.withLockedValue { $0 })"],
                         body: .init(byteBuffer: ByteBuffer(bytes: CWMPEncoder().encode(CWMPEnvelope(header: CWMPHeader(id: id), message: message)))))
            }
            guard body.readableBytes > 0 else {
                // Session 1: one Set; session 2: a factory reset; then nothing.
                let session = sessions.withLockedValue { $0 }
                if session == 1, request.headers[.cookie] == "session=1" {
                    let value = ParameterValueStruct(name: "Device.WiFi.SSID.1.SSID", value: .raw(text: "operator-ssid", typeName: "xsd:string"))
                    return answer(.setParameterValues(SetParameterValues(parameterList: [value], parameterKey: "k1")), id: "spv")
                }
                if session == 2, request.headers[.cookie] == "session=2" { return answer(.factoryReset, id: "reset") }
                return Response(status: .noContent)
            }
            let envelope = try CWMPDecoder().decode(Array(buffer: body))
            guard case .inform = envelope.message else {
                // The answer to the RPC: the session ends.
                return Response(status: .noContent)
            }
            sessions.withLockedValue { $0 += 1 }
            return answer(.informResponse(InformResponse()), id: envelope.header.id ?? "")
        }
        let bound = NIOLockedValueBox<Int?>(nil)
        let app = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)),
                              onServerRunning: { channel in bound.withLockedValue { $0 = channel.localAddress?.port } })
        let server = Task { try await app.run() }
        defer { server.cancel() }
        var port: Int?
        while port == nil { try await Task.sleep(for: .milliseconds(10)); port = bound.withLockedValue { $0 } }

        let serial = "SN0000078"
        let shipped = Self.builder.device(kind: .tr181Gateway, serial: serial, software: "1.0.0")
        let cpe = SimulatedCPE(serial: serial, acsURL: "http://127.0.0.1:\(port!)/acs", username: "cpe", password: "secret",
                               parameters: shipped, factoryModel: { Self.builder.device(kind: .tr181Gateway, serial: serial, software: "1.0.0") })
        #expect(try await cpe.session(events: ["0 BOOTSTRAP"]) == ["SetParameterValues"])
        #expect(await cpe.value("Device.WiFi.SSID.1.SSID") == "operator-ssid")
        #expect(try await cpe.session(events: ["2 PERIODIC"]) == ["FactoryReset"])
        let events = await cpe.followUp()
        #expect(events != nil)
        #expect(await cpe.value("Device.WiFi.SSID.1.SSID") == shipped["Device.WiFi.SSID.1.SSID"]?.value)
        #expect(await cpe.value("Device.WiFi.SSID.1.SSID")?.hasPrefix("home-") == true)
        _ = try await cpe.session(events: events ?? [])
        #expect(await cpe.informs.last?.contains("0 BOOTSTRAP") == true)

        for _ in 0..<SimulatedCPE.historyLimit { _ = try await cpe.session(events: ["2 PERIODIC"]) }
        #expect(await cpe.sessions.count == SimulatedCPE.historyLimit)
        #expect(await cpe.informs.count == SimulatedCPE.historyLimit)
        #expect(await cpe.informs.last == ["2 PERIODIC"])
        #expect(sessions.withLockedValue { $0 } == SimulatedCPE.historyLimit + 3)
    }

    /// Devices sleep until their next inform without polling: a sleep ends at its deadline, at
    /// once when the interval changes, and when its task is cancelled.
    @Test func informIntervalSleepsEndAtTheirDeadlineOrAtAChange() async throws {
        let clock = InformIntervalClock(.seconds(86_400))
        let seen = clock.current.changedAt
        var start = ContinuousClock.now
        try await clock.sleep(until: start + .milliseconds(200), unlessChangedAfter: seen)
        #expect(ContinuousClock.now - start >= .milliseconds(200))

        // Many sleepers far from their deadline all wake when the interval changes.
        start = ContinuousClock.now
        let far = start + .seconds(3600)
        let sleepers = (0..<1000).map { _ in Task { try await clock.sleep(until: far, unlessChangedAfter: seen) } }
        try await Task.sleep(for: .milliseconds(200))
        clock.set(.seconds(300))
        for sleeper in sleepers { try await sleeper.value }
        #expect(ContinuousClock.now - start < .seconds(30))
        #expect(clock.current.interval == .seconds(300))
        #expect(clock.current.changedAt > seen)

        // A change the sleeper has not seen ends its sleep at once; one it has seen does not.
        let changed = clock.current.changedAt
        start = ContinuousClock.now
        try await clock.sleep(until: start + .seconds(3600), unlessChangedAfter: seen)
        #expect(ContinuousClock.now - start < .seconds(30))
        start = ContinuousClock.now
        try await clock.sleep(until: start + .milliseconds(300), unlessChangedAfter: changed)
        #expect(ContinuousClock.now - start >= .milliseconds(300))

        // Cancelled: the sleep throws CancellationError instead of hanging.
        let cancelled = Task { try await clock.sleep(until: .now + .seconds(3600), unlessChangedAfter: changed) }
        try await Task.sleep(for: .milliseconds(100))
        cancelled.cancel()
        await #expect(throws: CancellationError.self) { try await cancelled.value }
    }
}
