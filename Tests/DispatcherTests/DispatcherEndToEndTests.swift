import BusContracts
import Foundation
import HTTPAuth
import Kafka
import PostgresNIO
import ShardedPostgres
import Testing
import TestSupport

/// The offline queue end to end: real twin-store, command-dispatcher and cwmp-ingress processes,
/// real PostgreSQL shards, the dev broker, and test CPEs speaking HTTP/SOAP with Digest.
@Suite(.serialized) struct DispatcherEndToEndTests {
    static func set(_ id: String, device: String, path: String, value: String, key: String = "", expiresIn: TimeInterval? = nil) -> Twinfleet_Bus_V1_Command {
        var command = Twinfleet_Bus_V1_Command()
        command.commandID = id
        command.deviceID = device
        command.tenantID = "default"
        command.idempotencyKey = key
        command.createdAtUs = Date().unixMicroseconds
        if let expiresIn { command.expiresAtUs = Date().addingTimeInterval(expiresIn).unixMicroseconds }
        var parameter = Twinfleet_Bus_V1_Parameter()
        parameter.path = path
        parameter.value.stringValue = value
        command.setParameters.parameters = [parameter]
        return command
    }

    static func state(_ harness: PlatformHarness, _ postgres: ShardedPostgres, _ id: String) async throws -> String? {
        try await harness.text(postgres, "SELECT state FROM dispatcher_commands WHERE command_id = \(id)")
    }

    @Test func offlineQueueIsDeliveredInTheNextSessionAndLandsInTheTwin() async throws {
        try await PlatformHarness.run { harness, producer, postgres in
            let serial = "E" + UUID().uuidString.prefix(8)
            let cpe = harness.cpe(serial: serial)
            let device = await cpe.deviceID

            // First contact (BOOTSTRAP): the dispatcher plans a Refresh of the whole model.
            let first = try await cpe.session(events: ["0 BOOTSTRAP", "1 BOOT"])
            // The ingress's own SetParameterValues (connection-request credentials), then the Refresh.
            #expect(Array(first.prefix(2)) == ["SetParameterValues", "GetParameterNames"], "\(first)\n\(harness.logs)")
            #expect(first.contains("GetParameterValues"))
            let synced = await eventually(timeout: .seconds(30)) {
                (try? await harness.text(postgres, "SELECT value FROM parameters WHERE device_id = \(device) AND path = 'Device.WiFi.SSID.2.SSID'")) == "guest"
            }
            #expect(synced, "the refresh did not reach the twin\n\(harness.logs)")

            // Offline: a Set, a duplicate by idempotency key, one cancelled, one that expires.
            try await harness.queue(Self.set("set-\(serial)", device: device, path: "Device.WiFi.SSID.1.SSID", value: "new-ssid", key: "k-\(serial)"), producer: producer)
            try await harness.queue(Self.set("dup-\(serial)", device: device, path: "Device.WiFi.SSID.1.SSID", value: "duplicate", key: "k-\(serial)"), producer: producer)
            try await harness.queue(Self.set("cancel-\(serial)", device: device, path: "Device.WiFi.SSID.2.SSID", value: "cancelled"), producer: producer)
            try await harness.cancel("cancel-\(serial)", device: device, producer: producer)
            var expiring = Self.set("expire-\(serial)", device: device, path: "Device.WiFi.SSID.2.Enable", value: "true", expiresIn: 1)
            expiring.independent = true
            try await harness.queue(expiring, producer: producer)
            let queued = await eventually(timeout: .seconds(30)) {
                let set = try? await Self.state(harness, postgres, "set-\(serial)")
                let cancelled = try? await Self.state(harness, postgres, "cancel-\(serial)")
                let expired = try? await Self.state(harness, postgres, "expire-\(serial)")
                return set == "queued" && cancelled == "cancelled" && expired == "expired"
            }
            #expect(queued, "\(harness.logs)")
            #expect(try await Self.state(harness, postgres, "dup-\(serial)") == nil)
            // The twin shows the desired value while the device is away.
            let desired = await eventually(timeout: .seconds(30)) {
                (try? await harness.text(postgres, "SELECT desired_value FROM parameters WHERE device_id = \(device) AND path = 'Device.WiFi.SSID.1.SSID'")) == "new-ssid"
            }
            #expect(desired)

            // The next periodic session carries the Set, and only it.
            let second = try await cpe.session(events: ["2 PERIODIC"])
            #expect(second == ["SetParameterValues"], "\(second)\n\(harness.logs)")
            #expect(await cpe.value("Device.WiFi.SSID.1.SSID") == "new-ssid")
            #expect(await cpe.value("Device.WiFi.SSID.2.SSID") == "guest")
            let landed = await eventually(timeout: .seconds(30)) {
                let state = try? await Self.state(harness, postgres, "set-\(serial)")
                let value = try? await harness.text(postgres, "SELECT value FROM parameters WHERE device_id = \(device) AND path = 'Device.WiFi.SSID.1.SSID' AND desired_value IS NULL")
                return state == "succeeded" && value == "new-ssid"
            }
            #expect(landed, "\(harness.logs)")
            let status = try await harness.text(postgres, "SELECT status FROM device_commands WHERE command_id = \("set-\(serial)")")
            #expect(status == "succeeded")
            // The duplicate is reported cancelled, so the twin does not show it pending.
            let duplicate = try await harness.text(postgres, "SELECT status FROM device_commands WHERE command_id = \("dup-\(serial)")")
            #expect(duplicate == "cancelled")
            // Nothing is left: the third session is empty.
            #expect(try await cpe.session(events: ["2 PERIODIC"]) == [])
            let transitions = try await sumOverShards(postgres, "SELECT count(*)::int FROM dispatcher_transitions WHERE command_id = \("set-\(serial)")")
            #expect(transitions == 4, "queued, dispatched, delivered, succeeded")
        }
    }

