import Foundation
import Testing
@testable import FleetQuery

@Suite struct CursorTests {
    @Test func roundTrip() throws {
        let filter = try FleetFilter(parsing: "tag = beta")
        for id in ["dev-0001", "00D09E-HGW-ABC123", "a/b+c=d?e&f", "Gerät-ü-😀", String(repeating: "x", count: FleetCursor.maxDeviceIDLength)] {
            let cursor = FleetCursor(lastDeviceID: id, filter: filter)
            let text = cursor.encoded
            #expect(text.unicodeScalars.allSatisfy { $0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0) || $0 == "-" || $0 == "_") }, "\(text) is URL-safe")
            #expect(!text.contains(id) || id.count < 4, "the ID is not readable in the cursor")
            let decoded = try FleetCursor(decoding: text, for: filter)
            #expect(decoded == cursor)
            #expect(decoded.lastDeviceID == id)
        }
    }

    @Test func sameMeaningSameCursor() throws {
        let issued = FleetCursor(lastDeviceID: "dev-9", filter: try FleetFilter(parsing: "tag=beta and online=true")).encoded
        let decoded = try FleetCursor(decoding: issued, for: try FleetFilter(parsing: #"TAG = "beta" AND online = TRUE"#))
        #expect(decoded.lastDeviceID == "dev-9")
    }

    @Test func otherFilterIsRefused() throws {
        let issued = FleetCursor(lastDeviceID: "dev-9", filter: try FleetFilter(parsing: "tag = beta")).encoded
        let error = #expect(throws: FleetQueryError.self) { try FleetCursor(decoding: issued, for: try FleetFilter(parsing: "tag = alpha")) }
        #expect(error?.code == .cursorMismatch)
        #expect(throws: FleetQueryError.self) { try FleetCursor(decoding: issued, for: .matchAll) }
    }

    @Test(arguments: ["", "!!!!", "AQ", "a b", "Ag" + String(repeating: "A", count: 20), String(repeating: "A", count: 2000), "AQAAAAAAAAAAAA==", "AQAAAAAAAAAAAP8"])
    func malformedIsRefused(_ text: String) {
        let error = #expect(throws: FleetQueryError.self) { try FleetCursor(decoding: text, for: .matchAll) }
        #expect(error?.code == .invalidCursor, "\(text): \(error?.message ?? "")")
    }

    @Test func tamperedDeviceIDStaysUTF8() throws {
        // A cursor whose ID bytes are not UTF-8 (0xFF) is refused rather than decoded lossily.
        var bytes: [UInt8] = [1]
        let fingerprint = FleetFilter.matchAll.fingerprint
        for shift in stride(from: 56, through: 0, by: -8) { bytes.append(UInt8(truncatingIfNeeded: fingerprint >> UInt64(shift))) }
        bytes += [0x61, 0xFF]
        let text = Data(bytes).base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
        let error = #expect(throws: FleetQueryError.self) { try FleetCursor(decoding: text, for: .matchAll) }
        #expect(error?.code == .invalidCursor)
        bytes.removeLast()
        let good = Data(bytes).base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
        #expect(try FleetCursor(decoding: good, for: .matchAll).lastDeviceID == "a")
    }
}
