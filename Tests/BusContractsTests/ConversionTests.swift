import BusContracts
import Foundation
import SwiftProtobuf
import Testing
import TwinfleetModel

@Suite struct ValueConversionTests {
    typealias ProtoValue = Twinfleet_Bus_V1_ParameterValue

    static let cases: [(ParameterValue, ProtoValue.OneOf_Value)] = [
        (.string("guest"), .stringValue("guest")),
        (.string(""), .stringValue("")),
        (.int(-42), .intValue(-42)),
        (.int(.min), .intValue(.min)),
        (.unsignedInt(.max), .unsignedIntValue(.max)),
        (.long(.min), .longValue(.min)),
        (.unsignedLong(.max), .unsignedLongValue(.max)),
        (.boolean(false), .booleanValue(false)),
        (.boolean(true), .booleanValue(true)),
        (.dateTime(Date(timeIntervalSince1970: 1_714_564_800.123456)), .dateTimeUs(1_714_564_800_123_456)),
        (.dateTime(ParameterValue.unknownTime), .dateTimeUs(-62_135_596_800_000_000)),
        (.dateTime(Date(timeIntervalSince1970: -0.5)), .dateTimeUs(-500_000)),
        (.base64(Data("hello".utf8)), .base64Value(Data("hello".utf8))),
        (.base64(Data()), .base64Value(Data())),
        (.hexBinary(Data([0xDE, 0xAD])), .hexBinaryValue(Data([0xDE, 0xAD]))),
        (.decimal("-12.50"), .decimalValue("-12.50")),
    ]

    @Test(arguments: cases)
    func modelToProtoAndBack(_ model: ParameterValue, _ expected: ProtoValue.OneOf_Value) throws {
        let proto = ProtoValue(model)
        #expect(proto.value == expected)
        #expect(try ParameterValue(proto) == model)
        // And through the bytes: a zero or empty value must still arrive as its own type.
        let parsed = try ProtoValue(serializedBytes: try proto.serializedBytes() as [UInt8])
        #expect(try ParameterValue(parsed) == model)
        #expect(try ParameterValue(parsed).type == model.type)
    }

    @Test func everyModelTypeIsCovered() {
        #expect(Set(Self.cases.map(\.0.type)) == Set(ParameterType.allCases))
    }

    @Test func emptyOneofIsRefused() {
        let error = #expect(throws: ContractError.self) { try ParameterValue(ProtoValue()) }
        #expect(error?.code == .missingValue)
        #expect(error?.message.contains("empty oneof") == true)
    }

    @Test func aNewerProducersChoiceIsRefusedAndExplained() throws {
        // Field 11 (wire type 2) is not a choice of this version: it lands in unknownFields.
        let proto = try ProtoValue(serializedBytes: [0x5A, 0x01, 0x41] as [UInt8])
        #expect(proto.value == nil)
        let error = #expect(throws: ContractError.self) { try ParameterValue(proto) }
        #expect(error?.code == .missingValue)
        #expect(error?.message.contains("3 bytes of unknown fields") == true)
    }

    @Test func malformedDecimalIsRefused() {
        var proto = ProtoValue()
        proto.decimalValue = "1e5"
        let error = #expect(throws: ContractError.self) { try ParameterValue(proto) }
        #expect(error?.code == .invalidField)
        #expect(error?.underlying?.code == .invalidValue)
        #expect(error?.message.contains("decimal_value") == true)
    }
}

@Suite struct ParameterConversionTests {
    @Test(arguments: [Bool?.none, true, false])
    func writabilityIsPreserved(_ writable: Bool?) throws {
        let model = Parameter(path: try ParameterPath(validating: "Device.WiFi.Radio.1.Channel"), value: .unsignedInt(6), writable: writable)
        let proto = Twinfleet_Bus_V1_Parameter(model)
        #expect(proto.path == "Device.WiFi.Radio.1.Channel")
        #expect(proto.hasWritable == (writable != nil))
        let parsed = try Twinfleet_Bus_V1_Parameter(serializedBytes: try proto.serializedBytes() as [UInt8])
        #expect(try Parameter(parsed) == model)
        #expect(try Parameter(parsed).writable == writable)
    }

