import Foundation
import Testing
import TwinfleetModel

/// 2024-05-01T12:00:00Z.
private let mayDay = Date(timeIntervalSince1970: 1_714_564_800)

@Suite struct ParameterValueParsingTests {
    struct Good: Sendable, CustomTestStringConvertible {
        let text: String
        let type: ParameterType
        let expected: ParameterValue
        var testDescription: String { "\(type.xsdName) \(text.debugDescription)" }
    }

    static let good: [Good] = [
        Good(text: " keep  spaces ", type: .string, expected: .string(" keep  spaces ")),
        Good(text: "", type: .string, expected: .string("")),
        Good(text: "42", type: .int, expected: .int(42)),
        Good(text: " -7\r\n", type: .int, expected: .int(-7)),
        Good(text: "+7", type: .int, expected: .int(7)),
        Good(text: "2147483647", type: .int, expected: .int(.max)),
        Good(text: "-2147483648", type: .int, expected: .int(.min)),
        Good(text: "0", type: .unsignedInt, expected: .unsignedInt(0)),
        Good(text: "4294967295", type: .unsignedInt, expected: .unsignedInt(.max)),
        Good(text: "-0", type: .unsignedInt, expected: .unsignedInt(0)),
        Good(text: "007", type: .unsignedInt, expected: .unsignedInt(7)),
        Good(text: "-9223372036854775808", type: .long, expected: .long(.min)),
        Good(text: "9223372036854775807", type: .long, expected: .long(.max)),
        Good(text: "18446744073709551615", type: .unsignedLong, expected: .unsignedLong(.max)),
        Good(text: "1", type: .boolean, expected: .boolean(true)),
        Good(text: "0", type: .boolean, expected: .boolean(false)),
        Good(text: "TRUE", type: .boolean, expected: .boolean(true)),
        Good(text: " False ", type: .boolean, expected: .boolean(false)),
        Good(text: "2024-05-01T12:00:00Z", type: .dateTime, expected: .dateTime(mayDay)),
        Good(text: "2024-05-01T12:00:00", type: .dateTime, expected: .dateTime(mayDay)),
        Good(text: "2024-05-01t12:00:00z", type: .dateTime, expected: .dateTime(mayDay)),
        Good(text: "2024-05-01 12:00:00Z", type: .dateTime, expected: .dateTime(mayDay)),
        Good(text: "2024-05-01T14:00:00+02:00", type: .dateTime, expected: .dateTime(mayDay)),
        Good(text: "2024-05-01T10:30:00-0130", type: .dateTime, expected: .dateTime(mayDay)),
        Good(text: "2024-05-01T17:00:00+05", type: .dateTime, expected: .dateTime(mayDay)),
        Good(text: "2024-05-01T12:00:00.000Z", type: .dateTime, expected: .dateTime(mayDay)),
        Good(text: "2024-05-01T12:00:00.25Z", type: .dateTime, expected: .dateTime(mayDay + 0.25)),
        Good(text: "2024-05-01T12:00:00.1234565Z", type: .dateTime, expected: .dateTime(Date(timeIntervalSince1970: 1_714_564_800.123457))),
        Good(text: "\t2024-05-01T12:00:00Z ", type: .dateTime, expected: .dateTime(mayDay)),
        Good(text: "0001-01-01T00:00:00Z", type: .dateTime, expected: .dateTime(ParameterValue.unknownTime)),
        Good(text: "1970-01-01T00:00:00Z", type: .dateTime, expected: .dateTime(Date(timeIntervalSince1970: 0))),
        Good(text: "2001-01-01T00:00:00Z", type: .dateTime, expected: .dateTime(Date(timeIntervalSinceReferenceDate: 0))),
        Good(text: "1969-12-31T23:59:59.5Z", type: .dateTime, expected: .dateTime(Date(timeIntervalSince1970: -0.5))),
        Good(text: "2024-02-29T00:00:00Z", type: .dateTime, expected: .dateTime(Date(timeIntervalSince1970: 1_709_164_800))),
        Good(text: "2000-02-29T00:00:00Z", type: .dateTime, expected: .dateTime(Date(timeIntervalSince1970: 951_782_400))),
        Good(text: "aGVsbG8=", type: .base64, expected: .base64(Data("hello".utf8))),
        Good(text: "aGVs\r\nbG8=\n", type: .base64, expected: .base64(Data("hello".utf8))),
        Good(text: "", type: .base64, expected: .base64(Data())),
        Good(text: "DEADbeef", type: .hexBinary, expected: .hexBinary(Data([0xDE, 0xAD, 0xBE, 0xEF]))),
        Good(text: " 00ff ", type: .hexBinary, expected: .hexBinary(Data([0x00, 0xFF]))),
        Good(text: "", type: .hexBinary, expected: .hexBinary(Data())),
        Good(text: "-12.50", type: .decimal, expected: .decimal("-12.50")),
        Good(text: " 3.14 ", type: .decimal, expected: .decimal("3.14")),
        Good(text: "+1", type: .decimal, expected: .decimal("+1")),
        Good(text: ".5", type: .decimal, expected: .decimal(".5")),
        Good(text: "1.", type: .decimal, expected: .decimal("1.")),
    ]

