import Foundation
@testable import FleetQuery

/// A small seeded generator (SplitMix64) so randomized tests are reproducible from their seed.
struct SeededGenerator: RandomNumberGenerator {
    private var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// Random filters and devices drawn from small vocabularies, so that values collide often and
/// the interesting cases (NULLs, byte-order, version ties, numeric-looking text, wildcard paths,
/// `_` and `%` in values) come up in every run.
struct RandomFleet {
    var rng: SeededGenerator

    init(seed: UInt64) { rng = SeededGenerator(seed: seed) }

    /// The instant relative times are resolved against.
    static let now = Date(timeIntervalSince1970: 1_793_491_200) // 2026-11-01T00:00:00Z

    static let texts = ["", "a", "A", "b", "XG-1", "XG-10", "xg-1", "é", "e\u{301}", "%", "_", "a_b", "a%b", "axb", "\\", "'", "\"",
                        "2.1", "2.10", "v2.9", "2.1-beta", "6", "06", "6.0", "-1", "true", "beta", "Ω", "a b", "Z", "zz"]
    static let versions = ["2.1", "2.10", "2.9", "2.1.0", "v2.1", "2.1-beta", "", "abc", "10", "2.01", "3.0.0.1", "2.1.0.0", "V100R001"]
    static let globs = ["*", "XG-*", "?", "a?b", "*_*", "%", "*.1*", "", "e*", "é", "*\\*", "?*?", "2.1*", "*a", "XG-1?"]
    static let tags = ["beta", "Beta", "canary", "lab", "a_b", "x%", "é"]
    static let tagGlobs = ["b*", "*a*", "?????", "a_b", "x%", "*"]
    static let storedPaths = [
        "Device.WiFi.SSID.1.SSID", "Device.WiFi.SSID.2.SSID", "Device.WiFi.SSID.10.SSID", "Device.WiFi.SSID.1.",
        "Device.WiFi.SSID.x1.SSID", "Device.WiFi.SSID..SSID", "Device.WiFi.SSIDs.1.SSID", "Device.WiFi.Radio.1.Channel",
        "Device.WiFi.Radio.2.Channel", "Device.DeviceInfo.UpTime", "Device.DeviceInfo.SoftwareVersion",
        "InternetGatewayDevice.LANDevice.1.Hosts.HostNumberOfEntries", "Device.WiFi.SSID.1.SSID.Extra",
        "Device.WiFi.SSID.3.SSID\n", "Device.WiFi.SSID.4_SSID", "Device.WiFi.SSID.٣.SSID",
    ]
    static let patterns = [
        "Device.WiFi.SSID.*.SSID", "Device.WiFi.Radio.*.Channel", "Device.WiFi.SSID.1.SSID", "Device.DeviceInfo.UpTime",
        "Device.WiFi.Radio.1.Channel", "InternetGatewayDevice.LANDevice.*.Hosts.HostNumberOfEntries", "Device.*.SSID.1.SSID",
        "Device.WiFi.*.*.SSID", "Device.DeviceInfo.SoftwareVersion",
    ]
    static let objectPatterns = ["Device.WiFi.SSID.*.", "Device.WiFi.SSID.1.", "Device.", "Device.WiFi.SSID.3."]
    static let parameterValues: [String?] = ["6", "06", "6.0", "-1", "0", "-0", "11", "2", "abc", "true", "false", "1e3", " 6",
                                             "99999999999999999999", "1.50", "", nil, "guest", "a_b", "%", "6.5", "-0.5",
                                             "6\n", String(repeating: "9", count: 401), String(repeating: "9", count: 400), "é"]
    static let parameterTypes = ["int", "unsignedInt", "string", "boolean", "decimal", "object", "long", "unsignedLong", "dateTime"]
    static let numbers = ["6", "6.5", "-1", "0", "10", "2", "-0.5", "99999999999999999999"]

    mutating func pick<T>(_ values: [T]) -> T { values[Int.random(in: 0..<values.count, using: &rng)] }
    mutating func chance(_ percent: Int) -> Bool { Int.random(in: 0..<100, using: &rng) < percent }
    mutating func some<T>(_ values: [T], max: Int) -> [T] {
        (0..<Int.random(in: 1...max, using: &rng)).map { _ in pick(values) }
    }

    // MARK: Devices