    /// Two cwmp-ingress instances behind no affinity: the device's sessions alternate between
    /// them, and nothing is lost — the Set queued between sessions is planned for the instance
    /// the next session lands on, and the twin follows.
    @Test func sessionsAlternatingBetweenTwoInstancesLoseNothing() async throws {
        try await PlatformHarness.run { harness, producer, postgres in
            let second = try await harness.startSecondCWMPIngress()
            let serial = "A" + UUID().uuidString.prefix(8)
            let cpe = harness.cpe(serial: serial)
            let device = await cpe.deviceID
            let first = try await cpe.session(events: ["0 BOOTSTRAP", "1 BOOT"])
            // The ingress's own SetParameterValues (connection-request credentials), then the Refresh.
            #expect(Array(first.prefix(2)) == ["SetParameterValues", "GetParameterNames"], "\(first)\n\(harness.logs)")
            try await harness.queue(Self.set("alt1-\(serial)", device: device, path: "Device.WiFi.SSID.1.SSID", value: "via-second"), producer: producer)
            let queued = await eventually(timeout: .seconds(30)) { (try? await Self.state(harness, postgres, "alt1-\(serial)")) == "queued" }
            #expect(queued, "\(harness.logs)")
            // The next session lands on the other instance and carries the Set.
            await cpe.use(acsURL: second.acsURL)
            #expect(try await cpe.session(events: ["2 PERIODIC"]) == ["SetParameterValues"], "\(harness.logs)")
            #expect(try await harness.text(postgres, "SELECT instance_id FROM dispatcher_devices WHERE device_id = \(device)") == second.instance)
            // And back to the first instance for the next one.
            try await harness.queue(Self.set("alt2-\(serial)", device: device, path: "Device.WiFi.SSID.2.SSID", value: "via-first"), producer: producer)
            let queuedAgain = await eventually(timeout: .seconds(30)) { (try? await Self.state(harness, postgres, "alt2-\(serial)")) == "queued" }
            #expect(queuedAgain, "\(harness.logs)")
            await cpe.use(acsURL: harness.acsURL)
            #expect(try await cpe.session(events: ["2 PERIODIC"]) == ["SetParameterValues"], "\(harness.logs)")
            let landed = await eventually(timeout: .seconds(30)) {
                let one = try? await harness.text(postgres, "SELECT value FROM parameters WHERE device_id = \(device) AND path = 'Device.WiFi.SSID.1.SSID' AND desired_value IS NULL")
                let two = try? await harness.text(postgres, "SELECT value FROM parameters WHERE device_id = \(device) AND path = 'Device.WiFi.SSID.2.SSID' AND desired_value IS NULL")
                let states = [try? await Self.state(harness, postgres, "alt1-\(serial)"), try? await Self.state(harness, postgres, "alt2-\(serial)")]
                return one == "via-second" && two == "via-first" && states == ["succeeded", "succeeded"]
            }
            #expect(landed, "\(harness.logs)")
        }
    }

