/// A TR-069 / USP parameter or object path, e.g. `Device.WiFi.Radio.1.Channel` (a parameter) or
/// `Device.WiFi.Radio.1.` (an object: it ends with a dot).
///
/// Only full instance paths are accepted: components are non-empty and made of ASCII letters,
/// digits, `_` and `-`. USP search expressions (`*`, `[Enable==true]`) and TR-106 `{i}`
/// placeholders are not paths of one object and belong to the codecs.
public struct ParameterPath: Hashable, Sendable, CustomStringConvertible {
    /// Longest accepted path, in bytes: four times TR-069's `string(256)`, since real data models
    /// with vendor extensions exceed it.
    public static let maxLength = 1024

    /// The path as text, e.g. `Device.WiFi.Radio.1.Channel`.
    public let rawValue: String

    /// Validates `text` as a parameter path or (with a trailing dot) an object path.
    public init(validating text: String) throws(ModelError) {
        if text.isEmpty {
            throw ModelError(.invalidPath, "path is empty")
        }
        if text.utf8.count > Self.maxLength {
            throw ModelError(.invalidPath, "path is \(text.utf8.count) bytes long, more than \(Self.maxLength): \(ModelError.quote(text))")
        }
        var componentStart = true
        for (offset, byte) in text.utf8.enumerated() {
            if byte == UInt8(ascii: ".") {
                if componentStart {
                    let what = offset == 0 ? "starts with a dot" : "has an empty component at byte \(offset)"
                    throw ModelError(.invalidPath, "path \(what): \(ModelError.quote(text))")
                }
                componentStart = true
            } else if Self.isNameByte(byte) {
                componentStart = false
            } else {
                throw ModelError(.invalidPath, "path has a character other than a letter, digit, '_', '-' or '.' at byte \(offset): \(ModelError.quote(text))")
            }
        }
        rawValue = text
    }

    /// The path as text.
    public var description: String { rawValue }

    /// True for an object path (one that ends with a dot).
    public var isObject: Bool { rawValue.utf8.last == UInt8(ascii: ".") }

    /// The names and instance numbers along the path: `["Device", "WiFi", "Radio", "1"]` for
    /// `Device.WiFi.Radio.1.`.
    public var components: [String] {
        rawValue.split(separator: ".").map(String.init)
    }

    /// The first component: `Device` (TR-181, USP) or `InternetGatewayDevice` (TR-098).
    public var root: String {
        String(rawValue.prefix { $0 != "." })
    }

    /// The object that contains this path: `Device.WiFi.Radio.1.` for `Device.WiFi.Radio.1.Channel`,
    /// `Device.WiFi.Radio.` for `Device.WiFi.Radio.1.`; nil for a root such as `Device.`.
    public var parent: ParameterPath? {
        let names = components
        guard names.count > 1 else { return nil }
        return ParameterPath(unchecked: names.dropLast().joined(separator: ".") + ".")
    }

    /// True when any component is a vendor extension (starts with `X_`, as in
    /// `Device.X_00D09E_Diagnostics.`).
    public var isVendorSpecific: Bool {
        components.contains { $0.hasPrefix("X_") }
    }

    /// True when this path is `other` or lies in the subtree of the object path `other`
    /// (component-wise: `Device.WiFi.Radio.10.` is not under `Device.WiFi.Radio.1`). A parameter
    /// path has no subtree, so it is only a prefix of itself.
    public func hasPrefix(_ other: ParameterPath) -> Bool {
        if other.isObject {
            return rawValue.utf8.starts(with: other.rawValue.utf8)
        }
        return self == other
    }

    /// The path of `name` inside this object path; `isObject` adds the trailing dot.
    /// Throws when this is not an object path or `name` is not one valid component.
    public func appending(_ name: String, isObject: Bool = false) throws(ModelError) -> ParameterPath {
        guard self.isObject else {
            throw ModelError(.invalidPath, "cannot append to \(ModelError.quote(rawValue)): it is a parameter, not an object path")
        }
        guard !name.isEmpty, name.utf8.allSatisfy(Self.isNameByte) else {
            throw ModelError(.invalidPath, "\(ModelError.quote(name)) is not a path component")
        }
        return try ParameterPath(validating: rawValue + name + (isObject ? "." : ""))
    }

    /// Wraps text already known to be valid.
    private init(unchecked text: String) { rawValue = text }

    private static func isNameByte(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
             UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "_"), UInt8(ascii: "-"):
            return true
        default:
            return false
        }
    }
}

extension ParameterPath: Comparable {
    /// Data-model order: component by component, instance numbers numerically
    /// (`Radio.2` before `Radio.10`), an object before its own parameters and children; paths
    /// that still tie (`Radio.01` and `Radio.1`) are ordered by their bytes.
    public static func < (lhs: ParameterPath, rhs: ParameterPath) -> Bool {
        // Splitting keeps the empty component after an object path's trailing dot; it sorts
        // first, which puts an object before everything inside it.
        let left = lhs.rawValue.utf8.split(separator: UInt8(ascii: "."), omittingEmptySubsequences: false)
        let right = rhs.rawValue.utf8.split(separator: UInt8(ascii: "."), omittingEmptySubsequences: false)
        for (a, b) in zip(left, right) {
            let order = compareComponents(a, b)
            if order != 0 { return order < 0 }
        }
        if left.count != right.count { return left.count < right.count }
        return lhs.rawValue.utf8.lexicographicallyPrecedes(rhs.rawValue.utf8)
    }

    /// Orders components: empty, then instance numbers by value, then names by bytes.
    private static func compareComponents(_ a: Substring.UTF8View, _ b: Substring.UTF8View) -> Int {
        func rank(_ c: Substring.UTF8View) -> Int { c.isEmpty ? 0 : c.allSatisfy(isDigit) ? 1 : 2 }
        let (rankA, rankB) = (rank(a), rank(b))
        if rankA != rankB { return rankA < rankB ? -1 : 1 }
        if rankA == 1 {
            // Numbers of any length: without leading zeros, shorter is smaller; then by digits.
            let x = a.drop { $0 == UInt8(ascii: "0") }, y = b.drop { $0 == UInt8(ascii: "0") }
            if x.count != y.count { return x.count < y.count ? -1 : 1 }
            return x.elementsEqual(y) ? 0 : (x.lexicographicallyPrecedes(y) ? -1 : 1)
        }
        return a.elementsEqual(b) ? 0 : (a.lexicographicallyPrecedes(b) ? -1 : 1)
    }

    private static func isDigit(_ byte: UInt8) -> Bool {
        byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9")
    }
}

extension ParameterPath: Codable {
    /// Decodes a plain string and validates it.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        let text = try container.decode(String.self)
        do {
            try self.init(validating: text)
        } catch {
            throw DecodingError.dataCorruptedError(in: container, debugDescription: error.message)
        }
    }

    /// Encodes the path as a plain string.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(rawValue)
    }
}