    @Test(arguments: good)
    func acceptsWhatDevicesSend(_ example: Good) throws {
        let value = try ParameterValue(parsing: example.text, as: example.type)
        #expect(value == example.expected)
        #expect(value.type == example.type)
    }

    struct Bad: Sendable, CustomTestStringConvertible {
        let text: String
        let type: ParameterType
        let detail: String
        var testDescription: String { "\(type.xsdName) \(text.debugDescription)" }
    }

    static let bad: [Bad] = [
        Bad(text: "", type: .int, detail: "empty text"),
        Bad(text: "-", type: .int, detail: "no digits"),
        Bad(text: "4 2", type: .int, detail: "unexpected character at byte 1"),
        Bad(text: "0x10", type: .int, detail: "unexpected character at byte 1"),
        Bad(text: "1.0", type: .int, detail: "not a decimal integer"),
        Bad(text: "2147483648", type: .int, detail: "out of range -2147483648...2147483647"),
        Bad(text: "-2147483649", type: .int, detail: "out of range"),
        Bad(text: "-1", type: .unsignedInt, detail: "out of range 0...4294967295"),
        Bad(text: "4294967296", type: .unsignedInt, detail: "out of range"),
        Bad(text: "9223372036854775808", type: .long, detail: "out of range"),
        Bad(text: "18446744073709551616", type: .unsignedLong, detail: "out of range"),
        Bad(text: "yes", type: .boolean, detail: "expected 1, 0, true or false"),
        Bad(text: "2", type: .boolean, detail: "expected 1, 0, true or false"),
        Bad(text: "", type: .boolean, detail: "expected 1, 0, true or false"),
        Bad(text: "", type: .dateTime, detail: "digit of the year"),
        Bad(text: "2024-05-01", type: .dateTime, detail: "expected 'T'"),
        Bad(text: "24-05-01T12:00:00Z", type: .dateTime, detail: "digit of the year"),
        Bad(text: "2024-13-01T12:00:00Z", type: .dateTime, detail: "month 13"),
        Bad(text: "2024-00-01T12:00:00Z", type: .dateTime, detail: "month 0"),
        Bad(text: "2023-02-29T12:00:00Z", type: .dateTime, detail: "day 29 does not exist in 2023-02"),
        Bad(text: "1900-02-29T12:00:00Z", type: .dateTime, detail: "day 29 does not exist"),
        Bad(text: "2024-04-31T12:00:00Z", type: .dateTime, detail: "day 31 does not exist"),
        Bad(text: "2024-05-01T24:00:00Z", type: .dateTime, detail: "hour 24"),
        Bad(text: "2024-05-01T12:60:00Z", type: .dateTime, detail: "minute 60"),
        Bad(text: "2024-05-01T12:00:00.Z", type: .dateTime, detail: "fraction digits"),
        Bad(text: "2024-05-01T12:00:00Zjunk", type: .dateTime, detail: "unexpected \"j\" at byte 20"),
        Bad(text: "2024-05-01T12:00:00+2", type: .dateTime, detail: "offset hours"),
        Bad(text: "2024-05-01T12:00:00+15:00", type: .dateTime, detail: "offset 15:0 is out of range"),
        Bad(text: "0000-00-00T00:00:00Z", type: .dateTime, detail: "month 0"),
        Bad(text: "aGVsbG8", type: .base64, detail: "padding"),
        Bad(text: "a*==", type: .base64, detail: "\"*\" is not a base64 character"),
        Bad(text: "aGVsbG8=_", type: .base64, detail: "\"_\" is not a base64 character"),
        Bad(text: "abc", type: .hexBinary, detail: "odd number of hex digits"),
        Bad(text: "0g", type: .hexBinary, detail: "not a hex digit at byte 1"),
        Bad(text: "de ad", type: .hexBinary, detail: "not a hex digit at byte 2"),
        Bad(text: "", type: .decimal, detail: "empty text"),
        Bad(text: ".", type: .decimal, detail: "no digits"),
        Bad(text: "1e5", type: .decimal, detail: "unexpected character at byte 1"),
        Bad(text: "1.2.3", type: .decimal, detail: "unexpected character at byte 3"),
        Bad(text: "abc", type: .decimal, detail: "no digits"),
    ]

