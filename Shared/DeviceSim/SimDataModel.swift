import DataModel
import Foundation
import TwinfleetModel

/// One parameter of a simulated device's data model.
public struct SimParameter: Sendable, Hashable {
    public var value: String
    /// The `xsi:type` without prefix: `string`, `unsignedInt`, `boolean`, …
    public var type: String
    public var writable: Bool

    public init(_ value: String, type: String = "string", writable: Bool = false) {
        self.value = value
        self.type = type
        self.writable = writable
    }
}

/// The kinds of device the simulator builds, each from one Broadband Forum model.
public enum SimDeviceKind: String, Sendable, CaseIterable {
    /// A TR-069 gateway with the TR-181 `Device.` model (CWMP flavour), on fibre (PON).
    case tr181Gateway = "tr181-gateway"
    /// A TR-069 gateway with the TR-098 `InternetGatewayDevice.` model, on DSL.
    case tr098Gateway = "tr098-gateway"
    /// A TR-369 agent with the TR-181 `Device.` model (USP flavour).
    case uspGateway = "usp-gateway"

    public var root: String { self == .tr098Gateway ? "InternetGatewayDevice." : "Device." }
    public var `protocol`: DeviceProtocol { self == .uspGateway ? .usp : .cwmp }
}

/// How big a simulated device's data model is.
public enum SimModelSize: String, Sendable, CaseIterable {
    /// A home gateway as shipped: two radios, four SSIDs and access points with clients, four
    /// Ethernet ports, hosts — about 1,000 parameters (TR-181) or 450 (TR-098).
    case full
    /// One instance of each table, and no statistics objects — about a third of the
    /// parameters, for fleets larger than the twin store can synchronise quickly here.
    case compact
}

/// Builds realistic data models from the Broadband Forum definitions: every current parameter
/// of the objects a home gateway has (identity, management server or local agent, Wi-Fi radios,
/// SSIDs and access points with associated clients, Ethernet ports, the WAN interface, IP
/// interfaces, hosts, CPU/memory/temperature, firmware images), typed and with the standard's
/// writability, with values that fit their types and enumerations. One template per kind is
/// built once; ``device(kind:serial:software:)`` copies it and makes the values that identify
/// one device its own.
public final class SimModelBuilder: Sendable {
    private let templates: [SimDeviceKind: [String: SimParameter]]

    /// Loads the definitions from `directory` (`../shared/specs/data-models`).
    public init(dataModels directory: String, size: SimModelSize = .full) throws {
        let schema = try DataModelSchema.load(directory: directory)
        var templates: [SimDeviceKind: [String: SimParameter]] = [:]
        for kind in SimDeviceKind.allCases {
            guard let model = schema.model(root: String(kind.root.dropLast()), protocol: kind.protocol) else {
                throw SimError("the data models in \(directory) have no \(kind.root) model for \(kind.protocol)")
            }
            var layout = Self.layout(kind)
            if size == .compact {
                layout = layout.filter { !$0.key.hasSuffix("Stats.") && !$0.key.contains("AssociatedDevice") && !$0.key.contains("Hosts.Host") }
                    .mapValues { min($0, 1) }
                for image in layout.keys where image.hasSuffix("FirmwareImage.{i}.") { layout[image] = 2 }
            }
            templates[kind] = Self.template(model, layout: layout)
        }
        self.templates = templates
    }

