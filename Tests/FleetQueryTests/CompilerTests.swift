import Foundation
import Testing
@testable import FleetQuery

/// The `$n` numbers in SQL text (outside quoted literals), in order of appearance.
func placeholders(in sql: String) -> [Int] {
    var numbers: [Int] = []
    let scalars = Array(sql.unicodeScalars)
    var i = 0
    var quoted = false
    while i < scalars.count {
        if scalars[i] == "'" { quoted.toggle() }
        guard !quoted, scalars[i] == "$" else {
            i += 1
            continue
        }
        var j = i + 1
        while j < scalars.count, ("0"..."9").contains(scalars[j]) { j += 1 }
        numbers.append(Int(String(String.UnicodeScalarView(scalars[(i + 1)..<j]))) ?? -1)
        i = j
    }
    return numbers
}

/// Checks that SQL is built only from the compiler's own vocabulary: known identifiers and
/// keywords, `"C"`, the fixed literals, placeholders and punctuation. Returns the offending
/// pieces.
func foreignPieces(in sql: String) -> [String] {
    let words = Set<String>([
        "EXISTS", "SELECT", "FROM", "WHERE", "AND", "OR", "NOT", "IS", "NULL", "TRUE", "FALSE", "ANY", "ARRAY", "IN", "CASE",
        "WHEN", "THEN", "END", "COLLATE", "LIKE", "AS", "unnest", "t", "tag", "tags", "d", "p", "parameters", "device_id", "path",
        "value", "value_type", "length", "numeric", "text", "bigint", "boolean", "timestamptz", "twinfleet_version_key", "1", "left", "200",
    ]).union(DeviceField.allCases.map(\.column))
    let literals: Set<String> = Set(SQLWriter.numericValueTypes.map { "'\($0)'" } + [#"'^-?[0-9]+([.][0-9]+)?$'"#])
    var foreign: [String] = []
    let scalars = Array(sql.unicodeScalars)
    var i = 0
    while i < scalars.count {
        let c = scalars[i]
        if c == "'" {
            var j = i + 1
            while j < scalars.count, scalars[j] != "'" { j += 1 }
            let literal = String(String.UnicodeScalarView(scalars[i...min(j, scalars.count - 1)]))
            if !literals.contains(literal) { foreign.append(literal) }
            i = j + 1
        } else if c == "\"" {
            let quoted = String(String.UnicodeScalarView(scalars[i..<min(i + 3, scalars.count)]))
            if quoted != "\"C\"" { foreign.append(quoted) }
            i += 3
        } else if c == "$" {
            var j = i + 1
            while j < scalars.count, ("0"..."9").contains(scalars[j]) { j += 1 }
            if j == i + 1 { foreign.append("$") }
            i = j
        } else if c.properties.isAlphabetic || c == "_" || ("0"..."9").contains(c) {
            var j = i
            while j < scalars.count, scalars[j].properties.isAlphabetic || scalars[j] == "_" || ("0"..."9").contains(scalars[j]) { j += 1 }
            let word = String(String.UnicodeScalarView(scalars[i..<j]))
            if !words.contains(word), Int(word) == nil || word.count > 4 { foreign.append(word) }
            i = j
        } else if " ().,=<>!@&~:[]".unicodeScalars.contains(c) {
            i += 1
        } else {
            foreign.append(String(c))
            i += 1
        }
    }
    return foreign
}

private let now = Date(timeIntervalSince1970: 1_793_491_200) // 2026-11-01T00:00:00Z

@Suite struct CompilerTests {
    @Test func briefExample() throws {
        let filter = try FleetFilter(parsing: #"Device.WiFi.Radio.1.Channel = 6 AND softwareVersion < "2.1" AND tag = beta"#)
        let compiled = filter.compile(now: now)
        #expect(compiled.whereSQL == """
            ((EXISTS (SELECT 1 FROM parameters p WHERE p.device_id = d.device_id AND p.path = $1::text AND left(p.value, 200) = $2::text)) \
            AND (d.software_version IS NOT NULL AND twinfleet_version_key(d.software_version) < twinfleet_version_key($3::text)) \
            AND (d.tags @> ARRAY[$4::text]))
            """)
        #expect(compiled.binds == [.text("Device.WiFi.Radio.1.Channel"), .text("6"), .text("2.1"), .text("beta")])
        #expect(compiled.nextPlaceholder == 5)
    }

    @Test func placeholdersStartWhereAsked() throws {
        let filter = try FleetFilter(parsing: "tag = a OR modelName IN (x, y) OR Device.A.*.B < 3 OR lastContact > -1h")
        for first in [1, 2, 7, 100] {
            let compiled = filter.compile(now: now, firstPlaceholder: first)
            #expect(placeholders(in: compiled.whereSQL) == Array(first..<(first + compiled.binds.count)))
            #expect(compiled.nextPlaceholder == first + compiled.binds.count)
        }
    }

    @Test func matchAllIsTrue() {
        let compiled = FleetFilter.matchAll.compile(now: now, firstPlaceholder: 3)
        #expect(compiled.whereSQL == "TRUE")
        #expect(compiled.binds.isEmpty)
        #expect(compiled.nextPlaceholder == 3)
    }

    @Test func wildcardPathUsesRangeAndRegex() throws {
        let compiled = try FleetFilter(parsing: #"Device.WiFi.SSID.*.SSID = "guest""#).compile(now: now)
        #expect(compiled.whereSQL == "(EXISTS (SELECT 1 FROM parameters p WHERE p.device_id = d.device_id AND p.path >= $1::text AND p.path < $2::text AND p.path ~ $3::text AND left(p.value, 200) = $4::text))")
        #expect(compiled.binds == [.text("Device.WiFi.SSID."), .text("Device.WiFi.SSID/"), .text(#"^Device\.WiFi\.SSID\.[0-9]+\.SSID$"#), .text("guest")])
    }

    @Test func longValuesCompareInFullBesideTheIndexedPrefix() throws {
        let long = String(repeating: "é", count: 250)
        let compiled = try FleetFilter(parsing: "Device.X.Y = \"\(long)\"").compile(now: now)
        #expect(compiled.whereSQL.hasSuffix("left(p.value, 200) = $2::text AND p.value = $3::text))"))
        #expect(compiled.binds == [.text("Device.X.Y"), .text(String(repeating: "é", count: 200)), .text(long)])
    }

    @Test func numericOrderingIsGuarded() throws {
        let compiled = try FleetFilter(parsing: "Device.WiFi.Radio.1.Channel >= 011.50").compile(now: now)
        #expect(compiled.whereSQL.contains("p.value_type IN ('int', 'unsignedInt', 'long', 'unsignedLong', 'decimal')"))
        #expect(compiled.whereSQL.contains(#"CASE WHEN length(p.value) <= 400 AND p.value COLLATE "C" ~ '^-?[0-9]+([.][0-9]+)?$' THEN p.value::numeric END) >= $2::numeric"#))
        #expect(compiled.binds.last == .numeric("11.5"))
    }

    @Test func textOrderingIsBytewise() throws {
        let field = try FleetFilter(parsing: "modelName < m").compile(now: now)
        #expect(field.whereSQL == #"(d.model_name IS NOT NULL AND d.model_name COLLATE "C" < $1::text)"#)
        let parameter = try FleetFilter(parsing: #"Device.A.B > "m""#).compile(now: now)
        #expect(parameter.whereSQL.contains(#"p.value COLLATE "C" > $2::text"#))
    }

    @Test func nullableColumnsAreGuardedOthersNot() throws {
        #expect(try FleetFilter(parsing: "manufacturer != x").compile(now: now).whereSQL == "(d.manufacturer IS NOT NULL AND d.manufacturer <> $1::text)")
        #expect(try FleetFilter(parsing: "tenant != x").compile(now: now).whereSQL == "(d.tenant_id <> $1::text)")
        #expect(try FleetFilter(parsing: "NOT lastBoot < -1d").compile(now: now).whereSQL == "(NOT (d.last_boot IS NOT NULL AND d.last_boot < $1::timestamptz))")
        #expect(try FleetFilter(parsing: "instance IS NULL").compile(now: now).whereSQL == "(d.instance_id IS NULL)")
    }

    @Test func typedBinds() throws {
        let compiled = try FleetFilter(parsing: "online = true AND partition IN (1, 2) AND twinVersion > 5 AND lastContact < -7d AND tag IN (a, b) AND modelName ~ \"a_b*\"").compile(now: now)
        #expect(compiled.binds == [
            .boolean(true), .integers([1, 2]), .integer(5), .timestamp(now.addingTimeInterval(-7 * 86_400)), .texts(["a", "b"]), .text("a\\_b%"),
        ])
        #expect(compiled.whereSQL.contains("d.online = $1::boolean"))
        #expect(compiled.whereSQL.contains("d.partition = ANY($2::bigint[])"))
        #expect(compiled.whereSQL.contains("d.tags && $5::text[]"))
        #expect(compiled.whereSQL.contains(#"d.model_name COLLATE "C" LIKE $6::text"#))
        #expect(compiled.binds.map(\.sqlType) == ["boolean", "bigint[]", "bigint", "timestamptz", "text[]", "text"])
    }

    @Test func relativeTimesFollowNow() throws {
        let filter = try FleetFilter(parsing: "lastContact < -30m")
        let later = now.addingTimeInterval(3600)
        #expect(filter.compile(now: now).binds == [.timestamp(now.addingTimeInterval(-1800))])
        #expect(filter.compile(now: later).binds == [.timestamp(later.addingTimeInterval(-1800))])
        #expect(filter.compile(now: now).binds.first?.timestampText == "2026-10-31T23:30:00Z")
        #expect(SQLBind.text("x").timestampText == nil)
    }

    @Test func globsBecomeEscapedLikePatterns() {
        #expect(FleetGlob("XG-*").likePattern == "XG-%")
        #expect(FleetGlob("a?c").likePattern == "a_c")
        #expect(FleetGlob("100%_\\").likePattern == "100\\%\\_\\\\")
    }

    @Test func identifiersOnlyFromTheClosedEnum() throws {
        var random = RandomFleet(seed: 7)
        for _ in 0..<500 {
            let filter = try FleetFilter(root: random.expression())
            let compiled = filter.compile(now: now, firstPlaceholder: 1)
            #expect(foreignPieces(in: compiled.whereSQL) == [], "\(filter)")
            // No backslash anywhere: the SQL means the same whatever standard_conforming_strings is.
            #expect(!compiled.whereSQL.contains("\\"))
        }
        for field in DeviceField.allCases {
            #expect(field.column.allSatisfy { $0.isLowercase || $0 == "_" }, "\(field.column)")
        }
    }
}
