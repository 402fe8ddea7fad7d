import TwinfleetModel

/// Turns concrete paths into the path patterns the standard uses, `{i}` in place of each
/// instance: `Device.WiFi.Radio.3.Channel` → `Device.WiFi.Radio.{i}.Channel`.
///
/// Replacing by form rather than walking the model is exact because TR-106 names never start
/// with a digit: a component made of digits can only be an instance number, and a lookup of the
/// resulting pattern fails when the model has no table there.
public enum PathPattern {
    /// The placeholder the standard writes for an instance.
    public static let instance = "{i}"

    /// The pattern of a validated path: numeric components become `{i}`.
    public static func pattern(of path: ParameterPath) -> String {
        var pattern = ""
        pattern.reserveCapacity(path.rawValue.utf8.count + 8)
        for component in path.rawValue.utf8.split(separator: UInt8(ascii: "."), omittingEmptySubsequences: false) {
            if !pattern.isEmpty { pattern += "." }
            if !component.isEmpty, component.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }) {
                pattern += instance
            } else {
                pattern += Substring(component)
            }
        }
        return pattern
    }

    /// The pattern of USP path text, which besides instance numbers may hold instance
    /// references and search expressions in brackets (`[cpe-1]`, `[Type=="Wi-Fi"]`, in which
    /// dots do not separate components), the wildcard `*`, `{i}` itself, and a final command
    /// (`Reboot()`) or event (`Boot!`) name. Nil for text that is not such a path (empty
    /// components, unbalanced brackets, a space).
    public static func pattern(ofUSPPath text: String) -> String? {
        var components: [Substring] = []
        var start = text.startIndex
        var depth = 0
        var quoted = false
        var index = text.startIndex
        while index < text.endIndex {
            let character = text[index]
            if quoted {
                if character == "\"" { quoted = false }
            } else if character == "\"" && depth > 0 {
                quoted = true
            } else if character == "[" {
                depth += 1
            } else if character == "]" {
                depth -= 1
                if depth < 0 { return nil }
            } else if character == "." && depth == 0 {
                components.append(text[start..<index])
                start = text.index(after: index)
            }
            index = text.index(after: index)
        }
        guard depth == 0, !quoted else { return nil }
        let last = text[start...]
        guard !components.isEmpty || !last.isEmpty else { return nil }
        var pattern = ""
        for component in components {
            guard let name = patternComponent(component, isLast: false) else { return nil }
            pattern += name + "."
        }
        if !last.isEmpty {
            guard let name = patternComponent(last, isLast: true) else { return nil }
            pattern += name
        }
        return pattern
    }

    private static func patternComponent(_ component: Substring, isLast: Bool) -> String? {
        if component.isEmpty { return nil }
        if component == "*" || component == instance || (component.first == "[" && component.last == "]")
            || component.allSatisfy({ $0.isASCII && $0.isNumber }) {
            return instance
        }
        var name = component
        if isLast, name.hasSuffix("()") { name = name.dropLast(2) } else if isLast, name.hasSuffix("!") { name = name.dropLast() }
        guard !name.isEmpty, name.unicodeScalars.allSatisfy({ isNameScalar($0) }) else { return nil }
        return String(component)
    }

    private static func isNameScalar(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar {
        case "A"..."Z", "a"..."z", "0"..."9", "_", "-": true
        default: false
        }
    }
}
