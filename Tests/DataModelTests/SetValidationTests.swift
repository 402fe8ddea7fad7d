import DataModel
import Testing
import TwinfleetModel

@Suite struct SetValidationTests {
    /// Validates a Set and returns the error, recording an issue when it is accepted.
    private func refusal(_ path: String, _ value: String, _ flavour: DeviceProtocol = .cwmp,
                         sourceLocation: SourceLocation = #_sourceLocation) throws -> ValidationError? {
        let schema = try SpecFixtures.schema()
        let parameterPath = try ParameterPath(validating: path)
        return #expect(throws: ValidationError.self, sourceLocation: sourceLocation) {
            try schema.validateSet(path: parameterPath, value: value, protocol: flavour)
        }
    }

    private func accepted(_ path: String, _ value: String, _ flavour: DeviceProtocol = .cwmp) throws -> ParameterValue {
        try SpecFixtures.schema().validateSet(path: try ParameterPath(validating: path), value: value, protocol: flavour)
    }

    @Test func channelInRangeIsTyped() throws {
        #expect(try accepted("Device.WiFi.Radio.1.Channel", "6") == .unsignedInt(6))
        #expect(try accepted("Device.WiFi.Radio.2.Channel", "1") == .unsignedInt(1))
        #expect(try accepted("Device.WiFi.Radio.2.Channel", " 255 ") == .unsignedInt(255))
    }

    @Test func channelOutOfRangeNamesPathValueAndRange() throws {
        let error = try refusal("Device.WiFi.Radio.1.Channel", "300")
        #expect(error?.code == .outOfRange)
        #expect(error?.path == "Device.WiFi.Radio.1.Channel")
        #expect(error?.message == "Device.WiFi.Radio.1.Channel: 300 is outside 1...255")
        #expect(try refusal("Device.WiFi.Radio.1.Channel", "0")?.code == .outOfRange)
    }

    @Test func mistypedValueNamesTheExpectedType() throws {
        let error = try refusal("Device.WiFi.Radio.1.Channel", "eleven")
        #expect(error?.code == .typeMismatch)
        #expect(error?.message.hasPrefix("Device.WiFi.Radio.1.Channel: ") == true)
        #expect(error?.message.contains("xsd:unsignedInt") == true)
        #expect(error?.message.contains("\"eleven\"") == true)
        #expect(try refusal("Device.WiFi.Radio.1.Channel", "-1")?.code == .typeMismatch)
        #expect(try refusal("Device.WiFi.Radio.1.Channel", "4294967296")?.code == .typeMismatch)
    }

    @Test func readOnlyParameterIsRefused() throws {
        let error = try refusal("Device.DeviceInfo.SoftwareVersion", "2.0")
        #expect(error?.code == .notWritable)
        #expect(error?.message == "Device.DeviceInfo.SoftwareVersion: Device.DeviceInfo.SoftwareVersion is read-only")
        #expect(try refusal("Device.WiFi.AccessPoint.1.AssociatedDevice.2.SignalStrength", "-40")?.code == .notWritable)
    }

    @Test func periodicInformIntervalHasAMinimum() throws {
        #expect(try accepted("Device.ManagementServer.PeriodicInformInterval", "3600") == .unsignedInt(3600))
        let error = try refusal("Device.ManagementServer.PeriodicInformInterval", "0")
        #expect(error?.code == .outOfRange)
        #expect(error?.message == "Device.ManagementServer.PeriodicInformInterval: 0 is less than the minimum 1")
    }

    @Test(arguments: [("true", true), ("1", true), ("false", false), ("0", false), ("TRUE", true)])
    func booleanAcceptsTheTR106Spellings(_ text: String, _ expected: Bool) throws {
        #expect(try accepted("Device.WiFi.Radio.1.Enable", text) == .boolean(expected))
    }

    @Test func booleanRefusesOtherWords() throws {
        let error = try refusal("Device.WiFi.Radio.1.Enable", "maybe")
        #expect(error?.code == .typeMismatch)
        #expect(error?.message.contains("xsd:boolean") == true)
    }

    @Test func enumerationIsEnforced() throws {
        #expect(try accepted("Device.WiFi.Radio.1.OperatingFrequencyBand", "5GHz") == .string("5GHz"))
        let error = try refusal("Device.WiFi.Radio.1.OperatingFrequencyBand", "7GHz")
        #expect(error?.code == .notInEnumeration)
        #expect(error?.message == "Device.WiFi.Radio.1.OperatingFrequencyBand: \"7GHz\" is not one of 2.4GHz, 5GHz, 6GHz")
        // Case matters: the standard's values are exact.
        #expect(try refusal("Device.WiFi.Radio.1.OperatingFrequencyBand", "5ghz")?.code == .notInEnumeration)
    }

    @Test func lengthIsEnforced() throws {
        let longest = String(repeating: "p", count: 64)
        #expect(try accepted("Device.DeviceInfo.ProvisioningCode", longest) == .string(longest))
        let error = try refusal("Device.DeviceInfo.ProvisioningCode", longest + "q")
        #expect(error?.code == .tooLong)
        #expect(error?.message.hasSuffix("is 65 characters long, more than the maximum 64") == true)
        // Long values are quoted truncated.
        #expect((error?.message.count ?? .max) < 200)
    }

    @Test func unknownPathsSayWhereTheyLeaveTheModel() throws {
        let typo = try refusal("Device.WiFi.Radio.1.Chanel", "6")
        #expect(typo?.code == .unknownPath)
        #expect(typo?.message == "Device.WiFi.Radio.1.Chanel: not in Device:2.19 (cwmp): Device.WiFi.Radio.{i}. has no parameter or object named Chanel")
        let missingInstance = try refusal("Device.WiFi.Radio.Channel", "6")
        #expect(missingInstance?.code == .unknownPath)
        #expect(missingInstance?.message.contains("Device.WiFi.Radio. is a table: an instance number must follow it") == true)
        let spuriousInstance = try refusal("Device.DeviceInfo.1.ProvisioningCode", "x")
        #expect(spuriousInstance?.message.contains("Device.DeviceInfo. is not a table") == true)
        let wrongRoot = try refusal("Gadget.Name", "x")
        #expect(wrongRoot?.code == .unknownPath)
        #expect(wrongRoot?.message.contains("InternetGatewayDevice.") == true)
        // CWMP-only objects are unknown to USP devices.
        #expect(try refusal("Device.ManagementServer.URL", "http://acs", .usp)?.code == .unknownPath)
        #expect(try refusal("InternetGatewayDevice.ManagementServer.URL", "http://acs", .usp)?.code == .unknownPath)
    }

    @Test func vendorExtensionsAreAcceptedAsStrings() throws {
        #expect(try accepted("Device.X_ACME_Foo.Bar", "anything at all") == .string("anything at all"))
        #expect(try accepted("Device.WiFi.Radio.1.X_ACME_Boost", "3") == .string("3"))
        #expect(try accepted("InternetGatewayDevice.X_00D09E_Diag.Level", "7") == .string("7"))
        // Still only parameters can be set.
        #expect(try refusal("Device.X_ACME_Foo.", "x")?.code == .objectNotParameter)
    }

    @Test func objectsCannotBeSet() throws {
        #expect(try refusal("Device.WiFi.Radio.1.", "x")?.code == .objectNotParameter)
        #expect(try refusal("Device.WiFi.Radio.1", "x")?.code == .objectNotParameter)
        #expect(try refusal("Device.DeviceInfo", "x")?.code == .objectNotParameter)
    }

    @Test func writeOnceParametersOnlyWhenCreating() throws {
        let schema = try SpecFixtures.schema()
        let alias = try ParameterPath(validating: "Device.IP.Interface.1.Alias")
        let error = #expect(throws: ValidationError.self) { try schema.validateSet(path: alias, value: "wan", protocol: .usp) }
        #expect(error?.code == .notWritable)
        #expect(error?.message.contains("writeOnceReadOnly") == true)
        #expect(try schema.validateSet(path: alias, value: "wan", protocol: .usp, creatingInstance: true) == .string("wan"))
        #expect(try schema.validateSet(path: alias, value: "wan", protocol: .cwmp) == .string("wan"))
    }

    @Test func secretsAreNeverQuoted() throws {
        let short = try refusal("Device.WiFi.AccessPoint.1.Security.KeyPassphrase", "hunter2")
        #expect(short?.code == .tooShort)
        #expect(short?.message.contains("hunter2") == false)
        #expect(short?.message.contains("is 7 characters long, fewer than the minimum 8") == true)
        // WEP keys are 5 or 13 bytes, written in hex.
        let key = try accepted("Device.WiFi.AccessPoint.1.Security.WEPKey", "0102030405")
        #expect(key.type == .hexBinary)
        #expect(key.wireString == "0102030405")
        let wep = try refusal("Device.WiFi.AccessPoint.1.Security.WEPKey", "abcdef")
        #expect(wep?.code == .tooShort)
        #expect(wep?.message.contains("allowed lengths are 5, 13") == true)
        #expect(wep?.message.contains("abcdef") == false)
        let mistyped = try refusal("Device.WiFi.AccessPoint.1.Security.WEPKey", "not-hex-secret")
        #expect(mistyped?.code == .typeMismatch)
        #expect(mistyped?.message.contains("not-hex-secret") == false)
    }

    @Test func patternsAreMatched() throws {
        #expect(try accepted("Device.Ethernet.Link.1.MACAddress", "00:1A:2b:3c:4D:5e") == .string("00:1A:2b:3c:4D:5e"))
        #expect(try accepted("Device.Ethernet.Link.1.MACAddress", "") == .string(""))
        let error = try refusal("Device.Ethernet.Link.1.MACAddress", "00-1A-2B-3C-4D-5E")
        #expect(error?.code == .patternMismatch)
        #expect(error?.message.contains("\"00-1A-2B-3C-4D-5E\" does not match") == true)
        #expect(try accepted("Device.IP.Interface.1.IPv4Address.1.IPAddress", "192.168.1.254") == .string("192.168.1.254"))
        #expect(try refusal("Device.IP.Interface.1.IPv4Address.1.IPAddress", "192.168.1.256")?.code == .patternMismatch)
    }

    @Test func rangesWithStepsAndNegativeBounds() throws {
        #expect(try accepted("Device.Bridging.Bridge.1.Port.1.Priority", "32") == .unsignedInt(32))
        let error = try refusal("Device.Bridging.Bridge.1.Port.1.Priority", "33")
        #expect(error?.code == .outOfRange)
        #expect(error?.message == "Device.Bridging.Bridge.1.Port.1.Priority: 33 is outside 0...240 step 16")
        #expect(try accepted("Device.Ethernet.Interface.1.MaxBitRate", "-1") == .int(-1))
        #expect(try refusal("Device.Ethernet.Interface.1.MaxBitRate", "-2")?.message == "Device.Ethernet.Interface.1.MaxBitRate: -2 is less than the minimum -1")
    }

    @Test func listsCheckEveryItemAndTheirCount() throws {
        #expect(try accepted("Device.WiFi.Radio.1.OperatingStandards", "ax, ac,n") == .string("ax, ac,n"))
        #expect(try accepted("Device.WiFi.Radio.1.OperatingStandards", "") == .string(""))
        let item = try refusal("Device.WiFi.Radio.1.OperatingStandards", "ax,wifi7")
        #expect(item?.code == .notInEnumeration)
        #expect(item?.message.hasPrefix("Device.WiFi.Radio.1.OperatingStandards: item 2 \"wifi7\" is not one of a, b") == true)

        #expect(try accepted("Device.Bridging.Bridge.1.Port.1.PriorityRegeneration", "0,1,2,3,4,5,6,7") == .string("0,1,2,3,4,5,6,7"))
        #expect(try refusal("Device.Bridging.Bridge.1.Port.1.PriorityRegeneration", "0,1,2,3,4,5,6")?.code == .tooFewItems)
        #expect(try refusal("Device.Bridging.Bridge.1.Port.1.PriorityRegeneration", "0,1,2,3,4,5,6,7,0")?.code == .tooManyItems)
        let outOfRange = try refusal("Device.Bridging.Bridge.1.Port.1.PriorityRegeneration", "0,1,2,3,4,5,6,8")
        #expect(outOfRange?.code == .outOfRange)
        #expect(outOfRange?.message == "Device.Bridging.Bridge.1.Port.1.PriorityRegeneration: item 8 8 is outside 0...7")
        #expect(try refusal("Device.Bridging.Bridge.1.Port.1.PriorityRegeneration", "0,1,2,3,4,5,6,x")?.code == .typeMismatch)

        let addresses = Array(repeating: "10.0.0.1", count: 5).joined(separator: ",")
        #expect(try refusal("Device.DHCPv4.Server.Pool.1.DNSServers", addresses)?.code == .tooManyItems)
        #expect(try refusal("Device.DHCPv4.Server.Pool.1.DNSServers", "10.0.0.1,10.0.0")?.code == .patternMismatch)
        #expect(try refusal("Device.QoS.Queue.1.TrafficClasses", String(repeating: "1,", count: 130) + "1")?.code == .tooLong)
    }

    @Test func nestedBracketListsStripTheirBrackets() throws {
        let encoding = "[0,1,2,3,4,5,6,7,0,1,2,3,4,5,6,7],[0,1,2,3,4,5,6,7,0,1,2,3,4,5,6,7],[0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0],[7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7]"
        #expect(try accepted("Device.Bridging.Bridge.1.Port.1.PriorityCodePoint.PCPEncoding", encoding) == .string(encoding))
        let bad = encoding.replacing("[7,7", with: "[8,7")
        #expect(try refusal("Device.Bridging.Bridge.1.Port.1.PriorityCodePoint.PCPEncoding", bad)?.code == .patternMismatch)
    }

    @Test func typedValuesAreCheckedThroughTheirText() throws {
        let schema = try SpecFixtures.schema()
        let channel = try ParameterPath(validating: "Device.WiFi.Radio.1.Channel")
        #expect(try schema.validateSet(path: channel, value: .string("11"), protocol: .cwmp) == .unsignedInt(11))
        #expect(try schema.validateSet(path: channel, value: .int(11), protocol: .cwmp) == .unsignedInt(11))
        #expect(throws: ValidationError.self) { try schema.validateSet(path: channel, value: .boolean(true), protocol: .cwmp) }
        #expect(throws: ValidationError.self) { try schema.validateSet(path: channel, value: .unsignedInt(256), protocol: .cwmp) }
        let vendor = try ParameterPath(validating: "Device.X_ACME_Foo.Level")
        #expect(try schema.validateSet(path: vendor, value: .int(-3), protocol: .usp) == .int(-3))
    }

    @Test func internetGatewayDeviceSetsAreChecked() throws {
        #expect(try accepted("InternetGatewayDevice.ManagementServer.URL", "https://acs.example.net:7547/") == .string("https://acs.example.net:7547/"))
        #expect(try refusal("InternetGatewayDevice.ManagementServer.URL", String(repeating: "u", count: 257))?.code == .tooLong)
        #expect(try accepted("InternetGatewayDevice.ManagementServer.PeriodicInformEnable", "1") == .boolean(true))
    }

    @Test func everyCodeHasAStableName() {
        #expect(ValidationError.Code.allCases.map(\.rawValue) == [
            "unknownPath", "objectNotParameter", "parameterNotObject", "notATable", "instanceMismatch", "notWritable",
            "typeMismatch", "outOfRange", "tooShort", "tooLong", "notInEnumeration", "patternMismatch", "tooFewItems", "tooManyItems",
        ])
    }
}
