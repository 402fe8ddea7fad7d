import Foundation
import Testing
@testable import FleetQuery

private let now = Date(timeIntervalSince1970: 1_793_491_200) // 2026-11-01T00:00:00Z
private let hour: TimeInterval = 3600

/// The devices every test filters; each test states which IDs a query selects.
private let fleet: [DeviceSnapshot] = [
    DeviceSnapshot(
        deviceID: "A", partition: 1, tenant: "acme", protocol: "cwmp", oui: "00D09E", productClass: "HGW", serialNumber: "00123",
        manufacturer: "Acme", modelName: "XG-1", hardwareVersion: "1.0", softwareVersion: "2.9", tags: ["beta", "lab"],
        firstSeen: now.addingTimeInterval(-1000 * hour), lastContact: now.addingTimeInterval(-1 * hour),
        lastBoot: now.addingTimeInterval(-2 * hour), online: true, instance: "cwmp-ingress-0", twinVersion: 10,
        parameters: [
            "Device.WiFi.Radio.1.Channel": ParameterSnapshot(value: "6", type: "unsignedInt"),
            "Device.WiFi.SSID.1.": .object,
            "Device.WiFi.SSID.1.SSID": .string("home"),
            "Device.WiFi.SSID.2.SSID": .string("guest"),
            "Device.DeviceInfo.UpTime": ParameterSnapshot(value: "3600", type: "unsignedInt"),
        ]),
    DeviceSnapshot(
        deviceID: "B", partition: 2, tenant: "acme", protocol: "usp", manufacturer: "acme", modelName: "XG-10",
        softwareVersion: "2.10", tags: ["Beta"], firstSeen: now.addingTimeInterval(-500 * hour),
        lastContact: now.addingTimeInterval(-200 * hour), lastBoot: nil, online: false, twinVersion: 3,
        parameters: [
            "Device.WiFi.Radio.1.Channel": ParameterSnapshot(value: "11", type: "int"),
            "Device.WiFi.SSID.10.SSID": .string("guest"),
            "Device.DeviceInfo.UpTime": .string("06"),
        ]),
    DeviceSnapshot(
        deviceID: "C", partition: 3, tenant: "other", protocol: "cwmp", modelName: nil, softwareVersion: nil,
        tags: [], firstSeen: now.addingTimeInterval(-10 * hour), lastContact: now.addingTimeInterval(-10 * hour),
        lastBoot: now.addingTimeInterval(-10 * hour), online: true,
        parameters: [
            "InternetGatewayDevice.LANDevice.1.Hosts.HostNumberOfEntries": ParameterSnapshot(value: "06", type: "unsignedInt"),
            "Device.WiFi.Radio.1.Channel": ParameterSnapshot(value: "6.0", type: "decimal"),
            "Device.WiFi.SSID.x1.SSID": .string("guest"),
        ]),
    DeviceSnapshot(
        deviceID: "D", partition: 1, tenant: "acme", protocol: "usp", manufacturer: "Acme", modelName: "XG_1",
        softwareVersion: "v2.1-beta", tags: ["lab", "a_b"], lastContact: now.addingTimeInterval(-30 * 24 * hour),
        lastBoot: now.addingTimeInterval(-31 * 24 * hour), online: false, instance: nil, twinVersion: 0,
        parameters: [
            "Device.WiFi.Radio.1.Channel": ParameterSnapshot(value: "abc", type: "unsignedInt"),
            "Device.WiFi.Radio.2.Channel": ParameterSnapshot(value: "36", type: "string"),
            "Device.WiFi.SSID.1.SSID": .string("e\u{301}"),
        ]),
]

private func selected(_ query: String) throws -> String {
    let filter = try FleetFilter(parsing: query)
    return fleet.filter { filter.matches($0, now: now) }.map(\.deviceID).joined()
}

