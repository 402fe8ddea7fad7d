import Foundation
import SwiftProtobuf
import Testing
@testable import USPCodec

@Suite struct RecordDecodingTests {
    let decoder = USPRecordDecoder(controllerEndpointID: Fixtures.controllerID)

    @Test func noSessionContextCarriesTheMessage() throws {
        let message = USPMessages.get(msgID: "m1", paths: ["Device."])
        let record = try decoder.decode(Fixtures.noSessionRecord(message), expectedSender: Fixtures.agentID)
        #expect(record.version == .v1_3)
        #expect(record.fromID == Fixtures.agentID)
        #expect(record.toID == Fixtures.controllerID)
        guard case .message(let payload) = record.content else {
            Issue.record("expected a message, got \(record.content)")
            return
        }
        #expect(try Usp_Msg(serializedBytes: payload) == message)
    }

    @Test func connectAndDisconnectRecords() throws {
        #expect(try decoder.decode(Fixtures.record(.websocketConnect(UspRecord_WebSocketConnectRecord()))).content == .webSocketConnect)

        var mqtt = UspRecord_MQTTConnectRecord()
        mqtt.version = .v5
        mqtt.subscribedTopic = "usp/agent/os::012345"
        #expect(try decoder.decode(Fixtures.record(.mqttConnect(mqtt))).content == .mqttConnect(version: .v5, subscribedTopic: "usp/agent/os::012345"))

        var stomp = UspRecord_STOMPConnectRecord()
        stomp.subscribedDestination = "/queue/agent"
        #expect(try decoder.decode(Fixtures.record(.stompConnect(stomp))).content == .stompConnect(subscribedDestination: "/queue/agent"))

        var disconnect = UspRecord_DisconnectRecord()
        disconnect.reason = "rebooting"
        disconnect.reasonCode = 7105
        #expect(try decoder.decode(Fixtures.record(.disconnect(disconnect))).content == .disconnect(reason: "rebooting", code: .sessionContextTerminated))
    }

    @Test func newerMinorVersionsAreAccepted() throws {
        let bytes = Fixtures.record(.websocketConnect(UspRecord_WebSocketConnectRecord()), version: "1.12")
        #expect(try decoder.decode(bytes).version == USPProtocolVersion(major: 1, minor: 12))
    }

    typealias Refusal = (bytes: [UInt8], code: USPRecordError.Code, action: USPRecordError.Action)

    static let refusals: [Refusal] = [
        (Fixtures.record(.websocketConnect(.init()), version: ""), .unsupportedVersion, .disconnect(.recordFieldInvalid)),
        (Fixtures.record(.websocketConnect(.init()), version: "2.0"), .unsupportedVersion, .disconnect(.recordFieldInvalid)),
        (Fixtures.record(.websocketConnect(.init()), version: "1.x"), .unsupportedVersion, .disconnect(.recordFieldInvalid)),
        (Fixtures.record(.websocketConnect(.init()), to: ""), .missingToID, .ignore),
        (Fixtures.record(.websocketConnect(.init()), to: "self::someone-else"), .wrongRecipient, .ignore),
        (Fixtures.record(.websocketConnect(.init()), from: ""), .missingFromID, .ignore),
        (Fixtures.record(.sessionContext(UspRecord_SessionContextRecord())), .sessionContextNotSupported, .disconnect(.sessionContextNotAllowed)),
        (Fixtures.record(.noSessionContext(.init()), security: .tls12), .payloadSecurityNotSupported, .disconnect(.recordFieldInvalid)),
        (Fixtures.record(.noSessionContext(.init())), .emptyPayload, .ignore),
        (Fixtures.record(nil), .unsupportedRecordType, .ignore),
        (Fixtures.record(.udsConnect(.init())), .unsupportedRecordType, .ignore),
        ([0x0A, 0x05, 0x31], .notProtobuf, .ignore),
        ([0xFF, 0xFF, 0xFF], .notProtobuf, .ignore),
        // version (a string) sent as a varint: SwiftProtobuf keeps a field of the wrong wire type
        // as an unknown field, so what is left is a record without from_id.
        ([0x08, 0x01], .missingFromID, .ignore),
        // from_id with invalid UTF-8.
        ([0x1A, 0x02, 0xC3, 0x28], .notProtobuf, .ignore),
    ]

    /// Each refusal has its code and the action TR-369 asks for.
    @Test func refusals() throws {
        for refusal in Self.refusals {
            let error = try #require(throws: USPRecordError.self) { try decoder.decode(refusal.bytes) }
            #expect(error.code == refusal.code, "\(error)")
            #expect(error.action == refusal.action, "\(error)")
            #expect(!error.message.isEmpty)
        }
    }