    @Test func invalidPathIsRefused() {
        var proto = Twinfleet_Bus_V1_Parameter()
        proto.path = "Device..WiFi"
        proto.value = Twinfleet_Bus_V1_ParameterValue(.boolean(true))
        let error = #expect(throws: ContractError.self) { try Parameter(proto) }
        #expect(error?.code == .invalidField)
        #expect(error?.underlying?.code == .invalidPath)
    }

    @Test func missingValueIsRefusedNamingThePath() {
        var proto = Twinfleet_Bus_V1_Parameter()
        proto.path = "Device.WiFi.Radio.1.Channel"
        let error = #expect(throws: ContractError.self) { try Parameter(proto) }
        #expect(error?.code == .missingValue)
        #expect(error?.message.contains("Device.WiFi.Radio.1.Channel") == true)
    }

    @Test func emptyValueIsRefusedNamingThePath() {
        var proto = Twinfleet_Bus_V1_Parameter()
        proto.path = "Device.WiFi.Radio.1.Channel"
        proto.value = Twinfleet_Bus_V1_ParameterValue()
        let error = #expect(throws: ContractError.self) { try Parameter(proto) }
        #expect(error?.code == .missingValue)
        #expect(error?.message.hasPrefix("parameter Device.WiFi.Radio.1.Channel: ") == true)
    }

    @Test func listsConvertWithTypedThrows() throws {
        let models = try Fixtures.parameters.map { try Parameter($0) }
        #expect(models.map { Twinfleet_Bus_V1_Parameter($0) } == Fixtures.parameters)
    }
}

@Suite struct ProtocolAndTimeConversionTests {
    @Test(arguments: DeviceProtocol.allCases)
    func protocolRoundTrips(_ deviceProtocol: DeviceProtocol) throws {
        let proto = Twinfleet_Bus_V1_DeviceProtocol(deviceProtocol)
        #expect(try DeviceProtocol(proto) == deviceProtocol)
    }

    @Test func protocolNumbers() {
        #expect(Twinfleet_Bus_V1_DeviceProtocol(.cwmp).rawValue == 1)
        #expect(Twinfleet_Bus_V1_DeviceProtocol(.usp).rawValue == 2)
    }

    @Test func unspecifiedProtocolIsRefused() {
        let error = #expect(throws: ContractError.self) { try DeviceProtocol(.unspecified) }
        #expect(error?.code == .missingValue)
    }

    @Test func unknownProtocolIsRefused() throws {
        var event = Twinfleet_Bus_V1_DeviceEvent()
        event.protocol = .UNRECOGNIZED(7)
        let parsed = try roundTrip(event)
        #expect(parsed.protocol == .UNRECOGNIZED(7))
        let error = #expect(throws: ContractError.self) { try DeviceProtocol(parsed.protocol) }
        #expect(error?.code == .unknownEnumValue)
        #expect(error?.message.contains("7") == true)
    }

    @Test func unixMicroseconds() {
        #expect(Date(timeIntervalSince1970: 0).unixMicroseconds == 0)
        #expect(Date(timeIntervalSince1970: 1_714_564_800.123456).unixMicroseconds == 1_714_564_800_123_456)
        #expect(Date(timeIntervalSince1970: -1.5).unixMicroseconds == -1_500_000)
        #expect(ParameterValue.unknownTime.unixMicroseconds == -62_135_596_800_000_000)
        #expect(Date(unixMicroseconds: 1_714_564_800_123_456) == Date(timeIntervalSince1970: 1_714_564_800.123456))
        #expect(Date(timeIntervalSince1970: 1e300).unixMicroseconds == .max)
        #expect(Date(timeIntervalSince1970: -1e300).unixMicroseconds == .min)
    }

    @Test func microsecondsRoundTripForRecentTimes() {
        for micros: Int64 in [1, 999_999, 1_714_564_800_000_001, 1_714_564_800_999_999, 4_102_444_800_123_457] {
            #expect(Date(unixMicroseconds: micros).unixMicroseconds == micros)
        }
    }
}