    @Test func connectionRequestBringsAnIdleDeviceIn() async throws {
        try await PlatformHarness.run { harness, producer, postgres in
            let serial = "C" + UUID().uuidString.prefix(8)
            let (cpe, device) = try await harness.bootstrappedCPE(serial: serial)
            #expect(await cpe.connectionRequests == 0)

            try await harness.queue(Self.set("cr-\(serial)", device: device, path: "Device.ManagementServer.PeriodicInformInterval", value: "600"), producer: producer)
            let applied = await eventually(timeout: .seconds(60), every: .milliseconds(200)) {
                await cpe.value("Device.ManagementServer.PeriodicInformInterval") == "600"
            }
            #expect(applied, "\(harness.logs)")
            #expect(await cpe.connectionRequests >= 1)
            #expect(await cpe.refusedConnectionRequests == 0)
            // The value lands mid-session; the session ends after its 204.
            let both = await eventually(timeout: .seconds(30)) { await cpe.sessions.count == 2 }
            let sessions = await cpe.sessions
            #expect(both, "\(sessions)")
            let done = await eventually(timeout: .seconds(30)) { (try? await Self.state(harness, postgres, "cr-\(serial)")) == "succeeded" }
            #expect(done, "\(harness.logs)")
        }
    }
}

/// `CWMP_CR_CREDENTIAL_SECRET`: every CPE has its own connection-request password, derived
/// from its device ID; a CPE that expects another password refuses the request, unless the
/// ingress set the credentials in its BOOTSTRAP session (`CWMP_CR_PROVISION`).
@Suite struct DerivedConnectionRequestCredentialTests {
    @Test func eachCPEIsAskedWithItsOwnDerivedPassword() async throws {
        let secret = "connection-request-secret-of-enough-bytes"
        try await PlatformHarness.run(cwmpVariables: ["CWMP_CR_CREDENTIAL_SECRET": secret, "CWMP_CR_PROVISION": "off"]) { harness, producer, postgres in
            let derived = try DerivedCredentials(secret: Array(secret.utf8))
            let own = harness.cpe(serial: "D" + UUID().uuidString.prefix(8))
            let ownID = await own.deviceID
            _ = try await own.serveConnectionRequests(username: ownID, password: derived.password(for: ownID))
            // Provisioned with the fleet-wide pair: the derived password does not open it.
            let shared = harness.cpe(serial: "E" + UUID().uuidString.prefix(8))
            let sharedID = await shared.deviceID
            _ = try await shared.serveConnectionRequests(username: harness.crUsername, password: harness.crPassword)
            #expect(derived.password(for: ownID) != derived.password(for: sharedID))
            try await own.session(events: ["0 BOOTSTRAP"])
            try await shared.session(events: ["0 BOOTSTRAP"])

            let path = "Device.ManagementServer.PeriodicInformInterval"
            try await harness.queue(DispatcherEndToEndTests.set("dcr-\(ownID)", device: ownID, path: path, value: "900"), producer: producer)
            try await harness.queue(DispatcherEndToEndTests.set("dcr-\(sharedID)", device: sharedID, path: path, value: "900"), producer: producer)
            let applied = await eventually(timeout: .seconds(60), every: .milliseconds(200)) { await own.value(path) == "900" }
            #expect(applied, "\(harness.logs)")
            #expect(await own.refusedConnectionRequests == 0)
            let refused = await eventually(timeout: .seconds(60), every: .milliseconds(200)) { await shared.refusedConnectionRequests >= 1 }
            #expect(refused, "\(harness.logs)")
            #expect(await shared.value(path) != "900")
            let done = await eventually(timeout: .seconds(30)) { (try? await DispatcherEndToEndTests.state(harness, postgres, "dcr-\(ownID)")) == "succeeded" }
            #expect(done, "\(harness.logs)")
        }
    }
}

