import BusContracts
import Foundation
import SwiftProtobuf
import Testing
import TwinfleetModel

@Suite struct DeviceEventRoundTripTests {
    @Test(arguments: Fixtures.eventBodies)
    func eachBodyRoundTrips(_ body: Twinfleet_Bus_V1_DeviceEvent.OneOf_Body) throws {
        let event = Fixtures.event(body)
        let parsed = try roundTrip(event)
        #expect(parsed == event)
        #expect(parsed.body == body)
        #expect(parsed.deviceID == "00D09E-IGD-1234")
        #expect(parsed.occurredAtUs == 1_714_564_800_123_456)
    }

    @Test func everyBodyKindIsCovered() {
        let kinds = Set(Fixtures.eventBodies.map { String(describing: $0).prefix { $0 != "(" } })
        #expect(kinds.count == 10)
    }

    @Test func reportChunkFieldsSurvive() throws {
        guard case .parameterReport(let report)? = try roundTrip(Fixtures.event(Fixtures.eventBodies[3])).body else {
            Issue.record("not a parameter report")
            return
        }
        #expect(report.fullSyncRoot == "Device.WiFi.")
        #expect(report.chunkIndex == 3)
        #expect(report.finalChunk)
        #expect(try report.parameters.map { try Parameter($0) }.map(\.path.rawValue) == Fixtures.parameters.map(\.path))
    }

    @Test func jsonRoundTripForTooling() throws {
        for body in Fixtures.eventBodies {
            let event = Fixtures.event(body)
            #expect(try Twinfleet_Bus_V1_DeviceEvent(jsonString: event.jsonString()) == event)
        }
    }
}

@Suite struct CommandRoundTripTests {
    @Test(arguments: Fixtures.commandKinds)
    func eachKindRoundTripsInsideARequest(_ kind: Twinfleet_Bus_V1_Command.OneOf_Kind) throws {
        var requested = Twinfleet_Bus_V1_CommandRequested()
        requested.command = Fixtures.command(kind)
        var envelope = Twinfleet_Bus_V1_CommandEnvelope()
        envelope.requested = requested
        let parsed = try roundTrip(envelope)
        #expect(parsed == envelope)
        #expect(parsed.requested.command.kind == kind)
        #expect(parsed.requested.command.correlation.campaignID == "campaign-7")
        #expect(parsed.requested.command.priority == -3)
    }

    @Test func everyKindIsCovered() {
        let kinds = Set(Fixtures.commandKinds.map { String(describing: $0).prefix { $0 != "(" } })
        #expect(kinds.count == 11)
    }

    @Test func cancellationRoundTrips() throws {
        var cancelled = Twinfleet_Bus_V1_CommandCancelled()
        cancelled.commandID = "c-1"
        cancelled.reason = "campaign halted"
        cancelled.requestedBy = "firmware-campaigns"
        cancelled.deviceID = "00D09E-IGD-1234"
        cancelled.tenantID = "acme"
        cancelled.cancelledAtUs = 1_714_564_800_000_000
        var envelope = Twinfleet_Bus_V1_CommandEnvelope()
        envelope.cancelled = cancelled
        let parsed = try roundTrip(envelope)
        #expect(parsed == envelope)
        #expect(parsed.event == .cancelled(cancelled))
    }
}

@Suite struct DeliveryRoundTripTests {
    static var bodies: [Twinfleet_Bus_V1_Delivery.OneOf_Body] {
        var command = Twinfleet_Bus_V1_CommandDelivery()
        command.command = Fixtures.command(Fixtures.commandKinds[1])
        command.attempt = 2
        var end = Twinfleet_Bus_V1_EndOfPlan()
        end.plannedCommands = 3
        var request = Twinfleet_Bus_V1_ConnectionRequest()
        request.url = "http://192.0.2.1:7547/cr"
        request.username = "acs"
        request.passwordRef = "secret://cr/00D09E-IGD-1234"
        request.requestedAtUs = 1_714_564_800_000_000
        return [.command(command), .endOfPlan(end), .connectionRequest(request)]
    }

