import BusContracts
import Foundation
import SwiftProtobuf
import Testing
@testable import USPCodec

/// Random damage to real records and messages never crashes the decoders; whatever still decodes
/// can be mapped to results and events without trapping.
@Suite struct FuzzTests {
    /// SplitMix64: small, deterministic, good enough to spread mutations.
    struct Random {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        mutating func below(_ bound: Int) -> Int { Int(next() % UInt64(max(bound, 1))) }
    }

    /// Bytes that matter to protobuf: tags of common fields, length prefixes, varint continuation.
    static let interesting: [UInt8] = [0x00, 0x01, 0x08, 0x0A, 0x12, 0x1A, 0x22, 0x2A, 0x3A, 0x42, 0x7F, 0x80, 0xFF, 0xC3, 0x0D, 0x15]

    static func mutate(_ input: [UInt8], _ random: inout Random) -> [UInt8] {
        var bytes = input
        for _ in 0...random.below(4) {
            guard !bytes.isEmpty else { break }
            switch random.below(6) {
            case 0: bytes = Array(bytes.prefix(random.below(bytes.count)))
            case 1: bytes[random.below(bytes.count)] ^= UInt8(1 << random.below(8))
            case 2: bytes[random.below(bytes.count)] = interesting[random.below(interesting.count)]
            case 3: bytes.insert(interesting[random.below(interesting.count)], at: random.below(bytes.count))
            case 4: bytes.remove(at: random.below(bytes.count))
            default:
                let start = random.below(bytes.count)
                let end = min(bytes.count, start + random.below(64))
                bytes.insert(contentsOf: bytes[start..<end], at: random.below(bytes.count))
            }
        }
        return bytes
    }