    @Test(arguments: bad)
    func refusesWithAPreciseError(_ example: Bad) {
        let error = #expect(throws: ModelError.self) { try ParameterValue(parsing: example.text, as: example.type) }
        #expect(error?.code == .invalidValue)
        #expect(error?.message.contains(example.type.xsdName) == true)
        #expect(error?.message.contains(example.detail) == true, "\(error?.message ?? "no error") should mention \(example.detail)")
    }
}

@Suite struct ParameterValueWireTests {
    static let values: [ParameterValue] = [
        .string(""), .string(" Hello, Wörld \n"),
        .int(0), .int(.min), .int(.max), .int(-42),
        .unsignedInt(0), .unsignedInt(.max),
        .long(.min), .long(.max), .unsignedLong(.max),
        .boolean(true), .boolean(false),
        .dateTime(mayDay), .dateTime(ParameterValue.unknownTime), .dateTime(Date(timeIntervalSince1970: 0)),
        .dateTime(Date(timeIntervalSince1970: 1_714_564_800.123456)), .dateTime(Date(timeIntervalSince1970: -1.25)),
        .dateTime(Date(timeIntervalSince1970: 253_402_300_799)),  // 9999-12-31T23:59:59Z
        .base64(Data()), .base64(Data((0...255).map { UInt8($0) })),
        .hexBinary(Data()), .hexBinary(Data([0x00, 0x0A, 0xFF])),
        .decimal("-12.50"), .decimal("0"),
    ]

    @Test(arguments: values)
    func roundTripsThroughWireString(_ value: ParameterValue) throws {
        #expect(try ParameterValue(parsing: value.wireString, as: value.type) == value)
    }

    @Test(arguments: values)
    func roundTripsThroughJSON(_ value: ParameterValue) throws {
        let json = try JSONEncoder().encode(value)
        #expect(try JSONDecoder().decode(ParameterValue.self, from: json) == value)
    }

    @Test func canonicalForms() {
        #expect(ParameterValue.boolean(true).wireString == "true")
        #expect(ParameterValue.boolean(false).wireString == "false")
        #expect(ParameterValue.int(-5).wireString == "-5")
        #expect(ParameterValue.unsignedLong(.max).wireString == "18446744073709551615")
        #expect(ParameterValue.hexBinary(Data([0xDE, 0xAD, 0x0F])).wireString == "dead0f")
        #expect(ParameterValue.base64(Data("hello?".utf8)).wireString == "aGVsbG8/")
        #expect(ParameterValue.base64(Data([0xFB, 0xFF])).wireString == "+/8=")
    }

    @Test func dateTimeForms() {
        #expect(ParameterValue.dateTime(mayDay).wireString == "2024-05-01T12:00:00Z")
        #expect(ParameterValue.dateTime(mayDay + 0.5).wireString == "2024-05-01T12:00:00.5Z")
        #expect(ParameterValue.dateTime(Date(timeIntervalSince1970: 1_714_564_800.000001)).wireString == "2024-05-01T12:00:00.000001Z")
        #expect(ParameterValue.dateTime(ParameterValue.unknownTime).wireString == "0001-01-01T00:00:00Z")
        #expect(ParameterValue.dateTime(Date(timeIntervalSince1970: -0.5)).wireString == "1969-12-31T23:59:59.5Z")
        #expect(ParameterValue.dateTime(Date(timeIntervalSince1970: 951_782_400)).wireString == "2000-02-29T00:00:00Z")
    }

    @Test func jsonShape() throws {
        let json = try JSONEncoder().encode(ParameterValue.unsignedInt(6))
        let object = try JSONSerialization.jsonObject(with: json) as? [String: String]
        #expect(object == ["type": "unsignedInt", "value": "6"])
        #expect(throws: DecodingError.self) {
            try JSONDecoder().decode(ParameterValue.self, from: Data(#"{"type":"unsignedInt","value":"-1"}"#.utf8))
        }
        #expect(throws: DecodingError.self) {
            try JSONDecoder().decode(ParameterValue.self, from: Data(#"{"type":"float","value":"1"}"#.utf8))
        }
    }

    @Test func parameterCodable() throws {
        let parameter = Parameter(path: try ParameterPath(validating: "Device.WiFi.Radio.1.Channel"), value: .unsignedInt(6), writable: true)
        let decoded = try JSONDecoder().decode(Parameter.self, from: try JSONEncoder().encode(parameter))
        #expect(decoded == parameter)
        #expect(decoded.writable == true)
    }
}
