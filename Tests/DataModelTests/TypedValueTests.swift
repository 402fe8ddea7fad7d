import DataModel
import Testing
import TwinfleetModel

@Suite struct TypedValueTests {
    private func typed(_ path: String, _ text: String, _ flavour: DeviceProtocol = .cwmp) throws -> ParameterValue {
        try SpecFixtures.schema().typedValue(path: try ParameterPath(validating: path), text: text, protocol: flavour)
    }

    @Test func reportsAreReadAsTheDeclaredType() throws {
        #expect(try typed("Device.WiFi.Radio.1.Channel", "11") == .unsignedInt(11))
        #expect(try typed("Device.WiFi.Radio.1.Enable", "1") == .boolean(true))
        #expect(try typed("Device.Ethernet.Interface.1.MaxBitRate", "-1") == .int(-1))
        #expect(try typed("Device.IP.Interface.1.Stats.BytesSent", "18446744073709551615") == .unsignedLong(.max))
        #expect(try typed("Device.DeviceInfo.SoftwareVersion", "1.2.3") == .string("1.2.3"))
        #expect(try typed("Device.ManagementServer.PeriodicInformTime", "0001-01-01T00:00:00Z") == .dateTime(ParameterValue.unknownTime))
        #expect(try typed("InternetGatewayDevice.ManagementServer.PeriodicInformInterval", "300") == .unsignedInt(300))
        // Constraints are the device's business: a report outside the range is still typed.
        #expect(try typed("Device.WiFi.Radio.1.Channel", "300") == .unsignedInt(300))
    }

    @Test func unparsableUnknownAndListReportsStayStrings() throws {
        #expect(try typed("Device.WiFi.Radio.1.Channel", "") == .string(""))
        #expect(try typed("Device.WiFi.Radio.1.Channel", "auto") == .string("auto"))
        #expect(try typed("Device.X_ACME_Foo.Level", "7") == .string("7"))
        #expect(try typed("Device.Gadget.Level", "7") == .string("7"))
        #expect(try typed("Device.WiFi.Radio.1.OperatingStandards", "ax,ac") == .string("ax,ac"))
        #expect(try typed("Device.WiFi.Radio.1.", "1") == .string("1"))
    }

    @Test func typeOfAPath() throws {
        let schema = try SpecFixtures.schema()
        #expect(schema.type(of: try ParameterPath(validating: "Device.WiFi.Radio.4.Channel"), protocol: .usp) == .unsignedInt)
        #expect(schema.type(of: try ParameterPath(validating: "Device.WiFi.Radio.4."), protocol: .usp) == nil)
        #expect(schema.type(of: try ParameterPath(validating: "Device.X_ACME_Foo.Level"), protocol: .usp) == nil)
    }
}