    /// How many instances of each table a gateway has; single objects are listed with 1.
    /// Objects not listed (and their children) are left out.
    static func layout(_ kind: SimDeviceKind) -> [String: Int] {
        switch kind {
        case .tr181Gateway, .uspGateway:
            var layout: [String: Int] = [
                "Device.": 1, "Device.DeviceInfo.": 1, "Device.DeviceInfo.MemoryStatus.": 1, "Device.DeviceInfo.ProcessStatus.": 1,
                "Device.DeviceInfo.TemperatureStatus.": 1, "Device.DeviceInfo.TemperatureStatus.TemperatureSensor.{i}.": 1,
                "Device.DeviceInfo.FirmwareImage.{i}.": 2,
                "Device.DeviceInfo.VendorConfigFile.{i}.": 1, "Device.DeviceInfo.VendorLogFile.{i}.": 1,
                "Device.Time.": 1,
                "Device.WiFi.": 1, "Device.WiFi.Radio.{i}.": 2, "Device.WiFi.Radio.{i}.Stats.": 1,
                "Device.WiFi.SSID.{i}.": 4, "Device.WiFi.SSID.{i}.Stats.": 1,
                "Device.WiFi.AccessPoint.{i}.": 4, "Device.WiFi.AccessPoint.{i}.Security.": 1,
                "Device.WiFi.AccessPoint.{i}.AssociatedDevice.{i}.": 2,
                "Device.Ethernet.": 1, "Device.Ethernet.Interface.{i}.": 4, "Device.Ethernet.Interface.{i}.Stats.": 1,
                "Device.Optical.": 1, "Device.Optical.Interface.{i}.": 1, "Device.Optical.Interface.{i}.Stats.": 1,
                "Device.IP.": 1, "Device.IP.Interface.{i}.": 2, "Device.IP.Interface.{i}.IPv4Address.{i}.": 1, "Device.IP.Interface.{i}.Stats.": 1,
                "Device.Hosts.": 1, "Device.Hosts.Host.{i}.": 4,
            ]
            if kind == .tr181Gateway {
                layout["Device.ManagementServer."] = 1
            } else {
                layout["Device.LocalAgent."] = 1
                layout["Device.LocalAgent.Controller.{i}."] = 1
            }
            return layout
        case .tr098Gateway:
            let igd = "InternetGatewayDevice."
            return [
                igd: 1, igd + "DeviceInfo.": 1, igd + "DeviceInfo.MemoryStatus.": 1, igd + "DeviceInfo.ProcessStatus.": 1,
                igd + "ManagementServer.": 1, igd + "Time.": 1,
                igd + "LANDevice.{i}.": 1, igd + "LANDevice.{i}.Hosts.": 1, igd + "LANDevice.{i}.Hosts.Host.{i}.": 3,
                igd + "LANDevice.{i}.LANEthernetInterfaceConfig.{i}.": 4, igd + "LANDevice.{i}.LANEthernetInterfaceConfig.{i}.Stats.": 1,
                igd + "LANDevice.{i}.WLANConfiguration.{i}.": 2, igd + "LANDevice.{i}.WLANConfiguration.{i}.AssociatedDevice.{i}.": 2,
                igd + "WANDevice.{i}.": 1, igd + "WANDevice.{i}.WANCommonInterfaceConfig.": 1, igd + "WANDevice.{i}.WANDSLInterfaceConfig.": 1,
                igd + "WANDevice.{i}.WANConnectionDevice.{i}.": 1, igd + "WANDevice.{i}.WANConnectionDevice.{i}.WANIPConnection.{i}.": 1,
            ]
        }
    }

    /// Every parameter of the laid-out objects, instances expanded.
    static func template(_ model: DataModelDefinition, layout: [String: Int]) -> [String: SimParameter] {
        var parameters: [String: SimParameter] = [:]
        for object in model.objects(under: model.root + ".") where object.status == .current || object.status == .deprecated {
            guard let count = layout[object.path], count > 0 else { continue }
            // Every ancestor must be laid out too (a child of a left-out object is left out).
            guard ancestors(of: object.path).allSatisfy({ layout[$0] != nil }) else { continue }
            for instance in instances(of: object.path, layout: layout) {
                for parameter in model.parameters(of: object) where parameter.status == .current {
                    parameters[instance + parameter.name] = SimParameter(
                        initialValue(parameter, instance: instance, layout: layout),
                        type: parameter.type.rawValue, writable: parameter.isWritable)
                }
            }
        }
        return parameters
    }

