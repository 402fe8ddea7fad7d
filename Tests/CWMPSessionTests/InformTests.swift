import BusContracts
import CWMPCodec
import CWMPSession
import Foundation
import Testing
import TwinfleetModel

/// The start of a session: Inform → InformResponse, the records it publishes, and what is
/// refused before or instead of it.
@Suite struct InformTests {
    @Test func bootstrapInformIsAnsweredAndPublished() throws {
        var harness = Harness()
        let step = try harness.inform([EventStruct(eventCode: .bootstrap), EventStruct(eventCode: .mReboot, commandKey: "cmd-7")])

        let response = try decodeResponse(step)
        #expect(response.message == .informResponse(InformResponse(maxEnvelopes: 1)))
        #expect(response.header.id == "cpe-1")
        #expect(response.header.holdRequests == nil)
        #expect(harness.session.state == .cpeRequests)
        #expect(step.deviceID == testDeviceID)
        #expect(harness.session.device?.deviceID.rawValue == testDeviceID)

        #expect(step.events.count == 2)
        let inform = try #require(step.events.first)
        #expect(inform.deviceID == testDeviceID)
        #expect(inform.tenantID == "tenant-a")
        #expect(inform.protocol == .cwmp)
        #expect(inform.sessionID == "s1")
        #expect(inform.sourceInstance == "cwmp-ingress-0")
        #expect(inform.occurredAtUs == t0.unixMicroseconds)
        guard case .inform(let body)? = inform.body else {
            Issue.record("first event is not the Inform")
            return
        }
        #expect(body.device.oui == "00D09E")
        #expect(body.device.productClass == "IGD")
        #expect(body.device.serialNumber == "SN-1")
        #expect(body.device.manufacturer == "ACME Networks")
        #expect(body.device.softwareVersion == "2.1.0")
        #expect(body.device.modelName == "Gateway 9")
        #expect(body.events.map(\.code) == ["0 BOOTSTRAP", "M Reboot"])
        #expect(body.events.map(\.commandKey) == ["", "cmd-7"])
        #expect(body.parameters.map(\.path) == defaultInformParameters.map(\.name))
        #expect(body.maxEnvelopes == 1)

        #expect(step.presenceKinds == [.sessionOpened])
        guard case .presence(let presence)? = step.events.last?.body else { return }
        #expect(presence.instanceID == "cwmp-ingress-0")
        #expect(presence.connectionRequestURL == "http://198.51.100.7:7547/cr")
        #expect(presence.remoteAddress == "192.0.2.10:40000")
        #expect(presence.tls)
        #expect(presence.mtp == .http)
        #expect(Set(step.events.map(\.eventID)).count == 2)
    }

    @Test func informFixtureFromTheVectors() throws {
        var harness = Harness()
        let step = harness.post(bytes: Array(try vector("inform_request.xml").utf8))
        let response = try decodeResponse(step)
        #expect(response.header.id == "123")
        #expect(response.message == .informResponse(InformResponse()))
        #expect(step.deviceID == "DECADE-G3000E-G3000E%2D9799109101")
        guard case .inform(let inform)? = step.events.first?.body else {
            Issue.record("no Inform event")
            return
        }
        #expect(inform.device.softwareVersion == "G3000E-1.2.3")
        #expect(inform.device.hardwareVersion == "1.0")
        #expect(inform.parameters.count == 10)
        let aliasBased = try #require(inform.parameters.first { $0.path == "Device.ManagementServer.AliasBasedAddressing" })
        #expect(aliasBased.value.value == .booleanValue(true))
        guard case .presence(let presence)? = step.events.last?.body else { return }
        #expect(presence.connectionRequestURL == "http://192.168.1.1:7547/acs")
    }

