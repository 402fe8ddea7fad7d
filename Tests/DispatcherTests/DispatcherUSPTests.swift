import BusContracts
import Foundation
import Kafka
import PostgresNIO
import ShardedPostgres
import Testing
import TestSupport

/// The offline queue for USP devices end to end: real twin-store, command-dispatcher and two
/// usp-ingress instances, real PostgreSQL shards, the dev broker, and a test agent over real
/// WebSockets.
@Suite(.serialized) struct DispatcherUSPTests {
    static func value(_ harness: PlatformHarness, _ postgres: ShardedPostgres, _ device: String, _ path: String, pendingCleared: Bool = false) async -> String? {
        if pendingCleared {
            return try? await harness.text(postgres, "SELECT value FROM parameters WHERE device_id = \(device) AND path = \(path) AND desired_value IS NULL")
        }
        return try? await harness.text(postgres, "SELECT value FROM parameters WHERE device_id = \(device) AND path = \(path)")
    }

    @Test func queueFollowsTheAgentAcrossReconnectsAndInstances() async throws {
        try await PlatformHarness.run { harness, producer, postgres in
            let a = try await harness.startUSPIngress()
            let b = try await harness.startUSPIngress()
            let device = "os::test-e2e-" + UUID().uuidString.prefix(8)
            let agent = TestUSPAgent(endpointID: device, controllerID: PlatformHarness.uspController, parameters: TestUSPAgent.gateway(serial: "U1"))

            // First contact on A: the dispatcher's Refresh synchronises the twin.
            try await agent.connect(port: a.wsPort)
            let synced = await eventually(timeout: .seconds(30)) {
                await Self.value(harness, postgres, device, "Device.WiFi.SSID.2.SSID") == "guest"
            }
            #expect(synced, "the synchronisation did not reach the twin\n\(harness.logs)")
            await agent.disconnect()
            let offline = await eventually(timeout: .seconds(30)) {
                (try? await harness.text(postgres, "SELECT connected::text FROM dispatcher_devices WHERE device_id = \(device)")) == "false"
            }
            #expect(offline, "\(harness.logs)")

            // Offline: the Set waits; the twin shows it desired.
            try await harness.queue(DispatcherEndToEndTests.set("uset-\(device)", device: device, path: "Device.WiFi.SSID.1.SSID", value: "queued-offline"), producer: producer)
            let desired = await eventually(timeout: .seconds(30)) {
                (try? await harness.text(postgres, "SELECT desired_value FROM parameters WHERE device_id = \(device) AND path = 'Device.WiFi.SSID.1.SSID'")) == "queued-offline"
            }
            #expect(desired, "\(harness.logs)")
            let waiting = await eventually(timeout: .seconds(30)) {
                (try? await DispatcherEndToEndTests.state(harness, postgres, "uset-\(device)")) == "queued"
            }
            #expect(waiting, "\(harness.logs)")

            // Reconnect, on B this time: the Set is delivered there and lands in the twin.
            try await agent.connect(port: b.wsPort)
            let landed = await eventually(timeout: .seconds(30)) {
                let state = try? await DispatcherEndToEndTests.state(harness, postgres, "uset-\(device)")
                let value = await Self.value(harness, postgres, device, "Device.WiFi.SSID.1.SSID", pendingCleared: true)
                return state == "succeeded" && value == "queued-offline"
            }
            #expect(landed, "\(harness.logs)")
            #expect(await agent.parameters["Device.WiFi.SSID.1.SSID"] == "queued-offline")

            // The device moves to A while its connection to B lingers: the next delivery goes to A.
            let moved = TestUSPAgent(endpointID: device, controllerID: PlatformHarness.uspController, parameters: await agent.parameters)
            try await moved.connect(port: a.wsPort)
            let rerouted = await eventually(timeout: .seconds(30)) {
                (try? await harness.text(postgres, "SELECT instance_id FROM dispatcher_devices WHERE device_id = \(device)")) == a.instance
            }
            #expect(rerouted, "\(harness.logs)")
            try await harness.queue(DispatcherEndToEndTests.set("umove-\(device)", device: device, path: "Device.WiFi.SSID.2.SSID", value: "after-move"), producer: producer)
            let movedSet = await eventually(timeout: .seconds(30)) {
                (try? await DispatcherEndToEndTests.state(harness, postgres, "umove-\(device)")) == "succeeded"
            }
            #expect(movedSet, "\(harness.logs)")
            #expect(await moved.parameters["Device.WiFi.SSID.2.SSID"] == "after-move")
            #expect(await agent.parameters["Device.WiFi.SSID.2.SSID"] == "guest")

            // The stale connection to B ends: it does not take the device back from A.
            await agent.disconnect()
            try await Task.sleep(for: .seconds(1))
            try await harness.queue(DispatcherEndToEndTests.set("uafter-\(device)", device: device, path: "Device.WiFi.SSID.2.Enable", value: "true"), producer: producer)
            let after = await eventually(timeout: .seconds(30)) {
                (try? await DispatcherEndToEndTests.state(harness, postgres, "uafter-\(device)")) == "succeeded"
            }
            #expect(after, "\(harness.logs)")
            #expect(await moved.parameters["Device.WiFi.SSID.2.Enable"] == "true")
            let transitions = try await sumOverShards(postgres, "SELECT count(*)::int FROM dispatcher_transitions WHERE command_id = \("uset-\(device)")")
            #expect(transitions == 4, "queued, dispatched, delivered, succeeded")
            await moved.disconnect()
        }
    }

