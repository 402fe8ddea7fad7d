/// A glob pattern: `*` matches any run of characters (also none), `?` matches exactly one
/// character, everything else matches itself, case-sensitively. There is no escape: `*` and `?`
/// are always wildcards (use `?` to match a literal `*` or `?`).
///
/// A character is a Unicode scalar, as it is for PostgreSQL's `LIKE` on UTF-8 text.
public struct FleetGlob: Sendable, Hashable, CustomStringConvertible {
    /// The pattern as written.
    public let pattern: String

    /// A glob with this pattern.
    public init(_ pattern: String) { self.pattern = pattern }

    /// The pattern as written.
    public var description: String { pattern }

    /// The equivalent PostgreSQL `LIKE` pattern (default escape `\`): `%`, `_` and `\` are
    /// escaped, `*` becomes `%`, `?` becomes `_`.
    public var likePattern: String {
        var result = ""
        for scalar in pattern.unicodeScalars {
            switch scalar {
            case "*": result += "%"
            case "?": result += "_"
            case "%", "_", "\\": result += "\\" + String(scalar)
            default: result.unicodeScalars.append(scalar)
            }
        }
        return result
    }

    /// Whether `text` matches the whole pattern.
    public func matches(_ text: String) -> Bool {
        let pattern = Array(self.pattern.unicodeScalars)
        let text = Array(text.unicodeScalars)
        var p = 0, t = 0
        var star = -1, starText = 0
        while t < text.count {
            if p < pattern.count, pattern[p] == "*" {
                star = p
                starText = t
                p += 1
            } else if p < pattern.count, pattern[p] == "?" || pattern[p] == text[t] {
                p += 1
                t += 1
            } else if star >= 0 {
                // Let the last `*` swallow one more character and retry from there.
                starText += 1
                t = starText
                p = star + 1
            } else {
                return false
            }
        }
        while p < pattern.count, pattern[p] == "*" { p += 1 }
        return p == pattern.count
    }
}
