import Foundation
import Testing
import TwinfleetModel

@Suite struct DeviceIDTests {
    @Test(arguments: ["00D09E-IGD-1234", "00D09E-1234", "os::012345-ABCDEF", "proto::controller-1", "Gerät 1", "a"])
    func acceptsValidIDs(_ text: String) throws {
        let id = try DeviceID(validating: text)
        #expect(id.rawValue == text)
        #expect(id.description == text)
        #expect(id.utf8Bytes == Array(text.utf8))
    }

    @Test func refusesEmpty() {
        #expect { try DeviceID(validating: "") } throws: { ($0 as? ModelError)?.code == .invalidDeviceID }
    }

    @Test func lengthLimitIsInUTF8Bytes() throws {
        _ = try DeviceID(validating: String(repeating: "a", count: 256))
        _ = try DeviceID(validating: String(repeating: "é", count: 128))  // 2 bytes each: 256
        let tooLong = #expect(throws: ModelError.self) { try DeviceID(validating: String(repeating: "é", count: 129)) }
        #expect(tooLong?.code == .invalidDeviceID)
        #expect(tooLong?.message.contains("258 UTF-8 bytes") == true)
        #expect(throws: ModelError.self) { try DeviceID(validating: String(repeating: "a", count: 257)) }
    }

    @Test(arguments: ["abc\u{0}", "abc\n", "\tabc", "ab\u{7F}c", "ab\u{85}c", "ab\u{1B}[31m"])
    func refusesControlCharacters(_ text: String) {
        let error = #expect(throws: ModelError.self) { try DeviceID(validating: text) }
        #expect(error?.code == .invalidDeviceID)
        #expect(error?.message.contains("control character") == true)
    }

    @Test func controlCharacterPositionIsReported() {
        let error = #expect(throws: ModelError.self) { try DeviceID(validating: "abc\ndef") }
        #expect(error?.message.contains("position 3") == true)
        #expect(error?.message.contains("\\n") == true)  // escaped, not a raw line break
    }

    @Test func cwmpFormWithAndWithoutProductClass() throws {
        #expect(try DeviceID.cwmp(oui: "00D09E", productClass: "IGD", serialNumber: "1234").rawValue == "00D09E-IGD-1234")
        #expect(try DeviceID.cwmp(oui: "00D09E", productClass: nil, serialNumber: "1234").rawValue == "00D09E-1234")
        #expect(try DeviceID.cwmp(oui: "00D09E", productClass: "", serialNumber: "1234").rawValue == "00D09E-1234")
    }

    @Test func cwmpFormEscapesEverythingButLettersDigitsAndUnderscore() throws {
        #expect(try DeviceID.cwmp(oui: "00D09E", productClass: "Home Gateway", serialNumber: "AB-1_x").rawValue
            == "00D09E-Home%20Gateway-AB%2D1_x")
        #expect(try DeviceID.cwmp(oui: "00D09E", productClass: nil, serialNumber: "é%").rawValue == "00D09E-%C3%A9%25")
    }

    @Test func cwmpEscapingKeepsDistinctDevicesDistinct() throws {
        let first = try DeviceID.cwmp(oui: "A", productClass: "B-C", serialNumber: "D")
        let second = try DeviceID.cwmp(oui: "A", productClass: "B", serialNumber: "C-D")
        #expect(first != second)
    }

    @Test func cwmpFormNeedsOUIAndSerial() {
        #expect(throws: ModelError.self) { try DeviceID.cwmp(oui: "", productClass: "IGD", serialNumber: "1") }
        let error = #expect(throws: ModelError.self) { try DeviceID.cwmp(oui: "00D09E", productClass: "IGD", serialNumber: "") }
        #expect(error?.message.contains("serial number") == true)
    }

    @Test func cwmpFormRespectsTheLengthLimit() {
        // 100 dashes become 300 bytes once escaped.
        #expect(throws: ModelError.self) {
            try DeviceID.cwmp(oui: "00D09E", productClass: nil, serialNumber: String(repeating: "-", count: 100))
        }
    }

    @Test func equalityIsByteWiseNotCanonical() throws {
        let composed = try DeviceID(validating: "caf\u{E9}")
        let decomposed = try DeviceID(validating: "cafe\u{301}")
        #expect("caf\u{E9}" == "cafe\u{301}")  // Swift strings consider them equal…
        #expect(composed != decomposed)  // …but they are different Kafka keys.
        #expect(Set([composed, decomposed]).count == 2)
        #expect(composed == (try DeviceID(validating: "caf\u{E9}")))
    }

    @Test func ordersByBytes() throws {
        let ids = try ["b", "B", "a", "ab"].map { try DeviceID(validating: $0) }
        #expect(ids.sorted().map(\.rawValue) == ["B", "a", "ab", "b"])
    }

    @Test func codableAsPlainString() throws {
        let id = try DeviceID(validating: "os::012345-ABCDEF")
        let json = try JSONEncoder().encode([id])
        #expect(String(decoding: json, as: UTF8.self) == #"["os::012345-ABCDEF"]"#)
        #expect(try JSONDecoder().decode([DeviceID].self, from: json) == [id])
        #expect(throws: DecodingError.self) { try JSONDecoder().decode([DeviceID].self, from: Data(#"[""]"#.utf8)) }
    }
}