    /// The object patterns above `pattern`: `A.B.{i}.C.` → `A.B.{i}.`, `A.` (a table's path
    /// without `{i}` is not an object of its own).
    static func ancestors(of pattern: String) -> [String] {
        let parts = pattern.split(separator: ".").map(String.init)
        var result: [String] = []
        for count in stride(from: parts.count - 1, through: 1, by: -1) {
            if count < parts.count, parts[count] == "{i}" { continue }
            result.append(parts[0..<count].joined(separator: ".") + ".")
        }
        return result
    }

    /// The concrete paths of a pattern: each `{i}` replaced by 1…count of its table.
    static func instances(of pattern: String, layout: [String: Int]) -> [String] {
        var results = [""]
        var prefix = ""
        for part in pattern.split(separator: ".") {
            prefix += part + "."
            if part == "{i}" {
                let count = layout[prefix] ?? 1
                results = results.flatMap { base in (1...max(count, 1)).map { "\(base)\($0)." } }
            } else {
                results = results.map { $0 + part + "." }
            }
        }
        return results
    }

    /// A value that fits the parameter: the standard's default, the first enumeration value, a
    /// count of the instances laid out, or a plausible value for its name.
    static func initialValue(_ parameter: ParameterDefinition, instance: String, layout: [String: Int]) -> String {
        let name = parameter.name
        let syntax = parameter.syntax
        if name.hasSuffix("NumberOfEntries") {
            let table = parameter.objectPath + name.dropLast("NumberOfEntries".count) + ".{i}."
            return String(layout[table] ?? 0)
        }
        if let list = syntax.list {
            // A list the standard says is never empty gets its first allowed item.
            guard list.minItems > 0 else { return "" }
            return syntax.value.enumeration.first ?? fit("item", syntax.value)
        }
        if !syntax.value.enumeration.isEmpty {
            for preferred in ["Up", "Enabled", "Complete", "Associated", "Active", "Valid"] where syntax.value.enumeration.contains(preferred) {
                return preferred
            }
            return syntax.value.enumeration[0]
        }
        switch syntax.type {
        case .boolean:
            return name == "Enable" || name == "Active" || name.hasSuffix("Enable") ? "true" : "false"
        case .int, .long, .unsignedInt, .unsignedLong:
            return String(syntax.value.ranges.first?.minimum.map { max($0, 0) } ?? 0)
        case .dateTime:
            return "0001-01-01T00:00:00Z"
        case .hexBinary:
            // Lengths count bytes: two hex digits each.
            return String(repeating: "00", count: minimumLength(syntax.value))
        case .base64:
            return Data(count: minimumLength(syntax.value)).base64EncodedString()
        case .decimal:
            return "0"
        case .string:
            let text: String
            switch name {
            case _ where name.hasSuffix("MACAddress") || name == "PhysAddress": text = "02:00:00:00:00:01"
            case _ where name.hasSuffix("IPAddress"): text = "192.168.1.1"
            case "SubnetMask": text = "255.255.255.0"
            case "Alias": text = "cpe-" + instance.split(separator: ".").suffix(2).joined(separator: "-")
            case "Name": text = instance.split(separator: ".").suffix(2).joined(separator: "")
            case "RegulatoryDomain": text = "US "
            case "RootDataModelVersion": text = "2.19"
            case "KeyPassphrase": text = "twinfleet-sim"
            case "CID": text = "00D09E"
            default: text = ""
            }
            return fit(text, syntax.value)
        }
    }

    /// The shortest length the syntax allows.
    static func minimumLength(_ syntax: ValueSyntax) -> Int {
        syntax.lengths.map(\.minimum).min() ?? 0
    }

    /// `text` cut to the longest allowed length or padded to the shortest.
    static func fit(_ text: String, _ syntax: ValueSyntax) -> String {
        guard let range = syntax.lengths.first(where: { $0.contains(text.count) }) ?? syntax.lengths.first else { return text }
        if range.contains(text.count) { return text }
        if let maximum = range.maximum, text.count > maximum { return String(text.prefix(maximum)) }
        return text + String(repeating: "0", count: range.minimum - text.count)
    }

