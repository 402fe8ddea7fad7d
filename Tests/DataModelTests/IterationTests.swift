import DataModel
import Testing
import TwinfleetModel

/// What the device simulator builds realistic data models from.
@Suite struct IterationTests {
    @Test func parametersUnderAnObject() throws {
        let schema = try SpecFixtures.schema()
        let radio = schema.parameters(under: "Device.WiFi.Radio.{i}.", protocol: .cwmp)
        #expect(radio.contains { $0.name == "Channel" && $0.objectPath == "Device.WiFi.Radio.{i}." })
        #expect(radio.contains { $0.objectPath == "Device.WiFi.Radio.{i}.Stats." })
        #expect(radio.allSatisfy { $0.objectPath.hasPrefix("Device.WiFi.Radio.{i}.") })
        // A concrete path selects the same subtree.
        #expect(schema.parameters(under: "Device.WiFi.Radio.1.", protocol: .cwmp).map(\.path) == radio.map(\.path))
        #expect(schema.parameters(under: "Device.Gadget.", protocol: .cwmp).isEmpty)
    }

    @Test func objectsUnderAnObject() throws {
        let schema = try SpecFixtures.schema()
        let wifi = schema.objects(under: "Device.WiFi.", protocol: .usp).map(\.path)
        #expect(wifi.first == "Device.WiFi.")
        #expect(wifi.contains("Device.WiFi.AccessPoint.{i}.AssociatedDevice.{i}."))
        #expect(!wifi.contains("Device.IP."))
    }

    @Test func defaultsAreKeptInWireForm() throws {
        let schema = try SpecFixtures.schema()
        let interface = schema.parameters(under: "Device.IP.Interface.{i}.", protocol: .cwmp)
        let enable = try #require(interface.first { $0.name == "Enable" && $0.objectPath == "Device.IP.Interface.{i}." })
        #expect(enable.defaultValue == DefaultValue(kind: .object, value: "false"))
        let lowerLayers = try #require(interface.first { $0.name == "LowerLayers" && $0.objectPath == "Device.IP.Interface.{i}." })
        #expect(lowerLayers.defaultValue?.value == "")  // "[]" in the file
        let regeneration = try #require(schema.parameters(under: "Device.Bridging.Bridge.{i}.Port.{i}.", protocol: .cwmp)
            .first { $0.name == "PriorityRegeneration" })
        #expect(regeneration.defaultValue?.value == "0,1,2,3,4,5,6,7")
    }

    /// Every default the standard gives must pass the parameter's own validation, or the
    /// simulator would build models the platform refuses.
    @Test func standardDefaultsValidate() throws {
        let schema = try SpecFixtures.schema()
        var checked = 0
        var failures: [String] = []
        for model in schema.models {
            for parameter in model.parameters where parameter.isWritable && parameter.status == .current {
                guard let value = parameter.defaultValue?.value else { continue }
                let concrete = parameter.path.replacing("{i}", with: "1")
                do {
                    _ = try schema.validateSet(path: try ParameterPath(validating: concrete), value: value, protocol: model.protocol)
                    checked += 1
                } catch {
                    failures.append("\(error)")
                }
            }
        }
        #expect(checked > 1000)
        #expect(failures.isEmpty, "defaults refused: \(failures)")
    }
}
