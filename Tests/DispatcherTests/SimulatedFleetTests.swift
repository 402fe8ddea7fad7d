import BusContracts
import Foundation
import Kafka
import PostgresNIO
import ShardedPostgres
import Testing
import TestSupport

/// A small simulated fleet (`Fleet` from DeviceSim, the engine of `twinfleet-cpe-sim`) against
/// the real twin-store, command-dispatcher, cwmp-ingress and usp-ingress: bootstrap with
/// complete twins, periodic informs, a queued Set, a configuration upload, a firmware download
/// over HTTP with the reboot into it, and a reboot — for TR-069 (TR-181 and TR-098 models) and TR-369 devices.
@Suite(.serialized) struct SimulatedFleetTests {
    static var dataModels: String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("shared/specs/data-models").path
    }

    static func count(_ harness: PlatformHarness, _ postgres: ShardedPostgres, _ device: String) async -> Int {
        Int((try? await harness.text(postgres, "SELECT count(*)::text FROM parameters WHERE device_id = \(device) HAVING count(*) > 0")) ?? "0") ?? 0
    }

    static func value(_ harness: PlatformHarness, _ postgres: ShardedPostgres, _ device: String, _ path: String) async -> String? {
        try? await harness.text(postgres, "SELECT value FROM parameters WHERE device_id = \(device) AND path = \(path)")
    }

    static func software(_ harness: PlatformHarness, _ postgres: ShardedPostgres, _ device: String) async -> String? {
        try? await harness.text(postgres, "SELECT software_version FROM devices WHERE device_id = \(device)")
    }

    static func command(_ id: String, device: String, _ body: (inout Twinfleet_Bus_V1_Command) -> Void) -> Twinfleet_Bus_V1_Command {
        var command = Twinfleet_Bus_V1_Command()
        command.commandID = id
        command.deviceID = device
        command.tenantID = "default"
        command.createdAtUs = Date().unixMicroseconds
        body(&command)
        return command
    }

    @Test func aSmallFleetBootstrapsInformsAndCarriesOutSetsFirmwareAndReboots() async throws {
        let harness = try await PlatformHarness.start()
        let producer = try KafkaProducer(configuration: harness.environment.kafka(), logger: TestEnvironment.logger)
        let firmware = FirmwareServer(port: 0, imageSize: 8192)
        let firmwareTask = Task { try await firmware.run() }
        defer { firmwareTask.cancel() }
        do {
            let usp = try await harness.startUSPIngress()
            var configuration = FleetConfiguration()
            configuration.cwmpDevices = 3
            configuration.tr098Share = 0.5
            configuration.uspDevices = 2
            configuration.serialPrefix = "FLT"
            configuration.acsURL = harness.acsURL
            configuration.credentials = .shared(username: harness.cpeUsername, password: harness.cpePassword)
            configuration.connectionRequestUsername = harness.crUsername
            configuration.connectionRequestPassword = harness.crPassword
            configuration.uspURL = "ws://127.0.0.1:\(usp.wsPort)/usp"
            configuration.controllerID = PlatformHarness.uspController
            configuration.informInterval = .seconds(3)
            configuration.ramp = .seconds(1)
            configuration.rebootTime = .milliseconds(500)
            configuration.dataModels = Self.dataModels
            let fleet = try Fleet(configuration: configuration, logger: TestEnvironment.logger)
            let running = Task { try await fleet.run() }
            defer { running.cancel() }
            try await withShardedPostgres(harness.databases, partitionCount: harness.environment.partitionCount) { postgres in
                // Both TR-069 models are in the fleet (the kinds are seeded by the serial numbers).
                let roots = Set(await fleet.cpes.asyncMap { await $0.root })
                #expect(roots == ["Device.", "InternetGatewayDevice."])

                // Bootstrap: every twin holds the device's whole data model.
                for cpe in fleet.cpes {
                    let expected = await cpe.parameters.count
                    #expect(expected > 300, "a realistic model has hundreds of parameters, \(cpe.serial) has \(expected)")
                    let complete = await eventually(timeout: .seconds(120)) { await Self.count(harness, postgres, cpe.deviceID) == expected }
                    let have = await Self.count(harness, postgres, cpe.deviceID)
                    #expect(complete, "\(cpe.deviceID): twin has \(have) of \(expected) parameters\n\(harness.logs)")
                    #expect(await cpe.informs.first?.contains("0 BOOTSTRAP") == true)
                }
                for agent in fleet.agents {
                    let expected = await agent.parameters.count
                    let complete = await eventually(timeout: .seconds(120)) { await Self.count(harness, postgres, agent.endpointID) >= expected }
                    let have = await Self.count(harness, postgres, agent.endpointID)
                    #expect(complete, "\(agent.endpointID): twin has \(have) of \(expected) parameters\n\(harness.logs)")
                    #expect(await agent.boots >= 1)
                }

                // Periodic informs: more sessions, and the uptime they report reaches the twin.
                let cpe = fleet.cpes[0]
                let root = await cpe.root
                let periodic = await eventually(timeout: .seconds(60)) {
                    let informs = await cpe.informs
                    let uptime = Int(await Self.value(harness, postgres, cpe.deviceID, root + "DeviceInfo.UpTime") ?? "0") ?? 0
                    return informs.filter { $0.contains("2 PERIODIC") }.count >= 2 && uptime >= 3
                }
                let informs = await cpe.informs
                #expect(periodic, "\(informs)\n\(harness.logs)")

                // A queued Set reaches the device (by a connection request or its next inform) and the twin.
                let ssid = root == "Device." ? "Device.WiFi.SSID.1.SSID" : "InternetGatewayDevice.LANDevice.1.WLANConfiguration.1.SSID"
                try await harness.queue(DispatcherEndToEndTests.set("fleet-set-cwmp", device: cpe.deviceID, path: ssid, value: "fleet-wifi"), producer: producer)
                let agent = fleet.agents[0]
                try await harness.queue(DispatcherEndToEndTests.set("fleet-set-usp", device: agent.endpointID, path: "Device.WiFi.SSID.1.SSID", value: "fleet-usp-wifi"), producer: producer)
                let set = await eventually(timeout: .seconds(60)) {
                    let cwmp = await cpe.value(ssid) == "fleet-wifi"
                    let twinCWMP = await Self.value(harness, postgres, cpe.deviceID, ssid) == "fleet-wifi"
                    let uspDevice = await agent.parameters["Device.WiFi.SSID.1.SSID"] == "fleet-usp-wifi"
                    let twinUSP = await Self.value(harness, postgres, agent.endpointID, "Device.WiFi.SSID.1.SSID") == "fleet-usp-wifi"
                    return cwmp && twinCWMP && uspDevice && twinUSP
                }
                #expect(set, "\(harness.logs)")

                // Uploads: the configuration of a TR-069 device (Upload) and a USP agent
                // (VendorConfigFile.1.Backup()) reach the file server; the commands succeed.
                for device in [cpe.deviceID, agent.endpointID] {
                    let url = await firmware.uploadURL(name: "\(device).xml")
                    try await harness.queue(Self.command("fleet-up-\(device)", device: device) {
                        $0.upload.url = url
                        $0.upload.fileType = "1 Vendor Configuration File"
                        $0.upload.commandKey = "cfg-1"
                    }, producer: producer)
                }
                let uploaded = await eventually(timeout: .seconds(60)) {
                    let states = [try? await DispatcherEndToEndTests.state(harness, postgres, "fleet-up-\(cpe.deviceID)"),
                                  try? await DispatcherEndToEndTests.state(harness, postgres, "fleet-up-\(agent.endpointID)")]
                    return states == ["succeeded", "succeeded"]
                }
                #expect(uploaded, "\(harness.logs)")
                let files = firmware.uploads.withLockedValue { $0 }
                #expect(files["\(cpe.deviceID).xml"].map { String(decoding: $0, as: UTF8.self) }?.contains(ssid) == true)
                #expect(files["\(agent.endpointID).xml"].map { String(decoding: $0, as: UTF8.self) }?.contains("fleet-usp-wifi") == true)

                // Firmware: fetched over HTTP, installed, the device reboots into it, the twin shows it.
                let url = await firmware.url(version: "2.0.0")
                let image = firmware.image(named: "2.0.0.bin")!
                for device in [cpe.deviceID, agent.endpointID] {
                    try await harness.queue(Self.command("fleet-fw-\(device)", device: device) {
                        $0.download.url = url
                        $0.download.fileType = "1 Firmware Upgrade Image"
                        $0.download.fileSize = UInt64(image.count)
                        $0.download.sha256 = SimFirmware.sha256(image)
                        $0.download.commandKey = "fw-2.0.0"
                    }, producer: producer)
                }
                let upgraded = await eventually(timeout: .seconds(90)) {
                    let cwmp = await Self.software(harness, postgres, cpe.deviceID) == "2.0.0"
                    let uspDevice = await Self.software(harness, postgres, agent.endpointID) == "2.0.0"
                    let states = [try? await DispatcherEndToEndTests.state(harness, postgres, "fleet-fw-\(cpe.deviceID)"),
                                  try? await DispatcherEndToEndTests.state(harness, postgres, "fleet-fw-\(agent.endpointID)")]
                    return cwmp && uspDevice && states == ["succeeded", "succeeded"]
                }
                #expect(upgraded, "\(harness.logs)")
                #expect(firmware.downloads.withLockedValue { $0 } >= 2)
                #expect(await cpe.transfersReported.contains { $0.commandKey == "fw-2.0.0" && $0.faultCode == 0 })
                #expect(await cpe.informs.contains { $0.contains("1 BOOT") && $0.contains("7 TRANSFER COMPLETE") && $0.contains("M Download:fw-2.0.0") })
                #expect(await agent.parameters["Device.DeviceInfo.SoftwareVersion"] == "2.0.0")

                // A reboot: the CPE comes back with M Reboot and its command key; the agent with Boot!.
                let bootsBefore = await agent.boots
                for device in [cpe.deviceID, agent.endpointID] {
                    try await harness.queue(Self.command("fleet-reboot-\(device)", device: device) {
                        $0.reboot = Twinfleet_Bus_V1_Reboot()
                        $0.reboot.commandKey = "rb-1"
                    }, producer: producer)
                }
                func rebootProgress() async -> (done: Bool, description: String) {
                    let cwmp = await cpe.informs.contains { $0.contains("1 BOOT") && $0.contains("M Reboot:rb-1") }
                    let boots = await agent.boots
                    let states = [try? await DispatcherEndToEndTests.state(harness, postgres, "fleet-reboot-\(cpe.deviceID)"),
                                  try? await DispatcherEndToEndTests.state(harness, postgres, "fleet-reboot-\(agent.endpointID)")]
                    let done = cwmp && boots > bootsBefore && states == ["succeeded", "succeeded"]
                    let error = try? await harness.text(postgres, "SELECT last_error FROM dispatcher_commands WHERE command_id = \("fleet-reboot-\(agent.endpointID)")")
                    return (done, "CWMP informed M Reboot: \(cwmp); agent boots \(bootsBefore) → \(boots); command states \(states); USP reboot's last error: \(error ?? "none")")
                }
                let rebooted = await eventually(timeout: .seconds(120)) { await rebootProgress().done }
                let progress = await rebootProgress().description
                let informsAfter = await cpe.informs
                #expect(rebooted, "\(progress)\n\(informsAfter)\n\(harness.logs)")
                #expect(fleet.statistics.sessionsFailed == 0, "\(fleet.statistics)")
            }
            running.cancel()
            _ = await running.result
            await fleet.shutdown()
        } catch {
            await harness.stop()
            throw error
        }
        await harness.stop()
    }
}

extension Sequence {
    func asyncMap<T>(_ transform: (Element) async -> T) async -> [T] {
        var results: [T] = []
        for element in self { results.append(await transform(element)) }
        return results
    }
}