    /// A copy of the kind's template made one device's own: identity, firmware version,
    /// addresses and counters that differ from device to device (seeded by the serial number,
    /// so the same serial always gives the same device).
    public func device(kind: SimDeviceKind, serial: String, software: String, manufacturer: String = "Acme Networks",
                       oui: String = "00D09E", productClass: String? = nil) -> [String: SimParameter] {
        var parameters = templates[kind] ?? [:]
        var random = SeededRandom(seed: serial)
        let root = kind.root
        func set(_ path: String, _ value: String) {
            if parameters[root + path] != nil { parameters[root + path]!.value = value }
        }
        let model = kind == .tr098Gateway ? "DSL-5400" : kind == .uspGateway ? "USP-GW-7" : "PON-9000"
        set("DeviceInfo.Manufacturer", manufacturer)
        set("DeviceInfo.ManufacturerOUI", oui)
        set("DeviceInfo.ModelName", model)
        set("DeviceInfo.ProductClass", productClass ?? (kind == .tr098Gateway ? "DSL" : "HGW"))
        set("DeviceInfo.SerialNumber", serial)
        set("DeviceInfo.HardwareVersion", "rev-\(random.next(in: 1...4))")
        set("DeviceInfo.SoftwareVersion", software)
        set("DeviceInfo.UpTime", "0")
        set("DeviceInfo.MemoryStatus.Total", "524288")
        set("DeviceInfo.MemoryStatus.Free", String(random.next(in: 150_000...300_000)))
        set("DeviceInfo.ProcessStatus.CPUUsage", String(random.next(in: 2...20)))
        set("DeviceInfo.TemperatureStatus.TemperatureSensor.1.Value", String(random.next(in: 38...55)))
        set("DeviceInfo.TemperatureStatus.TemperatureSensor.1.Name", "SoC")
        set("DeviceInfo.FirmwareImage.1.Version", software)
        set("DeviceInfo.FirmwareImage.1.Name", "bank-1")
        set("DeviceInfo.FirmwareImage.1.Available", "true")
        set("DeviceInfo.FirmwareImage.2.Name", "bank-2")
        set("DeviceInfo.ActiveFirmwareImage", "Device.DeviceInfo.FirmwareImage.1")
        set("ManagementServer.PeriodicInformEnable", "true")
        set("ManagementServer.PeriodicInformInterval", "300")
        for radio in 1...2 {
            let band = radio == 1 ? "2.4GHz" : "5GHz"
            set("WiFi.Radio.\(radio).OperatingFrequencyBand", band)
            set("WiFi.Radio.\(radio).Channel", String(radio == 1 ? [1, 6, 11][random.next(in: 0...2)] : [36, 40, 44, 48, 149][random.next(in: 0...4)]))
            set("WiFi.Radio.\(radio).TransmitPower", "100")
            set("WiFi.Radio.\(radio).Stats.Noise", String(-random.next(in: 88...95)))
        }
        let suffix = String(serial.suffix(4))
        for ssid in 1...4 {
            set("WiFi.SSID.\(ssid).SSID", ssid % 2 == 1 ? "home-\(suffix)" : "guest-\(suffix)")
            set("WiFi.SSID.\(ssid).Enable", ssid <= 2 ? "true" : "false")
            set("WiFi.SSID.\(ssid).MACAddress", Self.mac(serial, 0x10 + ssid))
            set("WiFi.SSID.\(ssid).BSSID", Self.mac(serial, 0x10 + ssid))
            set("WiFi.SSID.\(ssid).LowerLayers", "Device.WiFi.Radio.\(ssid % 2 == 1 ? 1 : 2)")
            set("WiFi.AccessPoint.\(ssid).SSIDReference", "Device.WiFi.SSID.\(ssid)")
            for client in 1...2 {
                set("WiFi.AccessPoint.\(ssid).AssociatedDevice.\(client).MACAddress", Self.mac(serial + "c\(ssid)", client))
                set("WiFi.AccessPoint.\(ssid).AssociatedDevice.\(client).SignalStrength", String(-random.next(in: 45...70)))
                set("WiFi.AccessPoint.\(ssid).AssociatedDevice.\(client).LastDataDownlinkRate", String(random.next(in: 50_000...400_000)))
                set("WiFi.AccessPoint.\(ssid).AssociatedDevice.\(client).LastDataUplinkRate", String(random.next(in: 20_000...200_000)))
            }
        }
        for port in 1...4 {
            set("Ethernet.Interface.\(port).MACAddress", Self.mac(serial, 0x20 + port))
            set("Ethernet.Interface.\(port).MaxBitRate", "1000")
            set("LANDevice.1.LANEthernetInterfaceConfig.\(port).MACAddress", Self.mac(serial, 0x20 + port))
        }
        for wlan in 1...2 {
            set("LANDevice.1.WLANConfiguration.\(wlan).SSID", wlan == 1 ? "home-\(suffix)" : "guest-\(suffix)")
            set("LANDevice.1.WLANConfiguration.\(wlan).BSSID", Self.mac(serial, 0x10 + wlan))
            set("LANDevice.1.WLANConfiguration.\(wlan).Channel", String(wlan == 1 ? 6 : 36))
            for client in 1...2 {
                set("LANDevice.1.WLANConfiguration.\(wlan).AssociatedDevice.\(client).AssociatedDeviceMACAddress", Self.mac(serial + "c\(wlan)", client))
            }
        }
        let wan = "100.\(64 + random.next(in: 0...63)).\(random.next(in: 0...255)).\(random.next(in: 1...254))"
        set("IP.Interface.1.IPv4Address.1.IPAddress", wan)
        set("IP.Interface.2.IPv4Address.1.IPAddress", "192.168.1.1")
        set("WANDevice.1.WANConnectionDevice.1.WANIPConnection.1.ExternalIPAddress", wan)
        for host in 1...4 {
            set("Hosts.Host.\(host).PhysAddress", Self.mac(serial + "h", host))
            set("Hosts.Host.\(host).IPAddress", "192.168.1.\(100 + host)")
            set("Hosts.Host.\(host).HostName", ["laptop", "phone", "tv", "printer"][host - 1])
            set("LANDevice.1.Hosts.Host.\(host).MACAddress", Self.mac(serial + "h", host))
            set("LANDevice.1.Hosts.Host.\(host).IPAddress", "192.168.1.\(100 + host)")
            set("LANDevice.1.Hosts.Host.\(host).HostName", ["laptop", "phone", "tv", "printer"][host - 1])
        }
        return parameters
    }

