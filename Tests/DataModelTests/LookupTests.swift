import DataModel
import Testing
import TwinfleetModel

@Suite struct LookupTests {
    private func parameter(_ path: String, _ flavour: DeviceProtocol = .cwmp) throws -> ParameterDefinition {
        let schema = try SpecFixtures.schema()
        let node = schema.lookup(try ParameterPath(validating: path), protocol: flavour)
        guard case .parameter(let definition)? = node else {
            Issue.record("\(path) (\(flavour)) is \(node.map { "\($0)" } ?? "unknown"), not a parameter")
            throw LookupFailure()
        }
        return definition
    }

    private struct LookupFailure: Error {}

    @Test(arguments: DeviceProtocol.allCases)
    func softwareVersionIsAReadOnlyString(_ flavour: DeviceProtocol) throws {
        let version = try parameter("Device.DeviceInfo.SoftwareVersion", flavour)
        #expect(version.path == "Device.DeviceInfo.SoftwareVersion")
        #expect(version.type == .string)
        #expect(version.access == .readOnly)
        #expect(!version.isWritable)
        #expect(version.syntax.value.lengths == [LengthRange(minimum: 0, maximum: 64)])
    }

    @Test func radioChannelIsWritableUnsignedIntFrom1To255() throws {
        let channel = try parameter("Device.WiFi.Radio.3.Channel")
        #expect(channel.path == "Device.WiFi.Radio.{i}.Channel")
        #expect(channel.objectPath == "Device.WiFi.Radio.{i}.")
        #expect(channel.type == .unsignedInt)
        #expect(channel.access == .readWrite)
        #expect(channel.syntax.value.ranges == [NumericRange(minimum: 1, maximum: 255)])
    }

    @Test func periodicInformIntervalIsWritableWithMinimumOne() throws {
        let interval = try parameter("Device.ManagementServer.PeriodicInformInterval")
        #expect(interval.type == .unsignedInt)
        #expect(interval.isWritable)
        #expect(interval.syntax.value.ranges == [NumericRange(minimum: 1)])
        #expect(interval.syntax.value.units == "seconds")
        // ManagementServer is the CWMP flavour's; USP agents have LocalAgent instead.
        let schema = try SpecFixtures.schema()
        #expect(schema.lookup(try ParameterPath(validating: "Device.ManagementServer.PeriodicInformInterval"), protocol: .usp) == nil)
    }

    /// `OperatingFrequencyBand` borrows its values from `SupportedFrequencyBands` through an
    /// `<enumerationRef>`.
    @Test(arguments: DeviceProtocol.allCases)
    func operatingFrequencyBandHasTheStandardBands(_ flavour: DeviceProtocol) throws {
        let band = try parameter("Device.WiFi.Radio.1.OperatingFrequencyBand", flavour)
        #expect(band.syntax.value.enumeration.contains("2.4GHz"))
        #expect(band.syntax.value.enumeration.contains("5GHz"))
        #expect(band.syntax.value.enumeration.contains("6GHz"))
        #expect(!band.syntax.value.enumeration.contains("60GHz"))
        let standards = try parameter("Device.WiFi.Radio.1.OperatingStandards", flavour)
        #expect(standards.syntax.list != nil)
        #expect(standards.type == .string)
        #expect(standards.syntax.value.enumeration == ["a", "b", "g", "n", "ac", "ax", "be"])
    }

    @Test func enumerationReferencesResolveUpwardsAndFromTheRoot() throws {
        // "##.Security.ModesSupported", made in Device.WiFi.EndPoint.{i}.Profile.{i}.Security.
        let endPointMode = try parameter("Device.WiFi.EndPoint.1.Profile.2.Security.ModeEnabled", .usp)
        #expect(endPointMode.syntax.value.enumeration.contains("WPA2-Personal"))
        // ".IPsec.IKEv2SupportedEncryptionAlgorithms", relative to Device.
        let algorithms = try parameter("Device.IPsec.Profile.1.IKEv2AllowedEncryptionAlgorithms")
        #expect(algorithms.syntax.value.enumeration.contains("AES-CBC"))
    }

    @Test func internetGatewayDeviceManagementServerURLIsWritable() throws {
        let url = try parameter("InternetGatewayDevice.ManagementServer.URL")
        #expect(url.type == .string)
        #expect(url.isWritable)
        #expect(url.syntax.value.lengths.first?.maximum == 256)
    }

    @Test func ipInterfaceIsAWritableTable() throws {
        let schema = try SpecFixtures.schema()
        for text in ["Device.IP.Interface.1.", "Device.IP.Interface."] {
            guard case .object(let table)? = schema.lookup(try ParameterPath(validating: text), protocol: .cwmp) else {
                Issue.record("\(text) does not resolve to an object")
                continue
            }
            #expect(table.path == "Device.IP.Interface.{i}.")
            #expect(table.isTable)
            #expect(table.access == .readWrite)
            #expect(table.canAddAndDelete)
            #expect(table.minEntries == 0)
            #expect(table.maxEntries == nil)
            #expect(table.numEntriesParameter == "InterfaceNumberOfEntries")
        }
        guard case .object(let deviceInfo)? = schema.lookup(try ParameterPath(validating: "Device.DeviceInfo."), protocol: .cwmp) else {
            Issue.record("Device.DeviceInfo. is not an object")
            return
        }
        #expect(!deviceInfo.isTable)
        #expect(deviceInfo.maxEntries == 1)
    }