    @Test(arguments: bodies)
    func eachBodyRoundTrips(_ body: Twinfleet_Bus_V1_Delivery.OneOf_Body) throws {
        var delivery = Twinfleet_Bus_V1_Delivery()
        delivery.deviceID = "00D09E-IGD-1234"
        delivery.instanceID = "cwmp-ingress-1"
        delivery.sessionID = "s-42"
        delivery.createdAtUs = 1_714_564_800_000_001
        delivery.body = body
        let parsed = try roundTrip(delivery)
        #expect(parsed == delivery)
        #expect(parsed.body == body)
    }

    @Test func anEmptyEndOfPlanIsStillAChoice() throws {
        var delivery = Twinfleet_Bus_V1_Delivery()
        delivery.endOfPlan = Twinfleet_Bus_V1_EndOfPlan()
        #expect(try roundTrip(delivery).body == .endOfPlan(Twinfleet_Bus_V1_EndOfPlan()))
    }
}

@Suite struct ResultAndChangeRoundTripTests {
    @Test func failedResultRoundTrips() throws {
        var result = Twinfleet_Bus_V1_CommandResult()
        result.commandID = "c-1"
        result.deviceID = "00D09E-IGD-1234"
        result.tenantID = "acme"
        result.instanceID = "cwmp-ingress-0"
        result.occurredAtUs = 1_714_564_800_000_000
        result.attempt = 2
        result.status = .failed
        result.error.code = 9003
        result.error.message = "Invalid arguments"
        result.error.retriable = false
        var fault = Twinfleet_Bus_V1_ParameterFault()
        fault.path = "Device.WiFi.Radio.1.Channel"
        fault.code = 9007
        fault.message = "Invalid parameter value"
        result.error.parameterFaults = [fault]
        let parsed = try roundTrip(result)
        #expect(parsed == result)
        #expect(parsed.status == .failed)
        #expect(parsed.error.parameterFaults.first?.code == 9007)
        #expect(!parsed.hasOutputs)
    }

    @Test func succeededResultRoundTrips() throws {
        var result = Twinfleet_Bus_V1_CommandResult()
        result.commandID = "c-2"
        result.status = .succeeded
        result.outputs.parameters = Fixtures.parameters
        result.outputs.instanceNumber = 3
        result.outputs.objectPath = "Device.WiFi.SSID.3."
        result.outputs.outputArgs = ["Status": "Complete"]
        let parsed = try roundTrip(result)
        #expect(parsed == result)
        #expect(!parsed.hasError)
    }

    @Test func statusesHaveStableNumbers() {
        let statuses: [Twinfleet_Bus_V1_CommandStatus] = [.accepted, .delivered, .inProgress, .succeeded, .failed, .notDelivered, .expired, .cancelled]
        #expect(statuses.map(\.rawValue) == Array(1...8))
    }

    @Test func twinChangeRoundTrips() throws {
        var change = Twinfleet_Bus_V1_TwinChange()
        change.deviceID = "00D09E-IGD-1234"
        change.tenantID = "acme"
        change.twinVersion = 42
        change.committedAtUs = 1_714_564_800_000_000
        change.cause.topic = Topic.deviceEvents
        change.cause.partition = 7
        change.cause.offset = 123_456
        change.cause.sourceID = "event-1"
        var updated = Twinfleet_Bus_V1_ParameterChange()
        updated.path = "Device.WiFi.Radio.1.Channel"
        updated.oldValue = Twinfleet_Bus_V1_ParameterValue(.unsignedInt(6))
        updated.newValue = Twinfleet_Bus_V1_ParameterValue(.unsignedInt(11))
        var removed = Twinfleet_Bus_V1_ParameterChange()
        removed.path = "Device.WiFi.SSID.3.SSID"
        removed.oldValue = Twinfleet_Bus_V1_ParameterValue(.string("guest"))
        change.parameterChanges = [updated, removed]
        var field = Twinfleet_Bus_V1_DeviceFieldChange()
        field.field = "software_version"
        field.oldValue = "2.1.0"
        field.newValue = "2.2.0"
        var cleared = Twinfleet_Bus_V1_DeviceFieldChange()
        cleared.field = "connection_request_url"
        cleared.oldValue = ""
        change.deviceFieldChanges = [field, cleared]
        change.presence.online = true
        change.presence.instanceID = "cwmp-ingress-0"

        let parsed = try roundTrip(change)
        #expect(parsed == change)
        #expect(parsed.parameterChanges[1].hasOldValue)
        #expect(!parsed.parameterChanges[1].hasNewValue)  // absent = removed
        #expect(parsed.deviceFieldChanges[1].hasOldValue)  // "" is not "unset"
        #expect(!parsed.deviceFieldChanges[1].hasNewValue)
        #expect(parsed.hasPresence)
    }