    /// A locally administered MAC address derived from `seed` and `index`.
    static func mac(_ seed: String, _ index: Int) -> String {
        var hash: UInt64 = 1469598103934665603
        for byte in seed.utf8 { hash = (hash ^ UInt64(byte)) &* 1099511628211 }
        let bytes = [0x02, UInt8(truncatingIfNeeded: hash >> 8), UInt8(truncatingIfNeeded: hash >> 16), UInt8(truncatingIfNeeded: hash >> 24),
                     UInt8(truncatingIfNeeded: hash >> 32), UInt8(truncatingIfNeeded: index)]
        return bytes.map { String(format: "%02X", $0) }.joined(separator: ":")
    }
}

/// A small deterministic generator (SplitMix64) seeded by text.
struct SeededRandom {
    private var state: UInt64

    init(seed: String) {
        var hash: UInt64 = 1469598103934665603
        for byte in seed.utf8 { hash = (hash ^ UInt64(byte)) &* 1099511628211 }
        state = hash
    }

    mutating func next() -> UInt64 {
        state &+= 0x9E3779B97F4A7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58476D1CE4E5B9
        z = (z ^ (z >> 27)) &* 0x94D049BB133111EB
        return z ^ (z >> 31)
    }

    mutating func next(in range: ClosedRange<Int>) -> Int {
        range.lowerBound + Int(next() % UInt64(range.count))
    }

    /// True with probability `p`.
    mutating func chance(_ p: Double) -> Bool { Double(next() % 1_000_000) / 1_000_000 < p }
}

/// A simulator error with its reason.
public struct SimError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}
