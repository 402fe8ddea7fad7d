/// Matches values against the standard's XML Schema patterns with Swift's `Regex`, whose
/// syntax covers what the Broadband Forum files use (classes, `\d`, counted repeats,
/// alternation). XML Schema patterns are anchored at both ends, hence `wholeMatch`.
public enum PatternMatcher {
    /// True when `text` matches any of `patterns`, or when there are none. A pattern Swift
    /// cannot compile is treated as matching: refusing a value because of our own limitation
    /// would block a legitimate Set.
    public static func matches(_ text: String, anyOf patterns: [String]) -> Bool {
        guard !patterns.isEmpty else { return true }
        for pattern in patterns {
            if pattern.isEmpty {
                if text.isEmpty { return true }
                continue
            }
            // Compiled per call: Sets are rare and few parameters have patterns, so a cache
            // (and the locking it would need) would not pay for itself.
            guard let regex = try? Regex(pattern) else { return true }
            if (try? regex.wholeMatch(in: text)) != nil { return true }
        }
        return false
    }

    /// True when Swift's `Regex` accepts `pattern` (every pattern of the loaded standard does;
    /// the tests check it).
    public static func compiles(_ pattern: String) -> Bool {
        (try? Regex(pattern)) != nil
    }
}