extension DerivedConnectionRequestCredentialTests {
    @Test func bootstrapGivesTheCPEItsOwnCredentialsAndThePasswordStaysOutOfTheTwin() async throws {
        let secret = "connection-request-secret-of-enough-bytes"
        try await PlatformHarness.run(cwmpVariables: ["CWMP_CR_CREDENTIAL_SECRET": secret]) { harness, producer, postgres in
            let derived = try DerivedCredentials(secret: Array(secret.utf8))
            // Out of the factory with the fleet-wide pair, which the ingress does not send.
            let (cpe, device) = try await harness.bootstrappedCPE(serial: "P" + UUID().uuidString.prefix(8))
            let credentials = await cpe.connectionRequestCredentials
            #expect(credentials?.username == device)
            #expect(credentials?.password == derived.password(for: device))
            #expect(await cpe.sessions.first?.contains("SetParameterValues") == true)

            // A connection request with the derived password now opens a session.
            let path = "Device.ManagementServer.PeriodicInformInterval"
            try await harness.queue(DispatcherEndToEndTests.set("pcr-\(device)", device: device, path: path, value: "1200"), producer: producer)
            let applied = await eventually(timeout: .seconds(60), every: .milliseconds(200)) { await cpe.value(path) == "1200" }
            #expect(applied, "\(harness.logs)")
            #expect(await cpe.refusedConnectionRequests == 0)
            let done = await eventually(timeout: .seconds(30)) { (try? await DispatcherEndToEndTests.state(harness, postgres, "pcr-\(device)")) == "succeeded" }
            #expect(done, "\(harness.logs)")

            // The twin has the username the CPE reports and never the password.
            let username = await eventually(timeout: .seconds(30)) {
                (try? await harness.text(postgres, "SELECT value FROM parameters WHERE device_id = \(device) AND path = 'Device.ManagementServer.ConnectionRequestUsername'")) == device
            }
            #expect(username, "\(harness.logs)")
            let leaked = try await sumOverShards(postgres, "SELECT count(*)::int FROM parameters WHERE value = \(derived.password(for: device)) OR desired_value = \(derived.password(for: device))")
            #expect(leaked == 0)
        }
    }
}

/// The optional CWMP RPCs a management system uses for support cases: Upload of the
/// configuration and the log (a real HTTP PUT to a file server), and ScheduleInform.
@Suite struct CWMPUploadAndScheduleInformTests {
    @Test func uploadsReachTheFileServerAndAScheduledInformComes() async throws {
        let files = FirmwareServer(port: 0)
        let filesTask = Task { try await files.run() }
        defer { filesTask.cancel() }
        try await PlatformHarness.run { harness, producer, postgres in
            let serial = "U" + UUID().uuidString.prefix(8)
            let (cpe, device) = try await harness.bootstrappedCPE(serial: serial)

            func command(_ id: String, _ body: (inout Twinfleet_Bus_V1_Command) -> Void) -> Twinfleet_Bus_V1_Command {
                SimulatedFleetTests.command(id, device: device, body)
            }
            let configURL = await files.uploadURL(name: "\(serial).xml")
            let port = await files.port()
            try await harness.queue(command("up-cfg-\(serial)") {
                $0.upload.url = configURL
                $0.upload.fileType = "1 Vendor Configuration File"
                $0.upload.commandKey = "up-cfg"
            }, producer: producer)
            try await harness.queue(command("si-\(serial)") {
                $0.scheduleInform.delaySeconds = 1
                $0.scheduleInform.commandKey = "si-1"
            }, producer: producer)
            // A file server path that does not take uploads: the CPE reports 9011.
            try await harness.queue(command("up-log-\(serial)") {
                $0.upload.url = "http://127.0.0.1:\(port)/elsewhere/\(serial).log"
                $0.upload.fileType = "2 Vendor Log File"
                $0.upload.commandKey = "up-log"
            }, producer: producer)

            let ids = ["up-cfg-\(serial)", "si-\(serial)", "up-log-\(serial)"]
            var states: [String?] = []
            let settled = await eventually(timeout: .seconds(90), every: .milliseconds(300)) {
                // The CPE uploads after the session that asked, and reports in the next one.
                if let events = await cpe.followUp() { _ = try? await cpe.session(events: events) }
                states = []
                for id in ids { states.append(try? await DispatcherEndToEndTests.state(harness, postgres, id)) }
                return states == ["succeeded", "succeeded", "failed"]
            }
            let informs = await cpe.informs
            #expect(settled, "states \(states); informs \(informs)\n\(harness.logs)")

            let uploaded = files.uploads.withLockedValue { $0["\(serial).xml"] }.map { String(decoding: $0, as: UTF8.self) } ?? ""
            #expect(uploaded.contains("<config serial=\"\(serial)\""))
            #expect(uploaded.contains("name=\"Device.ManagementServer.PeriodicInformInterval\""), "\(uploaded.prefix(500))")
            #expect(files.uploads.withLockedValue { $0.count } == 1)
            let transfers = await cpe.transfersReported
            #expect(transfers.contains { $0.commandKey == "up-cfg" && $0.faultCode == 0 })
            #expect(transfers.contains { $0.commandKey == "up-log" && $0.faultCode == 9011 })
            #expect(informs.contains { $0.contains("7 TRANSFER COMPLETE") && $0.contains("M Upload:up-cfg") })
            // The scheduled inform comes a second after the session that asked for it.
            let scheduled = await eventually(timeout: .seconds(30)) {
                await cpe.informs.contains { $0.contains("3 SCHEDULED") && $0.contains("M ScheduleInform:si-1") }
            }
            let informsLater = await cpe.informs
            #expect(scheduled, "\(informsLater)")
            let code = try await harness.text(postgres, "SELECT last_error_code::text FROM dispatcher_commands WHERE command_id = \("up-log-\(serial)")")
            let error = try await harness.text(postgres, "SELECT last_error FROM dispatcher_commands WHERE command_id = \("up-log-\(serial)")")
            #expect(code == "9011", "\(code ?? "nil"): \(error ?? "nil")")
        }
    }
}