    mutating func device(id: Int) -> DeviceSnapshot {
        func maybe(_ values: [String]) -> String? { chance(20) ? nil : pick(values) }
        var parameters: [String: ParameterSnapshot] = [:]
        for _ in 0..<Int.random(in: 0...6, using: &rng) {
            let path = pick(Self.storedPaths)
            if path.hasSuffix(".") {
                parameters[path] = .object
            } else {
                let type = pick(Self.parameterTypes)
                parameters[path] = ParameterSnapshot(value: type == "object" ? nil : pick(Self.parameterValues), type: type)
            }
        }
        let hour: TimeInterval = 3600
        return DeviceSnapshot(
            deviceID: String(format: "dev-%04d", id), partition: Int64.random(in: 0...7, using: &rng),
            tenant: pick(["", "acme", "Acme"]), protocol: pick(["cwmp", "usp"]),
            oui: maybe(["00D09E", "A0B1C2"]), productClass: maybe(Self.texts), serialNumber: maybe(Self.texts),
            manufacturer: maybe(Self.texts), modelName: maybe(Self.texts), hardwareVersion: maybe(Self.versions),
            softwareVersion: maybe(Self.versions), tags: Array(Set(some(Self.tags, max: 3))).filter { _ in chance(70) },
            firstSeen: Self.now.addingTimeInterval(-hour * Double(Int.random(in: 0...2000, using: &rng))),
            lastContact: Self.now.addingTimeInterval(-hour * Double(Int.random(in: 0...400, using: &rng))),
            lastBoot: chance(30) ? nil : Self.now.addingTimeInterval(-hour * Double(Int.random(in: 0...400, using: &rng))),
            online: chance(50), instance: maybe(["cwmp-ingress-0", "usp-ingress-1"]),
            twinVersion: Int64.random(in: 0...20, using: &rng), parameters: parameters)
    }

    // MARK: Filters

    mutating func expression(depth: Int = 3) -> FleetExpression {
        if depth == 0 || chance(45) { return .predicate(predicate()) }
        switch Int.random(in: 0..<3, using: &rng) {
        case 0: return .and((0..<Int.random(in: 2...3, using: &rng)).map { _ in expression(depth: depth - 1) })
        case 1: return .or((0..<Int.random(in: 2...3, using: &rng)).map { _ in expression(depth: depth - 1) })
        default: return .not(expression(depth: depth - 1))
        }
    }

    mutating func predicate() -> FleetPredicate {
        switch Int.random(in: 0..<10, using: &rng) {
        case 0...4: return fieldPredicate(pick(DeviceField.allCases))
        case 5: return .tag(tagTest())
        case 6: return .parameterExists(try! ParameterPattern(validating: pick(Self.patterns + Self.objectPatterns)))
        default: return .parameter(try! ParameterPattern(validating: pick(Self.patterns)), parameterTest())
        }
    }

    mutating func tagTest() -> TagTest {
        switch Int.random(in: 0..<4, using: &rng) {
        case 0: .has(pick(Self.tags))
        case 1: .lacks(pick(Self.tags))
        case 2: .hasAny(some(Self.tags, max: 3))
        default: .hasMatching(FleetGlob(pick(Self.tagGlobs)))
        }
    }

    mutating func parameterTest() -> ParameterTest {
        switch Int.random(in: 0..<5, using: &rng) {
        case 0, 1: .text(pick(FleetComparison.allCases), pick(Self.parameterValues.compactMap { $0 } + Self.texts))
        case 2: .number(pick([.less, .lessOrEqual, .greater, .greaterOrEqual]), FleetDecimal(pick(Self.numbers))!)
        case 3: .oneOf(some(Self.parameterValues.compactMap { $0 }, max: 3))
        default: .glob(FleetGlob(pick(Self.globs)))
        }
    }

    mutating func fieldPredicate(_ field: DeviceField) -> FleetPredicate {
        if field.isNullable, chance(10) { return .field(field, chance(50) ? .isNull : .isNotNull) }
        let op = pick(FleetComparison.allCases)
        switch field.kind {
        case .text, .version:
            let vocabulary = field == .protocol ? ["cwmp", "usp"] : field.kind == .version ? Self.versions : Self.texts
            switch Int.random(in: 0..<4, using: &rng) {
            case 0: return .field(field, .oneOf(some(vocabulary, max: 3).map(FieldValue.text)))
            case 1: return .field(field, .glob(FleetGlob(pick(Self.globs))))
            default: return .field(field, .compare(op, .text(pick(vocabulary))))
            }
        case .boolean:
            return .field(field, .compare(chance(50) ? .equal : .notEqual, .boolean(chance(50))))
        case .integer:
            if chance(25) { return .field(field, .oneOf(some([0, 1, 2, 3, 5, 8, 13, -1], max: 3).map(FieldValue.integer))) }
            return .field(field, .compare(op, .integer(pick([0, 1, 2, 3, 5, 8, 13, -1]))))
        case .timestamp:
            let time: FleetTime = chance(50)
                ? .ago(FleetDuration(Int64.random(in: 0...30, using: &rng), pick(FleetDuration.Unit.allCases)))
                : .instant(Self.now.addingTimeInterval(-3600 * Double(Int.random(in: 0...400, using: &rng))))
            return .field(field, .compare(op, .time(time)))
        }
    }
}