@Suite struct EvaluatorTests {
    @Test(arguments: [
        // Text fields, byte order and NULLs.
        (#"modelName = "XG-1""#, "A"),
        (#"modelName != "XG-1""#, "BD"),                  // C has no model: != does not hold
        (#"NOT modelName = "XG-1""#, "BCD"),               // NOT is the complement
        (#"modelName < "XG-10""#, "A"),
        (#"modelName >= "XG-10""#, "BD"),                 // "_" (0x5F) sorts after "-" (0x2D)
        ("manufacturer = acme", "B"),                      // case-sensitive
        ("manufacturer > Z", "B"),                         // lower case sorts after upper case
        (#"modelName IN ("XG-1", "XG_1", "nope")"#, "AD"),
        (#"modelName ~ "XG-*""#, "AB"),
        (#"modelName ~ "XG?1""#, "AD"),
        (#"modelName ~ "*""#, "ABD"),
        ("modelName IS NULL", "C"),
        ("modelName IS NOT NULL", "ABD"),
        ("serialNumber = 00123", "A"),
        ("tenant = acme AND protocol = usp", "BD"),
        ("deviceId IN (A, C)", "AC"),
        ("oui ~ 00*", "A"),
        ("instance IS NULL", "BCD"),
        // Versions.
        ("softwareVersion < 2.10", "AD"),
        ("softwareVersion > 2.9", "B"),
        ("softwareVersion <= 2.1", "D"),
        ("softwareVersion >= 2.1", "ABD"),
        ("NOT softwareVersion >= 2.1", "C"),
        (#"softwareVersion = "2.1""#, ""),
        (#"softwareVersion ~ "v*""#, "D"),
        // Booleans and integers.
        ("online = true", "AC"),
        ("online != true", "BD"),
        ("partition = 1", "AD"),
        ("partition IN (2, 3)", "BC"),
        ("twinVersion > 3", "A"),
        ("twinVersion <= 3", "BCD"),
        // Timestamps, absolute and relative.
        ("lastContact > -12h", "AC"),
        ("lastContact < -7d", "BD"),
        ("lastBoot > -1d", "AC"),
        ("NOT lastBoot > -1d", "BD"),
        ("lastBoot IS NULL", "B"),
        (#"firstSeen <= "2026-10-31T14:00:00Z""#, "ABCD"),
        (#"firstSeen = "2026-10-31T14:00:00Z""#, "C"),
        (#"firstSeen != "2026-10-31T14:00:00Z""#, "ABD"),
        // Tags.
        ("tag = beta", "A"),
        ("tag != beta", "BCD"),
        ("tag IN (beta, Beta)", "AB"),
        ("tag ~ \"?eta\"", "AB"),
        ("tag ~ \"a_b\"", "D"),
        ("tag ~ \"a?b\"", "D"),
        // Parameters: text, canonical numbers, numeric ordering, wildcards.
        ("Device.WiFi.Radio.1.Channel = 6", "A"),           // "6.0" is not the text "6"
        ("Device.WiFi.Radio.1.Channel = 06", "A"),          // number literals are canonicalized
        (#"Device.WiFi.Radio.1.Channel = "6.0""#, "C"),
        ("Device.WiFi.Radio.1.Channel != 6", "BCD"),
        ("NOT Device.WiFi.Radio.1.Channel = 6", "BCD"),
        ("Device.WiFi.Radio.1.Channel > 5", "ABC"),        // 6, 11 and 6.0 numerically; "abc" never
        ("Device.WiFi.Radio.1.Channel >= 6", "ABC"),
        ("Device.WiFi.Radio.1.Channel < 6.5", "AC"),
        (#"Device.WiFi.Radio.1.Channel < "7""#, "ABC"),    // text order: "11" < "6.0" < "7"; "abc" > "7"
        ("Device.WiFi.Radio.*.Channel > 30", ""),           // "36" is a string parameter
        ("Device.WiFi.Radio.*.Channel = 36", "D"),
        ("Device.DeviceInfo.UpTime = 6", ""),               // "06" is a string; = 6 compares the text "6"
        ("Device.DeviceInfo.UpTime > 5", "A"),              // "06" is a string value, not numeric
        ("InternetGatewayDevice.LANDevice.*.Hosts.HostNumberOfEntries > 5", "C"), // numeric value "06"
        (#"Device.WiFi.SSID.*.SSID = "guest""#, "AB"),      // x1 is not an instance number
        (#"Device.WiFi.SSID.*.SSID != "guest""#, "AD"),     // A also has SSID "home"
        (#"NOT Device.WiFi.SSID.*.SSID = "guest""#, "CD"),
        ("Device.WiFi.SSID.*.SSID IN (\"home\", \"\u{E9}\")", "A"), // bytes: decomposed é is not precomposed é
        (#"Device.WiFi.SSID.*.SSID ~ "g*""#, "AB"),
        ("EXISTS Device.WiFi.SSID.*.", "A"),
        ("EXISTS Device.WiFi.SSID.1.SSID", "AD"),
        ("NOT EXISTS Device.WiFi.SSID.1.SSID", "BC"),
        ("EXISTS Device.WiFi.SSID.1.", "A"),
        ("Device.WiFi.SSID.*.SSID > guest", "A"),
        // Boolean structure.
        ("tag = lab AND online = false", "D"),
        ("tag = lab OR online = false", "ABD"),
        ("tag = beta OR tag = Beta AND online = true", "A"),
        ("(tag = beta OR tag = Beta) AND online = false", "B"),
        ("NOT (tag = lab OR online = false)", "C"),
        ("", "ABCD"),
    ])
    func selects(_ query: String, _ expected: String) throws {
        #expect(try selected(query) == expected, "\(query)")
    }

    @Test func notIsTheComplementEverywhere() throws {
        let queries = ["modelName != x", "lastBoot < -1d", "Device.WiFi.SSID.*.SSID = guest", "tag ~ b*", "softwareVersion > 2",
                       "Device.WiFi.Radio.1.Channel > 5", "modelName ~ XG*", "instance IS NULL"]
        for query in queries {
            let filter = try FleetFilter(parsing: query)
            let negated = try FleetFilter(parsing: "NOT (\(query))")
            for device in fleet {
                #expect(negated.matches(device, now: now) == !filter.matches(device, now: now), "\(query) on \(device.deviceID)")
            }
        }
    }

    @Test func oddStoredValuesNeverCompareNumerically() throws {
        let filter = try FleetFilter(parsing: "Device.X.Y > -1000")
        for value in ["1e3", " 6", "6 ", "+6", "6.", ".5", "0x10", "", "--1", "1.2.3", String(repeating: "9", count: 401), "٣"] {
            let device = DeviceSnapshot(deviceID: "d", parameters: ["Device.X.Y": ParameterSnapshot(value: value, type: "int")])
            #expect(!filter.matches(device, now: now), "\(value) must not compare numerically")
        }
        let fine = DeviceSnapshot(deviceID: "d", parameters: ["Device.X.Y": ParameterSnapshot(value: String(repeating: "9", count: 400), type: "long")])
        #expect(filter.matches(fine, now: now))
        let object = DeviceSnapshot(deviceID: "d", parameters: ["Device.X.Y": ParameterSnapshot(value: nil, type: "int")])
        #expect(!filter.matches(object, now: now))
        #expect(!(try FleetFilter(parsing: "Device.X.Y != 1")).matches(object, now: now), "NULL values satisfy no test")
        #expect(try FleetFilter(parsing: "EXISTS Device.X.Y").matches(object, now: now))
    }

    @Test func groupKeys() throws {
        let model = try FleetGroupKey(parsing: " modelname ")
        #expect(model == .field(.modelName))
        #expect(fleet.map(model.value(of:)) == ["XG-1", "XG-10", nil, "XG_1"])
        #expect(model.compile().sql == "d.model_name")
        let online = try FleetGroupKey(parsing: "online")
        #expect(fleet.map(online.value(of:)) == ["true", "false", "true", "false"])
        #expect(online.compile().sql == "d.online::text")
        let partition = try FleetGroupKey(parsing: "partition")
        #expect(fleet.map(partition.value(of:)) == ["1", "2", "3", "1"])
        let channel = try FleetGroupKey(parsing: "Device.WiFi.Radio.1.Channel")
        #expect(fleet.map(channel.value(of:)) == ["6", "11", "6.0", "abc"])
        let compiled = channel.compile(firstPlaceholder: 4)
        #expect(compiled.sql == "(SELECT p.value FROM parameters p WHERE p.device_id = d.device_id AND p.path = $4::text)")
        #expect(compiled.binds == [.text("Device.WiFi.Radio.1.Channel")])
        #expect(compiled.nextPlaceholder == 5)
        for bad in ["Device.WiFi.SSID.*.SSID", "Device.WiFi.SSID.1.", "lastContact", "tag", "nope", ""] {
            #expect(throws: FleetQueryError.self, "\(bad)") { try FleetGroupKey(parsing: bad) }
        }
    }
}