    @Test func refusedRecordsNameTheirSender() throws {
        let error = try #require(throws: USPRecordError.self) {
            try decoder.decode(Fixtures.record(.sessionContext(UspRecord_SessionContextRecord())))
        }
        #expect(error.fromID == Fixtures.agentID)
        #expect(error.message.contains("SessionContext"))
    }

    @Test func oversizedRecordsAreNotParsed() throws {
        let small = USPRecordDecoder(controllerEndpointID: Fixtures.controllerID, limits: USPLimits(maxRecordBytes: 64))
        var body = UspRecord_NoSessionContextRecord()
        body.payload = Data(repeating: 0x41, count: 100)
        let error = try #require(throws: USPRecordError.self) { try small.decode(Fixtures.record(.noSessionContext(body))) }
        #expect(error.code == .tooLarge)
        #expect(error.action == .ignore)
        #expect(error.fromID == nil)
    }

    @Test func recordsFromAnotherAgentThanTheConnectionAreRefused() throws {
        let bytes = Fixtures.record(.websocketConnect(.init()))
        let error = try #require(throws: USPRecordError.self) { try decoder.decode(bytes, expectedSender: "os::other") }
        #expect(error.code == .unexpectedSender)
        #expect(try decoder.decode(Data(bytes), expectedSender: Fixtures.agentID).content == .webSocketConnect)
    }

    @Test func inconsistentLengthsAreRefused() {
        // 10 000 length-delimited field-7 headers whose lengths overlap each other.
        var bytes: [UInt8] = []
        for _ in 0..<10_000 { bytes += [0x3A, 0x7F] }
        #expect(throws: USPRecordError.self) { try decoder.decode(bytes) }
    }
}

@Suite struct RecordEncodingTests {
    let encoder = USPRecordEncoder(controllerEndpointID: Fixtures.controllerID)
    let agentSide = USPRecordDecoder(controllerEndpointID: Fixtures.agentID)

    /// What the controller sends, read back by a decoder in the agent's place.
    @Test func everyRecordKindRoundTrips() throws {
        let message = USPMessages.operate(msgID: "m2", command: "Device.Reboot()", commandKey: "k")
        guard case .message(let payload) = try agentSide.decode(encoder.encode(message, to: Fixtures.agentID)).content else {
            Issue.record("no message")
            return
        }
        #expect(try Usp_Msg(serializedBytes: payload) == message)
        #expect(try agentSide.decode(encoder.webSocketConnect(to: Fixtures.agentID)).content == .webSocketConnect)
        #expect(try agentSide.decode(encoder.mqttConnect(to: Fixtures.agentID, version: .v3_1_1, subscribedTopic: "usp/controller")).content
            == .mqttConnect(version: .v3_1_1, subscribedTopic: "usp/controller"))
        #expect(try agentSide.decode(encoder.stompConnect(to: Fixtures.agentID, subscribedDestination: "/queue/c")).content
            == .stompConnect(subscribedDestination: "/queue/c"))
        #expect(try agentSide.decode(encoder.disconnect(to: Fixtures.agentID, code: .recordNotParsed, reason: "bye")).content
            == .disconnect(reason: "bye", code: .recordNotParsed))
    }

    @Test func headerFieldsAreTheControllers() throws {
        let record = try UspRecord_Record(serializedBytes: encoder.webSocketConnect(to: Fixtures.agentID))
        #expect(record.version == "1.3")
        #expect(record.fromID == Fixtures.controllerID)
        #expect(record.toID == Fixtures.agentID)
        #expect(record.payloadSecurity == .plaintext)
        let newer = USPRecordEncoder(controllerEndpointID: Fixtures.controllerID, version: .v1_4)
        #expect(try UspRecord_Record(serializedBytes: newer.webSocketConnect(to: Fixtures.agentID)).version == "1.4")
    }

    @Test func disconnectAnswersARefusalThatAsksForIt() throws {
        let decoder = USPRecordDecoder(controllerEndpointID: Fixtures.controllerID)
        let refused = try #require(throws: USPRecordError.self) {
            try decoder.decode(Fixtures.record(.sessionContext(UspRecord_SessionContextRecord())))
        }
        let bytes = try #require(try encoder.disconnect(answering: refused))
        let record = try UspRecord_Record(serializedBytes: bytes)
        #expect(record.toID == Fixtures.agentID)
        #expect(record.disconnect.reasonCode == 7106)
        #expect(record.disconnect.reason == refused.message)

        let ignored = try #require(throws: USPRecordError.self) { try decoder.decode([0xFF]) }
        #expect(try encoder.disconnect(answering: ignored) == nil)
    }

    @Test func protocolVersionsParseStrictly() {
        #expect(USPProtocolVersion(parsing: "1.4") == .v1_4)
        for bad in ["", "1", "1.", ".3", "1.3.0", "+1.3", "1.-3", " 1.3", "１.3", "99999999999.1"] {
            #expect(USPProtocolVersion(parsing: bad) == nil, "\(bad)")
        }
        #expect(USPProtocolVersion.v1_3 < .v1_4)
        #expect(USPProtocolVersion.supported.map(\.description) == ["1.3", "1.4"])
    }
}