    @Test func anomalyRoundTrips() throws {
        var anomaly = Twinfleet_Bus_V1_Anomaly()
        anomaly.anomalyID = "a-1"
        anomaly.deviceID = "00D09E-IGD-1234"
        anomaly.tenantID = "acme"
        anomaly.detectedAtUs = 1_714_564_800_000_000
        anomaly.metric = "reboots_per_day"
        anomaly.observed = 5
        anomaly.baselineMean = 0.2
        anomaly.baselineStddev = 0.4
        anomaly.score = 12
        anomaly.severity = .critical
        anomaly.reason = "reboot count trending up"
        let parsed = try roundTrip(anomaly)
        #expect(parsed == anomaly)
        #expect(parsed.severity == .critical)
    }

    @Test func deadLetterRoundTripsArbitraryBytes() throws {
        var letter = Twinfleet_Bus_V1_DeadLetter()
        letter.sourceTopic = Topic.deviceEvents
        letter.sourcePartition = 11
        letter.sourceOffset = 9_000_000_000
        letter.key = Data("00D09E-IGD-1234".utf8)
        letter.value = Data([0xFF, 0x00, 0x80, 0x7F])  // not valid protobuf: that is why it is here
        letter.headers = [RecordHeader.contentType: Data(RecordHeader.contentType(of: Twinfleet_Bus_V1_DeviceEvent.self).utf8)]
        letter.consumerGroup = "twin-store"
        letter.reason = "truncated message"
        letter.errorCode = "invalid-protobuf"
        letter.failedAtUs = 1_714_564_800_000_000
        let parsed = try roundTrip(letter)
        #expect(parsed == letter)
        #expect(parsed.value == Data([0xFF, 0x00, 0x80, 0x7F]))
    }
}

/// Field numbers are the contract: these bytes must never change within `v1`.
@Suite struct WireStabilityTests {
    @Test func parameterEncoding() throws {
        let parameter = Fixtures.parameter("A.b", .unsignedInt(6), writable: true)
        let bytes: [UInt8] = try parameter.serializedBytes()
        // 1: path "A.b"; 2: value { 3: 6 }; 3: writable true
        #expect(bytes == [0x0A, 0x03, 0x41, 0x2E, 0x62, 0x12, 0x02, 0x18, 0x06, 0x18, 0x01])
    }

    @Test func writableFalseIsEncodedButAbsentIsNot() throws {
        let withFalse: [UInt8] = try Fixtures.parameter("A", .boolean(false), writable: false).serializedBytes()
        let withNil: [UInt8] = try Fixtures.parameter("A", .boolean(false), writable: nil).serializedBytes()
        #expect(withFalse.suffix(2) == [0x18, 0x00])
        #expect(withFalse.count == withNil.count + 2)
    }

    @Test func deviceEventEnvelopeNumbers() throws {
        var event = Twinfleet_Bus_V1_DeviceEvent()
        event.deviceID = "d"
        event.protocol = .usp
        event.valueChange = Twinfleet_Bus_V1_ValueChange()
        let bytes: [UInt8] = try event.serializedBytes()
        // 2: device_id "d"; 4: protocol 2; 14: value_change {}
        #expect(bytes == [0x12, 0x01, 0x64, 0x20, 0x02, 0x72, 0x00])
    }
}