    @Test func nestedTablesResolve() throws {
        let signal = try parameter("Device.WiFi.AccessPoint.2.AssociatedDevice.7.SignalStrength")
        #expect(signal.path == "Device.WiFi.AccessPoint.{i}.AssociatedDevice.{i}.SignalStrength")
        #expect(signal.type == .int)
        #expect(!signal.isWritable)
        #expect(signal.syntax.value.ranges == [NumericRange(minimum: -200, maximum: 0)])
        #expect(signal.syntax.value.units == "dBm")
    }

    @Test(arguments: [
        "Device.DeviceInfo.1.SoftwareVersion",  // a number where there is no table
        "Device.WiFi.Radio.Channel",  // a table without its instance
        "Device.WiFi.Radio.1.Chanel",  // a typo
        "Device.WiFi.Radio.1.2.Channel",
        "Gadget.WiFi.Radio.1.Channel",  // an unknown root
    ])
    func pathsOutsideTheModelAreUnknown(_ text: String) throws {
        let schema = try SpecFixtures.schema()
        #expect(schema.lookup(try ParameterPath(validating: text), protocol: .cwmp) == nil)
    }

    @Test func namedDataTypesResolveToPrimitives() throws {
        let mac = try parameter("Device.Ethernet.Link.1.MACAddress")
        #expect(mac.type == .string)
        #expect(mac.syntax.value.dataType == "MACAddress")
        #expect(mac.syntax.value.lengths == [LengthRange(maximum: 17)])
        #expect(mac.syntax.value.patterns == ["", "([0-9A-Fa-f][0-9A-Fa-f]:){5}([0-9A-Fa-f][0-9A-Fa-f])"])

        // IPv4Address derives from IPAddress and narrows its length.
        let address = try parameter("Device.IP.Interface.1.IPv4Address.1.IPAddress")
        #expect(address.syntax.value.dataType == "IPv4Address")
        #expect(address.syntax.value.lengths == [LengthRange(maximum: 15)])

        let bytes = try parameter("Device.IP.Interface.1.Stats.BytesSent")
        #expect(bytes.type == .unsignedLong)
        #expect(bytes.syntax.value.dataType == "StatsCounter64")

        // TR-098 resolves IPAddress through its own copy of the common types.
        let igdAddress = try parameter("InternetGatewayDevice.LANDevice.1.LANHostConfigManagement.IPInterface.1.IPInterfaceIPAddress")
        #expect(igdAddress.syntax.value.dataType == "IPAddress")
        #expect(igdAddress.type == .string)
    }

    @Test func aliasAccessDiffersByFlavour() throws {
        #expect(try parameter("Device.IP.Interface.1.Alias", .cwmp).access == .readWrite)
        #expect(try parameter("Device.IP.Interface.1.Alias", .usp).access == .writeOnceReadOnly)
        #expect(try parameter("Device.IP.Interface.1.Alias", .usp).syntax.value.lengths == [LengthRange(maximum: 64)])
    }

    @Test func securedParametersAreMarked() throws {
        #expect(try parameter("Device.WiFi.AccessPoint.1.Security.KeyPassphrase").syntax.isSecured)
        #expect(try parameter("Device.ManagementServer.Password").syntax.isSecured)  // hidden="true"
        #expect(try !parameter("Device.ManagementServer.URL").syntax.isSecured)
    }

    @Test func uspPathTextAcceptsReferencesWildcardsCommandsAndEvents() throws {
        let schema = try SpecFixtures.schema()
        for text in ["Device.WiFi.Radio.[cpe-1].Channel", "Device.WiFi.Radio.*.Channel", "Device.WiFi.Radio.{i}.Channel",
                     "Device.WiFi.Radio.[Name==\"wl0.1\"].Channel", "Device.WiFi.Radio.2.Channel"] {
            #expect(schema.lookup(text, protocol: .usp)?.path == "Device.WiFi.Radio.{i}.Channel", "\(text)")
        }
        #expect(schema.lookup("Device.WiFi.Radio.[cpe-1.Channel", protocol: .usp) == nil)
        #expect(schema.lookup("Device..WiFi", protocol: .usp) == nil)

        guard case .command(let reboot)? = schema.lookup("Device.Reboot()", protocol: .usp) else {
            Issue.record("Device.Reboot() is not a command")
            return
        }
        #expect(!reboot.isAsync)
        #expect(reboot.inputArguments.map(\.name) == ["Cause", "Reason"])
        #expect(reboot.inputArguments.first?.syntax.value.enumeration == ["LocalReboot", "RemoteReboot"])
        #expect(schema.lookup("Device.Reboot()", protocol: .cwmp) == nil)

        guard case .command(let scan)? = schema.lookup("Device.WiFi.Radio.1.ChannelScan()", protocol: .usp) else {
            Issue.record("ChannelScan() is not a command")
            return
        }
        #expect(scan.isAsync)
        #expect(scan.inputArguments.filter(\.isMandatory).map(\.name) == ["DwellTime", "DFSDwellTime", "OpClass.{i}.OperatingClass", "OpClass.{i}.Channel.{i}.Channel"])
        #expect(scan.inputArguments.map(\.name).contains("OpClass.{i}.Channel.{i}.Channel"))
        #expect(scan.outputArguments.first?.name == "Status")

        guard case .event(let boot)? = schema.lookup("Device.Boot!", protocol: .usp) else {
            Issue.record("Device.Boot! is not an event")
            return
        }
        #expect(boot.arguments.map(\.name) == ["CommandKey", "Cause", "Reason", "FirmwareUpdated", "ParameterMap"])
        #expect(boot.path == "Device.Boot!")
    }
}
