import DataModel
import Testing
import TwinfleetModel

@Suite struct ObjectValidationTests {
    private func path(_ text: String) throws -> ParameterPath { try ParameterPath(validating: text) }

    @Test func addAndDeleteOnAWritableTable() throws {
        let schema = try SpecFixtures.schema()
        let added = try schema.validateAddObject(path: try path("Device.IP.Interface."), protocol: .cwmp)
        #expect(added?.path == "Device.IP.Interface.{i}.")
        let deleted = try schema.validateDeleteObject(path: try path("Device.IP.Interface.3."), protocol: .usp)
        #expect(deleted?.path == "Device.IP.Interface.{i}.")
        // Nested writable tables.
        #expect(try schema.validateAddObject(path: try path("Device.IP.Interface.1.IPv4Address."), protocol: .cwmp)?.path == "Device.IP.Interface.{i}.IPv4Address.{i}.")
        #expect(try schema.validateAddObject(path: try path("InternetGatewayDevice.WANDevice.1.WANConnectionDevice.1.WANIPConnection.1.PortMapping."), protocol: .cwmp) != nil)
    }

    @Test func instanceNumbersMustMatchTheOperation() throws {
        let schema = try SpecFixtures.schema()
        let add = #expect(throws: ValidationError.self) { try schema.validateAddObject(path: try path("Device.IP.Interface.2."), protocol: .cwmp) }
        #expect(add?.code == .instanceMismatch)
        #expect(add?.message == "Device.IP.Interface.2.: Add takes the table's path without an instance number, e.g. Device.IP.Interface.")
        let delete = #expect(throws: ValidationError.self) { try schema.validateDeleteObject(path: try path("Device.IP.Interface."), protocol: .cwmp) }
        #expect(delete?.code == .instanceMismatch)
    }

    @Test func readOnlyTablesAndSingleObjectsAreRefused() throws {
        let schema = try SpecFixtures.schema()
        let radio = #expect(throws: ValidationError.self) { try schema.validateAddObject(path: try path("Device.WiFi.Radio."), protocol: .cwmp) }
        #expect(radio?.code == .notWritable)
        #expect(radio?.message.contains("Device.WiFi.Radio.{i}. is a read-only table") == true)
        let associated = #expect(throws: ValidationError.self) {
            try schema.validateDeleteObject(path: try path("Device.WiFi.AccessPoint.1.AssociatedDevice.4."), protocol: .usp)
        }
        #expect(associated?.code == .notWritable)
        let single = #expect(throws: ValidationError.self) { try schema.validateAddObject(path: try path("Device.DeviceInfo."), protocol: .cwmp) }
        #expect(single?.code == .notATable)
    }

    @Test func unknownParametersAndVendorObjects() throws {
        let schema = try SpecFixtures.schema()
        let unknown = #expect(throws: ValidationError.self) { try schema.validateAddObject(path: try path("Device.Gadget."), protocol: .cwmp) }
        #expect(unknown?.code == .unknownPath)
        let parameter = #expect(throws: ValidationError.self) { try schema.validateAddObject(path: try path("Device.IP.Interface.1.Enable"), protocol: .cwmp) }
        #expect(parameter?.code == .parameterNotObject)
        #expect(try schema.validateAddObject(path: try path("Device.X_ACME_Things."), protocol: .cwmp) == nil)
        #expect(try schema.validateDeleteObject(path: try path("Device.X_ACME_Things.4."), protocol: .usp) == nil)
    }
}
