/// A parameter path in a filter, possibly with `*` segments that match any instance number.
///
/// Grammar: a root segment `Device` or `InternetGatewayDevice`, then dot-separated segments of
/// ASCII letters, digits, `_` and `-`, or a lone `*`. A trailing dot names an object
/// (`Device.WiFi.SSID.*.`). A `*` segment matches one or more ASCII digits and nothing else, and
/// cannot be the last segment (object rows are stored with their trailing dot, so write
/// `Device.WiFi.SSID.*.`). Paths are case-sensitive.
public struct ParameterPattern: Sendable, Hashable, CustomStringConvertible {
    /// The segments; `"*"` is a wildcard; an object path ends with an empty segment.
    public let segments: [String]

    /// The path as written, e.g. `Device.WiFi.SSID.*.SSID`.
    public var text: String { segments.joined(separator: ".") }

    /// The path as written.
    public var description: String { text }

    /// Whether some segment is `*`.
    public var hasWildcard: Bool { segments.contains("*") }

    /// Whether the path names an object (ends with a dot); object rows have no value, so only
    /// `EXISTS` applies.
    public var isObject: Bool { segments.last == "" }

    /// The roots a parameter path may start with.
    public static let roots = ["Device", "InternetGatewayDevice"]

    /// Reads and checks a path; errors are located at `offset` plus the position in `text`.
    public init(validating text: String, offset: Int = 0) throws(FleetQueryError) {
        let segments = text.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
        guard let root = segments.first, Self.roots.contains(root), segments.count >= 2 else {
            throw FleetQueryError(.invalidValue, at: offset, "a parameter path must start with 'Device.' or 'InternetGatewayDevice.' at offset \(offset)")
        }
        var position = offset + root.unicodeScalars.count + 1
        for (index, segment) in segments.enumerated().dropFirst() {
            let isLast = index == segments.count - 1
            if segment.isEmpty, !isLast {
                throw FleetQueryError(.invalidValue, at: position, "empty segment (two dots) in parameter path \(FleetQueryError.quote(text)) at offset \(position)")
            }
            if segment == "*" {
                if isLast {
                    throw FleetQueryError(.invalidValue, at: position, "a parameter path cannot end with '*'; objects are written with a trailing dot, e.g. \(FleetQueryError.quote(text + ".")) (offset \(position))")
                }
            } else if let bad = segment.unicodeScalars.firstIndex(where: { !Self.isNameScalar($0) }) {
                let at = position + segment.unicodeScalars.distance(from: segment.unicodeScalars.startIndex, to: bad)
                let what = segment.unicodeScalars[bad] == "*" ? "'*' must be a whole segment" : "only letters, digits, '_' and '-' may appear in a path segment"
                throw FleetQueryError(.invalidValue, at: at, "\(what), in parameter path \(FleetQueryError.quote(text)) at offset \(at)")
            }
            position += segment.unicodeScalars.count + 1
        }
        self.segments = segments
    }

    /// ASCII letters, digits, `_` and `-`.
    static func isNameScalar(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar {
        case "A"..."Z", "a"..."z", "0"..."9", "_", "-": true
        default: false
        }
    }

    /// The text before the first `*` (for a path without `*`, the whole path). Always ends with a
    /// dot when there is a wildcard, because `*` is a whole segment after the root.
    var fixedPrefix: String {
        guard let star = segments.firstIndex(of: "*") else { return text }
        return segments[..<star].joined(separator: ".") + "."
    }

    /// The smallest text above every text that starts with ``fixedPrefix`` in byte order: the
    /// prefix with its final `.` replaced by `/`.
    var prefixSuccessor: String { String(fixedPrefix.dropLast()) + "/" }

    /// A PostgreSQL regular expression (ARE) for the whole path: literal segments with their dots
    /// escaped, `*` as `[0-9]+`, anchored at both ends. Segments hold only `[A-Za-z0-9_-]`, which
    /// are literal in an ARE outside brackets.
    var regex: String {
        "^" + segments.map { $0 == "*" ? "[0-9]+" : $0 }.joined(separator: "\\.") + "$"
    }

    /// Whether a stored path matches, with the same meaning as ``regex``: byte-exact literal
    /// parts, each `*` one or more ASCII digits.
    public func matches(_ path: String) -> Bool {
        if !hasWildcard { return path.utf8.elementsEqual(text.utf8) }
        let bytes = Array(path.utf8)
        var index = 0
        for (number, segment) in segments.enumerated() {
            if number > 0 {
                guard index < bytes.count, bytes[index] == UInt8(ascii: ".") else { return false }
                index += 1
            }
            if segment == "*" {
                let start = index
                while index < bytes.count, isDigit(bytes[index]) { index += 1 }
                guard index > start else { return false }
            } else {
                let literal = Array(segment.utf8)
                guard bytes.count - index >= literal.count, bytes[index..<(index + literal.count)].elementsEqual(literal) else { return false }
                index += literal.count
            }
        }
        return index == bytes.count
    }
}
