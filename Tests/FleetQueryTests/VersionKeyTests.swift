import Foundation
import Testing
@testable import FleetQuery

/// The version rule, stated on pairs: the key is the list of numbers formed by the runs of ASCII
/// digits; keys compare number by number; a proper prefix sorts first.
@Suite struct VersionKeyTests {
    @Test(arguments: [
        // (lower, higher)
        ("2.9", "2.10"),
        ("2.1", "2.1.0"),
        ("2.1", "2.2"),
        ("1.99.99", "2.0"),
        ("2.0.9", "2.0.10"),
        ("2", "2.0"),
        ("", "0"),
        ("abc", "1"),
        ("release", "r1"),
        ("2.1", "2.1-rc1"),
        ("2.1-beta", "2.1.1"),
        ("v2.9", "V2.10"),
        ("3.4.0.1-SP2", "3.4.0.1-SP10"),
        ("V100R001C00SPC200", "V100R001C00SPC201"),
        ("V100R001C00", "V100R001C01"),
        ("1.2.3_build45", "1.2.3_build46"),
        ("9", "10"),
        ("99999999999999999999", "100000000000000000000"),
        ("1.0", "1.0.0.0.0.1"),
        ("1", "٣.9"),  // only ASCII digits count: the key of "٣.9" is [9]
    ])
    func ordered(_ lower: String, _ higher: String) {
        #expect(VersionKey(lower) < VersionKey(higher), "\(lower) < \(higher)")
        #expect(VersionKey(higher) > VersionKey(lower), "\(higher) > \(lower)")
        #expect(VersionKey(lower) != VersionKey(higher))
    }

    @Test(arguments: [
        ("2.1", "v2.1"),
        ("2.1", "2.1-beta"),
        ("2.01", "2.1"),
        ("2.1", "2-1"),
        ("2.1", "2_1"),
        ("007.000", "7.0"),
        ("", "no digits"),
        ("1.2.3", "build 1 rev 2 patch 3"),
    ])
    func tied(_ a: String, _ b: String) {
        #expect(VersionKey(a) == VersionKey(b), "\(a) and \(b) have the same key")
        #expect(!(VersionKey(a) < VersionKey(b)) && !(VersionKey(b) < VersionKey(a)))
    }

    @Test func keys() {
        #expect(VersionKey("V2.1-beta3").parts.map { String(decoding: $0, as: UTF8.self) } == ["2", "1", "3"])
        #expect(VersionKey("2.10.0").description == "2.10.0")
        #expect(VersionKey("abc").parts.isEmpty)
        #expect(VersionKey("00").description == "0")
        #expect(VersionKey("٣.9").description == "9")
    }

    @Test func longRunsAreCut() {
        let long = String(repeating: "9", count: 1500)
        #expect(VersionKey(long).parts[0].count == VersionKey.maxRunLength)
        #expect(VersionKey(long) == VersionKey(String(repeating: "9", count: 1000)))
        #expect(VersionKey(long + ".1") > VersionKey(long))
    }

    @Test func filterUsesTheRule() throws {
        let filter = try FleetFilter(parsing: #"softwareVersion < "2.10" AND softwareVersion >= 2.1"#)
        let now = Date()
        func version(_ text: String?) -> DeviceSnapshot { DeviceSnapshot(deviceID: "d", softwareVersion: text) }
        #expect(filter.matches(version("2.9"), now: now))
        #expect(filter.matches(version("2.1"), now: now))
        #expect(filter.matches(version("v2.1-beta"), now: now), "ties with 2.1, so >= 2.1 holds")
        #expect(!filter.matches(version("2.10"), now: now))
        #expect(!filter.matches(version("2.0.9"), now: now))
        #expect(!filter.matches(version(nil), now: now))
        let equal = try FleetFilter(parsing: #"softwareVersion = "2.1""#)
        #expect(!equal.matches(version("2.01"), now: now), "= is text equality, not key equality")
        #expect(equal.matches(version("2.1"), now: now))
    }

    @Test func sqlFunctionIsTheRule() {
        let sql = VersionKey.sqlFunctionDefinition
        #expect(sql.hasPrefix("CREATE OR REPLACE FUNCTION \(VersionKey.sqlFunctionName)(version_text text) RETURNS numeric[]"))
        #expect(sql.contains("IMMUTABLE"))
        #expect(sql.contains("'[0-9]+'"))
        #expect(sql.contains("left(found.run[1], \(VersionKey.maxRunLength))"))
        #expect(sql.contains("COLLATE \"C\""))
    }
}
