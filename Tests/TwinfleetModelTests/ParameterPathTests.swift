import Foundation
import Testing
import TwinfleetModel

private func path(_ text: String) throws -> ParameterPath { try ParameterPath(validating: text) }

@Suite struct ParameterPathTests {
    @Test func parameterPath() throws {
        let channel = try path("Device.WiFi.Radio.1.Channel")
        #expect(!channel.isObject)
        #expect(channel.components == ["Device", "WiFi", "Radio", "1", "Channel"])
        #expect(channel.root == "Device")
        #expect(channel.parent == (try path("Device.WiFi.Radio.1.")))
        #expect(channel.description == "Device.WiFi.Radio.1.Channel")
    }

    @Test func objectPath() throws {
        let radio = try path("Device.WiFi.Radio.1.")
        #expect(radio.isObject)
        #expect(radio.components == ["Device", "WiFi", "Radio", "1"])
        #expect(radio.parent == (try path("Device.WiFi.Radio.")))
    }

    @Test func parentChainEndsAtTheRoot() throws {
        var chain: [String] = []
        var current: ParameterPath? = try path("InternetGatewayDevice.LANDevice.1.Hosts.HostNumberOfEntries")
        while let next = current {
            chain.append(next.rawValue)
            current = next.parent
        }
        #expect(chain == [
            "InternetGatewayDevice.LANDevice.1.Hosts.HostNumberOfEntries",
            "InternetGatewayDevice.LANDevice.1.Hosts.",
            "InternetGatewayDevice.LANDevice.1.",
            "InternetGatewayDevice.LANDevice.",
            "InternetGatewayDevice.",
        ])
        #expect(try path("InternetGatewayDevice.").root == "InternetGatewayDevice")
    }

    @Test(arguments: [
        ("", "empty"),
        (".", "starts with a dot"),
        (".Device.", "starts with a dot"),
        ("Device..WiFi", "empty component at byte 7"),
        ("Device.WiFi..", "empty component at byte 12"),
        ("Device.WiFi.SSID.*.", "at byte 17"),
        ("Device.WiFi.SSID.{i}.", "at byte 17"),
        ("Device.WiFi.SSID.[Enable==true].", "at byte 17"),
        ("Device. WiFi", "at byte 7"),
        ("Device.Wi/Fi", "at byte 9"),
        ("Device.Gerät", "at byte 10"),
        ("Device.WiFi\n", "at byte 11"),
    ])
    func refusesMalformedPaths(_ text: String, _ detail: String) {
        let error = #expect(throws: ModelError.self) { try ParameterPath(validating: text) }
        #expect(error?.code == .invalidPath)
        #expect(error?.message.contains(detail) == true, "\(error?.message ?? "") should mention \(detail)")
    }

    @Test func acceptsHyphensUnderscoresAndDigits() throws {
        _ = try path("Device.X_example-com_Thing.1.Foo_Bar-2")
    }

    @Test func lengthLimit() throws {
        let long = "Device." + String(repeating: "A", count: ParameterPath.maxLength - 7)
        #expect(try path(long).rawValue.utf8.count == ParameterPath.maxLength)
        #expect(throws: ModelError.self) { try path(long + "A") }
    }

    @Test(arguments: [
        ("Device.X_00D09E_Diagnostics.Foo", true),
        ("Device.WiFi.Radio.1.X_ACME_Boost", true),
        ("X_ACME.", true),
        ("Device.XWiFi.Enable", false),
        ("Device.DeviceInfo.X", false),
        ("Device.WiFi.SSID.1.SSID", false),
    ])
    func vendorSpecific(_ text: String, _ expected: Bool) throws {
        #expect(try path(text).isVendorSpecific == expected)
    }

    @Test func subtreeTestsAreComponentWise() throws {
        let radio1 = try path("Device.WiFi.Radio.1.")
        #expect(try path("Device.WiFi.Radio.1.Channel").hasPrefix(radio1))
        #expect(try path("Device.WiFi.Radio.1.Stats.BytesSent").hasPrefix(radio1))
        #expect(radio1.hasPrefix(radio1))
        #expect(try !path("Device.WiFi.Radio.10.Channel").hasPrefix(radio1))
        #expect(try !path("Device.WiFi.Radio.").hasPrefix(radio1))
        #expect(try path("Device.WiFi.Radio.1.Channel").hasPrefix(path("Device.")))
    }

    @Test func aParameterIsOnlyAPrefixOfItself() throws {
        let channel = try path("Device.WiFi.Radio.1.Channel")
        #expect(channel.hasPrefix(channel))
        #expect(try !path("Device.WiFi.Radio.1.ChannelsInUse").hasPrefix(channel))
    }

    @Test func appending() throws {
        let radio = try path("Device.WiFi.Radio.1.")
        #expect(try radio.appending("Channel") == path("Device.WiFi.Radio.1.Channel"))
        #expect(try radio.appending("Stats", isObject: true) == path("Device.WiFi.Radio.1.Stats."))
        #expect(throws: ModelError.self) { try radio.appending("a.b") }
        #expect(throws: ModelError.self) { try radio.appending("") }
        let error = #expect(throws: ModelError.self) { try path("Device.WiFi.Radio.1.Channel").appending("X") }
        #expect(error?.message.contains("not an object path") == true)
    }

    @Test func ordersLikeTheDataModel() throws {
        let shuffled = [
            "Device.WiFi.Radio.10.", "Device.WiFi.Radio.2.Channel", "Device.WiFi.Radio.2.", "Device.WiFi.",
            "Device.WiFi.Radio.1.Channel", "Device.WiFi.Radio.1.", "Device.WiFi.Radio.1.Alias", "Device.DeviceInfo.",
            "Device.WiFi.Radio.", "Device.WiFi.RadioNumberOfEntries",
        ]
        let sorted = try shuffled.map(path).sorted().map(\.rawValue)
        #expect(sorted == [
            "Device.DeviceInfo.",
            "Device.WiFi.",
            "Device.WiFi.Radio.",
            "Device.WiFi.Radio.1.",
            "Device.WiFi.Radio.1.Alias",
            "Device.WiFi.Radio.1.Channel",
            "Device.WiFi.Radio.2.",
            "Device.WiFi.Radio.2.Channel",
            "Device.WiFi.Radio.10.",
            "Device.WiFi.RadioNumberOfEntries",
        ])
    }

    @Test func orderIsStrictEvenForEqualNumbers() throws {
        let padded = try path("Device.Radio.01.")
        let plain = try path("Device.Radio.1.")
        #expect(padded != plain)
        #expect((padded < plain) != (plain < padded))
        #expect(!(plain < plain))
        // Numbers longer than 64 bits still compare by value.
        #expect(try path("Device.A.99.") < path("Device.A.100000000000000000000000."))
    }

    @Test func codableAsPlainString() throws {
        let channel = try path("Device.WiFi.Radio.1.Channel")
        let json = try JSONEncoder().encode([channel])
        #expect(String(decoding: json, as: UTF8.self) == #"["Device.WiFi.Radio.1.Channel"]"#)
        #expect(try JSONDecoder().decode([ParameterPath].self, from: json) == [channel])
        #expect(throws: DecodingError.self) { try JSONDecoder().decode([ParameterPath].self, from: Data(#"["Device..X"]"#.utf8)) }
    }
}