/// SetParameterAttributes from the bus: the simulated CPE is told to notify actively, then a
/// change made on the device reaches the twin through a session the device opens at once.
@Suite struct CWMPActiveNotificationTests {
    @Test func activeNotificationSetThroughTheBusBringsAChangeAtOnce() async throws {
        try await PlatformHarness.run { harness, producer, postgres in
            let serial = "N" + UUID().uuidString.prefix(8)
            let (cpe, device) = try await harness.bootstrappedCPE(serial: serial)
            let path = "Device.WiFi.SSID.1.SSID"
            try await harness.queue(SimulatedFleetTests.command("spa-\(serial)", device: device) {
                var attribute = Twinfleet_Bus_V1_ParameterAttribute()
                attribute.path = path
                attribute.notificationChange = true
                attribute.notification = 2
                $0.setParameterAttributes.attributes = [attribute]
            }, producer: producer)
            let applied = await eventually(timeout: .seconds(60), every: .milliseconds(300)) {
                (try? await DispatcherEndToEndTests.state(harness, postgres, "spa-\(serial)")) == "succeeded"
            }
            let sessions = await cpe.sessions
            #expect(applied, "\(sessions)\n\(harness.logs)")

            let sessionsBefore = await cpe.informs.count
            await cpe.changeLocally(path, to: "active-\(serial)")
            let reported = await eventually(timeout: .seconds(60), every: .milliseconds(200)) {
                (try? await harness.text(postgres, "SELECT value FROM parameters WHERE device_id = \(device) AND path = \(path)")) == "active-\(serial)"
            }
            let informs = await cpe.informs
            #expect(reported, "\(informs)\n\(harness.logs)")
            #expect(informs.dropFirst(sessionsBefore).contains { $0.contains("4 VALUE CHANGE") }, "\(informs)")
        }
    }
}

