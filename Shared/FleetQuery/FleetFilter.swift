/// A checked fleet filter: the parsed expression, or nil to match every device.
///
/// ```swift
/// let filter = try FleetFilter(parsing: #"Device.WiFi.Radio.1.Channel = 6 AND softwareVersion < "2.1" AND tag = beta"#)
/// let compiled = filter.compile(now: .now)        // SQL text + binds for PostgreSQL
/// let hit = filter.matches(snapshot, now: .now)   // the same meaning in memory
/// ```
///
/// The language is described in LANGUAGE.md next to this file.
public struct FleetFilter: Sendable, Equatable, CustomStringConvertible {
    /// Bounds that keep a query cheap to parse, compile and run.
    public struct Limits: Sendable, Equatable {
        /// Longest query text, in UTF-8 bytes.
        public var maxLength: Int
        /// Deepest nesting of parentheses and `NOT`.
        public var maxDepth: Int
        /// Most predicates (comparisons, `EXISTS`, `IS NULL`, …).
        public var maxPredicates: Int
        /// Most values in one `IN` list.
        public var maxListItems: Int

        /// The given bounds.
        public init(maxLength: Int, maxDepth: Int, maxPredicates: Int, maxListItems: Int) {
            self.maxLength = maxLength
            self.maxDepth = maxDepth
            self.maxPredicates = maxPredicates
            self.maxListItems = maxListItems
        }

        /// 4 KiB, 32 levels, 100 predicates, 256 list items.
        public static let standard = Limits(maxLength: 4096, maxDepth: 32, maxPredicates: 100, maxListItems: 256)
    }

    /// The expression; nil matches every device.
    public let root: FleetExpression?

    /// The filter that matches every device (the empty query).
    public static let matchAll = FleetFilter(checkedRoot: nil)

    private init(checkedRoot: FleetExpression?) { self.root = checkedRoot }

    /// Parses and types a query. Empty or blank text matches every device.
    public init(parsing text: String, limits: Limits = .standard) throws(FleetQueryError) {
        let length = text.utf8.count
        if length > limits.maxLength {
            throw FleetQueryError(.tooComplex, at: 0, "the query is \(length) bytes long; the limit is \(limits.maxLength)")
        }
        var parser = FleetParser(tokens: try FleetLexer.tokens(text), limits: limits)
        self.root = try parser.parseQuery()
    }

    /// Checks an expression built in code: it must be exactly what parsing its canonical text
    /// (``description``) gives, within the limits. So `and`/`or` need two or more operands, values
    /// must have their field's type, instants whole microseconds, and so on. Error offsets refer
    /// to the canonical text.
    public init(root: FleetExpression?, limits: Limits = .standard) throws(FleetQueryError) {
        guard let root else {
            self.root = nil
            return
        }
        let text = root.description
        let reparsed = try FleetFilter(parsing: text, limits: limits)
        guard reparsed.root == root else {
            throw FleetQueryError(.invalidValue, at: 0, "the expression is not what its text \(FleetQueryError.quote(text, limit: 120)) means; check operand counts, value types and instants")
        }
        self.root = root
    }

    /// The canonical query text; parsing it gives the same filter. Empty for match-all.
    public var description: String { root?.description ?? "" }

    /// A stable 64-bit fingerprint of the canonical text (FNV-1a), used to tie pagination cursors
    /// to their filter. Relative times are part of the text, so the fingerprint does not change
    /// as time passes.
    public var fingerprint: UInt64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in ("fleetquery/1\n" + description).utf8 {
            hash ^= UInt64(byte)
            hash = hash &* 0x0000_0100_0000_01B3
        }
        return hash
    }
}
