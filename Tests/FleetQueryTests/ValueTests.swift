import Foundation
import Testing
@testable import FleetQuery

/// Decimals, globs, instants and path patterns on their own.
@Suite struct ValueTests {
    @Test(arguments: [("6", "6"), ("06", "6"), ("6.0", "6"), ("6.50", "6.5"), ("-0", "0"), ("-0.000", "0"), ("000", "0"),
                      ("-007.100", "-7.1"), ("0.5", "0.5"), ("12345678901234567890.000001", "12345678901234567890.000001")])
    func canonicalDecimals(_ text: String, _ canonical: String) throws {
        #expect(try #require(FleetDecimal(text)).description == canonical)
    }

    @Test(arguments: ["", "-", "+6", "6.", ".5", "1e3", " 6", "6 ", "0x10", "1.2.3", "--1", "٣", "6,5"])
    func notDecimals(_ text: String) {
        #expect(FleetDecimal(text) == nil)
    }

    @Test func decimalOrder() throws {
        let ordered = ["-100", "-99.5", "-1", "-0.5", "0", "0.05", "0.5", "1", "1.0001", "2", "10", "99999999999999999999", "100000000000000000000"]
        let values = try ordered.map { try #require(FleetDecimal($0)) }
        for (i, a) in values.enumerated() {
            for (j, b) in values.enumerated() {
                #expect((a < b) == (i < j), "\(a) < \(b)")
                #expect((a.compare(to: b) == 0) == (i == j))
            }
        }
        #expect(FleetDecimal("6.0") == FleetDecimal("6"))
    }

    @Test(arguments: [
        ("XG-*", "XG-1", true), ("XG-*", "XG-", true), ("XG-*", "xg-1", false), ("*", "", true), ("?", "", false),
        ("?", "é", true), ("?", "e\u{301}", false), ("a*b*c", "aXbYbZc", true), ("a*b*c", "aXbYbZ", false), ("*a", "banana", true),
        ("a_b", "a_b", true), ("a_b", "axb", false), ("100%", "100%", true), ("100%", "1000", false), ("*\\*", "x\\y\\", true),
        ("", "", true), ("", "x", false), ("**", "abc", true), ("?*?", "a", false), ("?*?", "ab", true),
    ])
    func globs(_ pattern: String, _ text: String, _ expected: Bool) {
        #expect(FleetGlob(pattern).matches(text) == expected, "\(pattern) ~ \(text)")
    }

    @Test func instants() throws {
        #expect(InstantText.parse("2026-11-01T00:00:00Z") == Date(timeIntervalSince1970: 1_793_491_200))
        #expect(InstantText.parse("2026-11-01") == Date(timeIntervalSince1970: 1_793_491_200))
        #expect(InstantText.parse("2026-11-01T02:30:00+02:30") == Date(timeIntervalSince1970: 1_793_491_200))
        #expect(InstantText.parse("2026-10-31T19:00:00-05:00") == Date(timeIntervalSince1970: 1_793_491_200))
        #expect(InstantText.parse("1970-01-01T00:00:00.000001Z") == Date(timeIntervalSince1970: 0.000001))
        #expect(InstantText.parse("2024-02-29T12:00:00Z") != nil)
        for bad in ["2026-11-01T00:00:00", "2026-13-01", "2025-02-29", "2026-11-01T24:00:00Z", "2026-11-01T00:00:00.1234567Z",
                    "26-11-01", "2026-11-01T00:00Z", "2026-11-01 00:00:00Z", "0000-01-01", "yesterday", ""] {
            #expect(InstantText.parse(bad) == nil, "\(bad)")
        }
        for text in ["2026-11-01T00:00:00Z", "1999-12-31T23:59:59.5Z", "2026-01-02T03:04:05.123456Z", "0001-01-01T00:00:00Z", "9999-12-31T23:59:59Z"] {
            let date = try #require(InstantText.parse(text))
            #expect(InstantText.format(date) == text)
        }
    }

    @Test func pathPatterns() throws {
        let ssid = try ParameterPattern(validating: "Device.WiFi.SSID.*.SSID")
        #expect(ssid.matches("Device.WiFi.SSID.1.SSID"))
        #expect(ssid.matches("Device.WiFi.SSID.0042.SSID"))
        #expect(!ssid.matches("Device.WiFi.SSID..SSID"))
        #expect(!ssid.matches("Device.WiFi.SSID.x.SSID"))
        #expect(!ssid.matches("Device.WiFi.SSID.1.SSID.Extra"))
        #expect(!ssid.matches("Device.WiFi.SSID.1.2.SSID"))
        #expect(!ssid.matches("Device.WiFi.SSIDs.1.SSID"))
        let two = try ParameterPattern(validating: "Device.*.SSID.*.")
        #expect(two.matches("Device.1.SSID.22."))
        #expect(!two.matches("Device.WiFi.SSID.22."))
        #expect(two.fixedPrefix == "Device.")
        let exact = try ParameterPattern(validating: "Device.WiFi.SSID.1.SSID")
        #expect(exact.matches("Device.WiFi.SSID.1.SSID") && !exact.matches("Device.WiFi.SSID.01.SSID"))
        #expect(exact.fixedPrefix == "Device.WiFi.SSID.1.SSID")
    }
}