/// kill -9 of the dispatcher while commands arrive and while sessions wait for their plans: after
/// a restart every command is delivered exactly once, in order.
@Suite struct DispatcherCrashTests {
    @Test func killedDispatcherLosesAndDuplicatesNoCommand() async throws {
        try await PlatformHarness.run(dispatcherBatchSize: 3) { harness, producer, postgres in
            let cpes = (0..<24).map { harness.cpe(serial: "K\($0)-" + UUID().uuidString.prefix(6)) }
            let perDevice = 5, beforeKill = 3
            var ids: [String] = []
            func queue(steps: ClosedRange<Int>) async throws {
                for cpe in cpes {
                    let device = await cpe.deviceID
                    for step in steps {
                        let id = "k\(step)-\(device)"
                        ids.append(id)
                        try await harness.queue(DispatcherEndToEndTests.set(id, device: device, path: "Device.WiFi.SSID.1.SSID", value: "v\(step)"), producer: producer)
                    }
                }
            }
            // Killed while the queue fills: the first commands of every device are on the
            // bus and being applied; the rest are queued while no dispatcher runs.
            try await queue(steps: 1...beforeKill)
            let started = await eventually(timeout: .seconds(60), every: .milliseconds(20)) {
                (try? await sumOverShards(postgres, "SELECT count(*)::int FROM dispatcher_commands")) ?? 0 >= 10
            }
            #expect(started, "\(harness.logs)")
            await harness.killDispatcher()
            let atKill = try await sumOverShards(postgres, "SELECT count(*)::int FROM dispatcher_commands")
            try await queue(steps: (beforeKill + 1)...perDevice)
            #expect(atKill >= 10 && atKill <= cpes.count * beforeKill, "\(atKill) commands stored at the kill")

            // Every device opens a session while no dispatcher runs: the plans wait.
            let sessions = cpes.map { cpe in Task { try await cpe.session(events: ["0 BOOTSTRAP", "1 BOOT"]) } }
            try await Task.sleep(for: .seconds(2))
            try await harness.startDispatcher(batchSize: 3)
            for session in sessions { _ = try await session.value }
            // Commands and device events are different topics: after the restart a session
            // may be planned before the rest of its device's commands are read. Those wait
            // for the next session (the devices here take no connection requests).
            let caughtUp = await eventually(timeout: .seconds(60)) {
                (try? await sumOverShards(postgres, "SELECT count(*)::int FROM dispatcher_commands WHERE kind = 'set-parameters'")) == ids.count
            }
            #expect(caughtUp, "\(harness.logs)")
            // Results are a third topic: a session opened before the dispatcher read the results
            // of the one before finds its last command still unanswered, and what depends on it
            // waits (CI saw it once). So the next session opens when nothing awaits a result.
            let answered = await eventually(timeout: .seconds(60)) {
                (try? await sumOverShards(postgres, "SELECT count(*)::int FROM dispatcher_commands WHERE kind = 'set-parameters' AND state IN ('dispatched', 'delivered', 'in-progress')")) == 0
            }
            #expect(answered, "\(harness.logs)")
            for cpe in cpes { try await cpe.session(events: ["2 PERIODIC"]) }

            for cpe in cpes {
                let log = await cpe.sessions.flatMap { $0 }
                let device = await cpe.deviceID
                // One per command, plus the connection-request credentials of the BOOTSTRAP session.
                #expect(log.filter { $0 == "SetParameterValues" }.count == perDevice + 1, "\(device): \(log)")
                #expect(await cpe.value("Device.WiFi.SSID.1.SSID") == "v\(perDevice)")
            }
            let settled = await eventually(timeout: .seconds(60)) {
                (try? await sumOverShards(postgres, "SELECT count(*)::int FROM dispatcher_commands WHERE state = 'succeeded' AND kind = 'set-parameters'")) == ids.count
            }
            #expect(settled, "\(harness.logs)")
            // Exactly once: four transitions per command, one delivery each.
            let transitions = try await sumOverShards(postgres, "SELECT count(*)::int FROM dispatcher_transitions WHERE command_id LIKE 'k%'")
            var extra: [String] = []
            for shard in postgres.shards {
                let rows = try await shard.query("""
                    SELECT command_id, string_agg(coalesce(from_state, '') || '>' || to_state || ' ' || coalesce(detail, ''), ', ' ORDER BY at, ordinal)
                    FROM dispatcher_transitions WHERE command_id LIKE 'k%' GROUP BY command_id HAVING count(*) <> 4
                    """, logger: TestEnvironment.logger)
                for try await (id, steps) in rows.decode((String, String).self) { extra.append("\(id): \(steps)") }
            }
            #expect(transitions == ids.count * 4, "\(extra)")
            let redelivered = try await sumOverShards(postgres, "SELECT count(*)::int FROM dispatcher_commands WHERE kind = 'set-parameters' AND dispatches <> 1")
            #expect(redelivered == 0)
        }
    }
}
