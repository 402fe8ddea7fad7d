import Foundation
import Testing
@testable import FleetQuery

/// No text from the query ever reaches the SQL string: hostile values travel only in binds.
@Suite struct InjectionFuzzTests {
    private static let alphabet: [String] = ["'", "''", "\"", ";", "$", "$1", "$$", "\\", "--", "/*", "*/", "%", "_", "*", "?", "(", ")",
                                             "DROP TABLE devices", "OR 1=1", " ", "x", "é", "\n", "\t", "\u{1}", "::text", "E'", "\u{2028}"]

    private static func hostile(_ random: inout RandomFleet) -> String {
        (0..<Int.random(in: 1...8, using: &random.rng)).map { _ in random.pick(alphabet) }.joined()
    }

    @Test func hostileValuesStayInBinds() throws {
        var random = RandomFleet(seed: 42)
        let now = Date(timeIntervalSince1970: 1_700_000_000)
        for round in 0..<2000 {
            let value = Self.hostile(&random)
            let segment = random.pick(["DROP", "x_y", "a-b", "Name", "1", "select"])
            let pattern = try ParameterPattern(validating: random.pick(["Device.\(segment).*.X", "Device.X.\(segment)", "InternetGatewayDevice.\(segment)."]))
            let predicate: FleetPredicate = switch round % 9 {
            case 0: .field(random.pick(DeviceField.allCases.filter { $0.kind == .text && $0 != .protocol }), .compare(random.pick(FleetComparison.allCases), .text(value)))
            case 1: .field(.softwareVersion, .oneOf([.text(value), .text(Self.hostile(&random))]))
            case 2: .field(.modelName, .glob(FleetGlob(value)))
            case 3: .tag(.has(value))
            case 4: .tag(.hasMatching(FleetGlob(value)))
            case 5: pattern.isObject ? .parameterExists(pattern) : .parameter(pattern, .text(random.pick(FleetComparison.allCases), value))
            case 6: pattern.isObject ? .parameterExists(pattern) : .parameter(pattern, .oneOf([value]))
            case 7: pattern.isObject ? .parameterExists(pattern) : .parameter(pattern, .glob(FleetGlob(value)))
            default: .field(.hardwareVersion, .compare(.greater, .text(value)))
            }
            // Through the checked constructor and through text, as an API request would arrive.
            let built = try FleetFilter(root: .or([.predicate(predicate), .not(.predicate(.tag(.lacks(value))))]))
            let parsed = try FleetFilter(parsing: built.description)
            #expect(parsed == built)
            let compiled = parsed.compile(now: now, firstPlaceholder: 1 + round % 5)
            #expect(foreignPieces(in: compiled.whereSQL) == [], "\(parsed.description)")
            #expect(placeholders(in: compiled.whereSQL) == Array((1 + round % 5)..<(1 + round % 5 + compiled.binds.count)))
            // Pieces that the compiler never writes itself; if one shows up, the value leaked.
            if [";", "--", "/*", "DROP", "é", "\n", "%", "\t"].contains(where: { value.contains($0) }) {
                #expect(!compiled.whereSQL.contains(value), "\(value) leaked into \(compiled.whereSQL)")
            }
            #expect(!compiled.whereSQL.contains("Device") && !compiled.whereSQL.contains("." + segment), "the path leaked into \(compiled.whereSQL)")
        }
    }

    @Test func hostilePathsAreRefusedNotEscaped() {
        for path in ["Device.X';DROP", "Device.X Y", "Device.X$1", "Device.X\"", "Device.X%", "Device.X/*", "Device.Ü", "Device.X.*Y"] {
            #expect(throws: FleetQueryError.self, "\(path)") { try ParameterPattern(validating: path) }
        }
    }
}
