/// The ordering of `softwareVersion` and `hardwareVersion` for `<`, `<=`, `>`, `>=`.
///
/// The rule: a version's key is the list of the numbers formed by its maximal runs of ASCII
/// digits, in order; every other character only separates. Each run is cut to its first
/// ``maxRunLength`` characters before it is read as a number. Keys compare number by number;
/// when one key is a prefix of the other, the shorter sorts first.
///
/// So `2.10` > `2.9`, `2.1.0` > `2.1`, `2.01` = `2.1`, `V2.1-beta3` has key `[2, 1, 3]`, and a text
/// without digits has the empty key, below every other. Versions with equal keys (`2.1`,
/// `v2.1`, `2.1-beta`) are neither less nor greater than one another. `=` and `!=` on version
/// fields remain plain text equality.
///
/// PostgreSQL computes the same key with ``sqlFunctionDefinition`` and compares the
/// `numeric[]` results with the ordinary array operators.
public struct VersionKey: Sendable, Hashable, Comparable, CustomStringConvertible {
    /// The numbers, as ASCII digits without leading zeros (empty for zero).
    public let parts: [[UInt8]]

    /// Longest digit run read as one number; the rest of a longer run is ignored.
    public static let maxRunLength = 1000

    /// The name of the SQL function.
    public static let sqlFunctionName = "twinfleet_version_key"

    /// The SQL function that computes the key in PostgreSQL, for a migration. `IMMUTABLE`, so it
    /// may be used in an expression index; `STRICT`, so NULL gives NULL.
    public static let sqlFunctionDefinition = """
        CREATE OR REPLACE FUNCTION twinfleet_version_key(version_text text) RETURNS numeric[]
            LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
            AS $$
                SELECT coalesce(array_agg(left(found.run[1], 1000)::numeric ORDER BY found.position), '{}'::numeric[])
                FROM regexp_matches(version_text COLLATE "C", '[0-9]+', 'g') WITH ORDINALITY AS found(run, position)
            $$
        """

    /// The key of a version text.
    public init(_ version: String) {
        var parts: [[UInt8]] = []
        var run: [UInt8] = []
        var runLength = 0
        func finish() {
            if runLength > 0 { parts.append(Array(run.drop(while: { $0 == UInt8(ascii: "0") }))) }
            run = []
            runLength = 0
        }
        for byte in version.utf8 {
            if isDigit(byte) {
                if runLength < Self.maxRunLength { run.append(byte) }
                runLength += 1
            } else {
                finish()
            }
        }
        finish()
        self.parts = parts
    }

    /// The numbers joined with dots, e.g. `2.10.0`.
    public var description: String {
        parts.map { $0.isEmpty ? "0" : String(decoding: $0, as: UTF8.self) }.joined(separator: ".")
    }

    /// Three-way comparison: negative, zero or positive.
    public func compare(to other: VersionKey) -> Int {
        for (a, b) in zip(parts, other.parts) {
            if a.count != b.count { return a.count < b.count ? -1 : 1 }
            for (x, y) in zip(a, b) where x != y { return x < y ? -1 : 1 }
        }
        if parts.count != other.parts.count { return parts.count < other.parts.count ? -1 : 1 }
        return 0
    }

    /// Orders keys by the rule above.
    public static func < (lhs: VersionKey, rhs: VersionKey) -> Bool { lhs.compare(to: rhs) < 0 }
}