    /// Agent messages of every kind the decoder reads.
    static var seedMessages: [Usp_Msg] {
        var complete = Usp_Notify.OperationComplete()
        complete.objPath = "Device.DeviceInfo.FirmwareImage.2."
        complete.commandName = "Download()"
        complete.commandKey = "fw"
        complete.cmdFailure.errCode = 7022
        var boot = Usp_Notify.Event()
        boot.objPath = "Device."
        boot.eventName = "Boot!"
        boot.params = ["Cause": "LocalReboot", "FirmwareUpdated": "false", "ParameterMap": #"{"Device.DeviceInfo.SoftwareVersion":"1.0","Device.X":"\u0041"}"#]
        var change = Usp_Notify.ValueChange()
        change.paramPath = "Device.WiFi.Radio.1.Channel"
        change.paramValue = "6"
        var async = Usp_OperateResp.OperationResult()
        async.executedCommand = "Device.Reboot()"
        async.reqObjPath = "Device.LocalAgent.Request.1."
        var operate = Usp_OperateResp()
        operate.operationResults = [async]
        var created = Usp_AddResp.CreatedObjectResult()
        created.requestedPath = "Device.WiFi.SSID."
        created.operStatus.operSuccess.instantiatedPath = "Device.WiFi.SSID.2."
        var add = Usp_AddResp()
        add.createdObjResults = [created]
        var error = Usp_Msg()
        error.header.msgID = "tf/cmd/1/0/c1"
        error.header.msgType = .error
        error.body.error.errCode = 7004
        error.body.error.errMsg = "bad"
        return [
            Fixtures.notify(.event(boot)), Fixtures.notify(.valueChange(change)), Fixtures.notify(.operComplete(complete)),
            Fixtures.response("tf/cmd/1/0/c1", .getResp, .getResp(Fixtures.getResp)),
            Fixtures.response("tf/cmd/1/0/c1", .operateResp, .operateResp(operate)),
            Fixtures.response("tf/cmd/1/0/c1", .addResp, .addResp(add)),
            error,
        ]
    }

    @Test func mutatedRecordsNeverCrash() throws {
        let seeds = Self.seedMessages.map(Fixtures.noSessionRecord) + [
            Fixtures.record(.websocketConnect(.init())), Fixtures.record(.disconnect(.init())),
            Fixtures.record(.mqttConnect(.init())), Fixtures.record(.sessionContext(.init())),
        ]
        let records = USPRecordDecoder(controllerEndpointID: Fixtures.controllerID)
        let messages = USPMessageDecoder()
        let encoder = USPRecordEncoder(controllerEndpointID: Fixtures.controllerID)
        var random = Random(state: 0x5EED_CAFE)
        var decoded = 0, refused = 0
        for _ in 0..<6000 {
            do {
                let record = try records.decode(Self.mutate(seeds[random.below(seeds.count)], &random))
                decoded += 1
                if case .message(let payload) = record.content, let message = try? messages.decode(payload) {
                    exercise(message)
                }
            } catch {
                refused += 1
                #expect(!error.message.isEmpty)
                _ = try encoder.disconnect(answering: error)
            }
        }
        // Both outcomes must occur, or the mutations test nothing (a run gives about 400 / 5600).
        #expect(decoded > 200)
        #expect(refused > 2000)
    }

    @Test func mutatedMessagesNeverCrash() throws {
        var options = BinaryEncodingOptions()
        options.useDeterministicOrdering = true
        let seeds = try Self.seedMessages.map { try $0.serializedBytes(options: options) as [UInt8] }
        let messages = USPMessageDecoder()
        var random = Random(state: 0xFACE_FEED)
        var decoded = 0, refused = 0
        for _ in 0..<6000 {
            do {
                let message = try messages.decode(Self.mutate(seeds[random.below(seeds.count)], &random))
                decoded += 1
                exercise(message)
            } catch {
                refused += 1
                #expect(!error.message.isEmpty)
                _ = error.errorResponse()
            }
        }
        // A run gives about 450 decoded and 5550 refused.
        #expect(decoded > 200)
        #expect(refused > 2000)
    }

    @Test func randomBytesNeverCrash() {
        let records = USPRecordDecoder(controllerEndpointID: Fixtures.controllerID)
        let messages = USPMessageDecoder()
        var random = Random(state: 42)
        for _ in 0..<3000 {
            let bytes = (0..<random.below(96)).map { _ in UInt8(truncatingIfNeeded: random.next()) }
            _ = try? records.decode(bytes)
            if let message = try? messages.decode(bytes) { exercise(message) }
        }
    }

    @Test func mutatedParameterMapsNeverCrash() {
        let seed = Array(#"{"Device.DeviceInfo.SoftwareVersion":"2.1","Device.A":-1.5e3,"Device.B":true,"Device.C":null,"Device.D":"\ud83d\ude00\n"}"#.utf8)
        var random = Random(state: 7)
        var parsed = 0, refused = 0
        for _ in 0..<3000 {
            let text = String(decoding: Self.mutate(seed, &random), as: UTF8.self)
            do {
                _ = try USPBootEvent(USPEvent(objectPath: "Device.", name: "Boot!", arguments: ["ParameterMap": text]))
                parsed += 1
            } catch {
                refused += 1
                #expect(error.code == .invalidArgument)
            }
        }
        #expect(parsed > 50)
        #expect(refused > 50)
    }

    /// Runs every mapping a decoded message can go through.
    private func exercise(_ message: USPAgentMessage) {
        let commands = Fixtures.translatableKinds.map { Fixtures.command($0) }
        switch message.body {
        case .notify(let notify):
            _ = try? USPDeviceEvents.event(for: notify, envelope: USPEventEnvelope(eventID: "e", deviceID: "d", tenantID: "t", occurredAtUs: 0, sourceInstance: "i"),
                                           typeLookup: Fixtures.typeLookup)
            _ = USPMessages.notifyResponse(to: message)
            if case .operationComplete(let completion) = notify.notification {
                _ = USPCommandResults.result(for: completion, command: commands[0], context: Fixtures.context)
            }
        case .response, .error:
            for command in commands {
                _ = USPCommandResults.result(for: message, command: command, context: Fixtures.context, typeLookup: Fixtures.typeLookup)
            }
        }
        _ = message.answeredRequest
    }
}