    @Test func valueChangeInformBecomesAValueChange() throws {
        var harness = Harness()
        let changed = [ParameterValueStruct(name: "Device.WiFi.Radio.1.Channel", value: .unsignedInt(11))]
        let step = try harness.inform([EventStruct(eventCode: .valueChange)], parameters: changed)
        #expect(step.events.count == 3)
        guard case .valueChange(let change)? = step.events[1].body else {
            Issue.record("second event is not a ValueChange")
            return
        }
        #expect(change.parameters == [busParameter("Device.WiFi.Radio.1.Channel", .unsignedInt(11))])
        #expect(step.presenceKinds == [.sessionOpened])
    }

    @Test func rawValuesTravelAsStringsAndBadNamesAreDropped() throws {
        var harness = Harness()
        let parameters = [
            ParameterValueStruct(name: "Device.X_Vendor.Mode", value: .raw(text: "turbo", typeName: "xsd:boolean")),
            ParameterValueStruct(name: "Device..Broken", value: .string("x")),
        ]
        let step = try harness.inform(parameters: parameters)
        guard case .inform(let inform)? = step.events.first?.body else { return }
        #expect(inform.parameters == [busParameter("Device.X_Vendor.Mode", .string("turbo"))])
        #expect(step.notes.contains { $0.contains("Device..Broken") })
    }

    @Test func namespaceOfTheCPEIsEchoed() throws {
        var harness = Harness()
        let step = try harness.inform(namespace: .v1_2)
        #expect(try decodeResponse(step).namespace == .v1_2)
        _ = harness.postEmpty()
        let rpc = harness.deliver(command("c1", .factoryReset(Twinfleet_Bus_V1_FactoryReset())))
        #expect(try decodeResponse(rpc).namespace == .v1_2)
    }

    @Test func informWithoutSerialNumberIsRefused() throws {
        var harness = Harness()
        let identity = DeviceIdStruct(manufacturer: "ACME", oui: "00D09E", productClass: "IGD", serialNumber: "")
        let step = harness.post(.inform(Inform(deviceId: identity, events: [], currentTime: t0)))
        let fault = try sentFault(step)
        #expect(fault.code == .invalidArguments)
        #expect(step.sessionEnded)
        #expect(step.events.isEmpty)
        #expect(harness.session.state == .ended(.notStarted))
    }

    @Test func requestBeforeInformGetsFault8003() throws {
        var harness = Harness()
        let step = harness.post(.getRPCMethods, id: "x9")
        let fault = try sentFault(step)
        #expect(fault.code == .invalidArguments)
        #expect(try decodeResponse(step).header.id == "x9")
        #expect(step.sessionEnded)
        #expect(step.events.isEmpty && step.results.isEmpty)
    }

    @Test func emptyPOSTBeforeInformIsABadRequest() {
        var harness = Harness()
        let step = harness.postEmpty()
        #expect(step.response?.status == 400)
        #expect(step.sessionEnded)
        #expect(harness.session.isEnded)
    }

    @Test func undecodableFirstPOSTGetsTheCodecsFault() throws {
        var harness = Harness()
        let step = harness.post(bytes: Array("<soapenv:Envelope><unclosed>".utf8))
        let fault = try sentFault(step)
        #expect(fault.code == .internalError)
        #expect(step.sessionEnded)
    }

    @Test func secondInformEndsTheSession() throws {
        var harness = Harness()
        try harness.inform()
        _ = harness.deliver(command("c1", .factoryReset(Twinfleet_Bus_V1_FactoryReset())))
        let step = harness.post(.inform(Inform(deviceId: testIdentity, events: [EventStruct(eventCode: .boot)], currentTime: t0)), id: "again")
        let fault = try sentFault(step)
        #expect(fault.code == .invalidArguments)
        #expect(try decodeResponse(step).header.id == "again")
        #expect(sameStatuses(step.statuses, [("c1", .notDelivered)]))
        #expect(step.results.first?.error.retriable == true)
        #expect(step.presenceKinds == [.sessionClosed])
        #expect(harness.session.state == .ended(.protocolError))
    }

    @Test func postAfterTheEndIsAnswered204() throws {
        var harness = Harness()
        _ = harness.postEmpty()
        let step = harness.postEmpty()
        #expect(isNoContent(step))
        #expect(step.sessionEnded)
    }
}