    @Test func anInstanceTheAgentCreatesIsReadWholeIntoTheTwin() async throws {
        try await PlatformHarness.run { harness, _, postgres in
            let ingress = try await harness.startUSPIngress()
            let device = "os::test-obj-" + UUID().uuidString.prefix(8)
            var model = TestUSPAgent.gateway(serial: "U2")
            model["Device.Hosts.HostNumberOfEntries"] = "1"
            model["Device.Hosts.Host.1.PhysAddress"] = "00:11:22:33:44:55"
            model["Device.Hosts.Host.1.IPAddress"] = "192.168.1.10"
            model["Device.Hosts.Host.1.HostName"] = "laptop"
            let agent = TestUSPAgent(endpointID: device, controllerID: PlatformHarness.uspController, parameters: model)
            try await agent.connect(port: ingress.wsPort)
            let synced = await eventually(timeout: .seconds(30)) {
                await Self.value(harness, postgres, device, "Device.Hosts.Host.1.HostName") == "laptop"
            }
            #expect(synced, "the synchronisation did not reach the twin\n\(harness.logs)")
            let subscribed = await eventually(timeout: .seconds(30)) {
                await agent.subscriptionID(notifType: "ObjectCreation", containing: "Device.Hosts.Host.2.") != nil
            }
            #expect(subscribed, "the ingress did not subscribe to Device.Hosts.Host. creations\n\(harness.logs)")

            // A guest joins: the ObjectCreation names only its PhysAddress; the dispatcher reads
            // the instance, so its HostName and IPAddress reach the twin too.
            try await agent.churnHosts()
            let hostName = await agent.parameters["Device.Hosts.Host.2.HostName"]
            #expect(hostName?.hasPrefix("guest-") == true)
            let complete = await eventually(timeout: .seconds(30)) {
                let name = await Self.value(harness, postgres, device, "Device.Hosts.Host.2.HostName")
                let address = await Self.value(harness, postgres, device, "Device.Hosts.Host.2.IPAddress")
                return name == hostName && address?.hasPrefix("192.168.1.") == true
            }
            #expect(complete, "the new instance's values did not reach the twin\n\(harness.logs)")
            // The results reach the dispatcher on their own topic, maybe after the twin has the values.
            let refreshed = await eventually(timeout: .seconds(30)) {
                (try? await sumOverShards(postgres, """
                    SELECT count(*)::int FROM dispatcher_commands
                    WHERE device_id = \(device) AND kind = 'refresh' AND state = 'succeeded'
                    """)) == 2
            }
            #expect(refreshed, "the first synchronisation and the new instance's Refresh succeed\n\(harness.logs)")
            await agent.disconnect()
        }
    }
}
