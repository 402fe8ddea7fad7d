import Foundation

/// A value bound to a `$n` placeholder. The SQL casts every placeholder to the type named here
/// (`$3::text[]`), so binding a Swift value of the matching PostgreSQL type is enough.
public enum SQLBind: Sendable, Equatable {
    /// `text`.
    case text(String)
    /// `text[]` (no NULL elements).
    case texts([String])
    /// `bigint`.
    case integer(Int64)
    /// `bigint[]`.
    case integers([Int64])
    /// `numeric`, given as canonical decimal text (see ``FleetDecimal``); bind it as text, the
    /// SQL casts it with `::numeric`.
    case numeric(String)
    /// `boolean`.
    case boolean(Bool)
    /// `timestamptz` (whole microseconds).
    case timestamp(Date)

    /// For `.timestamp`, the instant as ISO 8601 text with microseconds (`2026-11-01T00:00:00.5Z`).
    /// Bound as text it is read exactly by the placeholder's `::timestamptz` cast; binding the
    /// `Date` itself works too but goes through floating point. Nil for other binds.
    public var timestampText: String? {
        if case .timestamp(let date) = self { return InstantText.format(date) }
        return nil
    }

    /// The PostgreSQL type the placeholder is cast to.
    public var sqlType: String {
        switch self {
        case .text: "text"
        case .texts: "text[]"
        case .integer: "bigint"
        case .integers: "bigint[]"
        case .numeric: "numeric"
        case .boolean: "boolean"
        case .timestamp: "timestamptz"
        }
    }
}

/// A filter compiled to a PostgreSQL boolean expression over the devices table aliased `d`.
public struct CompiledFilter: Sendable, Equatable {
    /// The boolean expression, with placeholders `$first…$(first + binds.count - 1)`, each
    /// used exactly once, in order. Identifiers come only from ``DeviceField``; no query text
    /// appears in it.
    public let whereSQL: String
    /// The values for the placeholders, in placeholder order.
    public let binds: [SQLBind]
    /// The first placeholder number after these binds, for the caller's own binds.
    public let nextPlaceholder: Int
}

extension FleetFilter {
    /// Compiles the filter for PostgreSQL 15.
    ///
    /// Use it as `SELECT … FROM devices d WHERE <whereSQL>`; relative times are resolved against
    /// `now`. Placeholders are numbered from `firstPlaceholder` so the caller can put its own
    /// binds (cursor, limit) before or after.
    public func compile(now: Date, firstPlaceholder: Int = 1) -> CompiledFilter {
        var writer = SQLWriter(next: firstPlaceholder, now: now)
        let sql = root.map { writer.expression($0) } ?? "TRUE"
        return CompiledFilter(whereSQL: sql, binds: writer.binds, nextPlaceholder: writer.next)
    }
}

/// Builds SQL text and its binds. Every predicate it writes is two-valued (never NULL), so
/// `NOT`, `AND` and `OR` mean in SQL exactly what they mean in the evaluator.
struct SQLWriter {
    var next: Int
    let now: Date
    var binds: [SQLBind] = []

    init(next: Int, now: Date) {
        self.next = next
        self.now = now
    }

    /// Registers a bind and returns its cast placeholder, e.g. `$4::text`.
    mutating func bind(_ value: SQLBind) -> String {
        binds.append(value)
        defer { next += 1 }
        return "$\(next)::\(value.sqlType)"
    }

    mutating func expression(_ expression: FleetExpression) -> String {
        switch expression {
        case .and(let operands):
            if operands.isEmpty { return "TRUE" }
            return "(" + operands.map { self.expression($0) }.joined(separator: " AND ") + ")"
        case .or(let operands):
            if operands.isEmpty { return "FALSE" }
            return "(" + operands.map { self.expression($0) }.joined(separator: " OR ") + ")"
        case .not(let operand):
            return "(NOT " + self.expression(operand) + ")"
        case .predicate(let predicate):
            return self.predicate(predicate)
        }
    }

    mutating func predicate(_ predicate: FleetPredicate) -> String {
        switch predicate {
        case .field(let field, let test): fieldTest(field, test)
        case .tag(let test): tagTest(test)
        case .parameter(let pattern, let test): parameterExists(pattern, test)
        case .parameterExists(let pattern): parameterExists(pattern, nil)
        }
    }

    // MARK: Device fields

    /// `d.column`, from the closed enum.
    static func column(_ field: DeviceField) -> String { "d." + field.column }

    /// A comparison on a nullable column guarded so that NULL gives FALSE instead of NULL.
    private static func guarded(_ field: DeviceField, _ sql: String) -> String {
        field.isNullable ? "(\(column(field)) IS NOT NULL AND \(sql))" : "(\(sql))"
    }

    private mutating func fieldTest(_ field: DeviceField, _ test: FieldTest) -> String {
        let column = Self.column(field)
        switch test {
        case .isNull: return "(\(column) IS NULL)"
        case .isNotNull: return "(\(column) IS NOT NULL)"
        case .glob(let glob):
            guard field.kind == .text || field.kind == .version else { return "FALSE" }
            return Self.guarded(field, "\(column) COLLATE \"C\" LIKE \(bind(.text(glob.likePattern)))")
        case .compare(let op, let value):
            switch (field.kind, value) {
            case (.text, .text(let text)):
                let lhs = op.isOrdering ? "\(column) COLLATE \"C\"" : column
                return Self.guarded(field, "\(lhs) \(op.sql) \(bind(.text(text)))")
            case (.version, .text(let text)):
                if op.isOrdering {
                    let function = VersionKey.sqlFunctionName
                    return Self.guarded(field, "\(function)(\(column)) \(op.sql) \(function)(\(bind(.text(text))))")
                }
                return Self.guarded(field, "\(column) \(op.sql) \(bind(.text(text)))")
            case (.boolean, .boolean(let flag)):
                return Self.guarded(field, "\(column) \(op.sql) \(bind(.boolean(flag)))")
            case (.integer, .integer(let number)):
                return Self.guarded(field, "\(column) \(op.sql) \(bind(.integer(number)))")
            case (.timestamp, .time(let time)):
                return Self.guarded(field, "\(column) \(op.sql) \(bind(.timestamp(time.resolved(now: now))))")
            default:
                return "FALSE"
            }
        case .oneOf(let values):
            switch field.kind {
            case .text, .version:
                let texts = values.compactMap { value -> String? in
                    if case .text(let text) = value { return text }
                    return nil
                }
                if texts.isEmpty { return "FALSE" }
                return Self.guarded(field, "\(column) = ANY(\(bind(.texts(texts))))")
            case .integer:
                let numbers = values.compactMap { value -> Int64? in
                    if case .integer(let number) = value { return number }
                    return nil
                }
                if numbers.isEmpty { return "FALSE" }
                return Self.guarded(field, "\(column) = ANY(\(bind(.integers(numbers))))")
            case .boolean, .timestamp:
                return "FALSE"
            }
        }
    }

    // MARK: Tags

    private mutating func tagTest(_ test: TagTest) -> String {
        switch test {
        case .has(let tag):
            // `@>` with a one-element array lets the GIN index on tags apply.
            return "(d.tags @> ARRAY[\(bind(.text(tag)))])"
        case .lacks(let tag):
            return "(NOT (d.tags @> ARRAY[\(bind(.text(tag)))]))"
        case .hasAny(let tags):
            return "(d.tags && \(bind(.texts(tags))))"
        case .hasMatching(let glob):
            return "(EXISTS (SELECT 1 FROM unnest(d.tags) AS t(tag) WHERE t.tag COLLATE \"C\" LIKE \(bind(.text(glob.likePattern)))))"
        }
    }

    // MARK: Parameters

    /// Characters of a value the shards' `parameters (path, left(value, N))` index holds.
    static let indexedValuePrefix = 200

    /// True when `text` is shorter than the indexed prefix, so `left(value, N) = text` holds
    /// exactly when `value = text`.
    static func fitsIndexedPrefix(_ text: String) -> Bool {
        text.unicodeScalars.count < indexedValuePrefix
    }

    /// `left(text, indexedValuePrefix)` as PostgreSQL computes it (characters are code points).
    static func indexedPrefix(_ text: String) -> String {
        String(String.UnicodeScalarView(text.unicodeScalars.prefix(indexedValuePrefix)))
    }

    /// Value types compared numerically by `<`, `<=`, `>`, `>=` with a number.
    static let numericValueTypes = ["int", "unsignedInt", "long", "unsignedLong", "decimal"]

    /// The SQL condition (fixed text) a value must meet before it is cast to numeric.
    static let numericValueGuard = "length(p.value) <= \(FleetDecimal.maxStoredLength) AND p.value COLLATE \"C\" ~ '^-?[0-9]+([.][0-9]+)?$'"

    /// `EXISTS (SELECT 1 FROM parameters p WHERE …)`: a row for this device, at a matching path,
    /// whose value passes `test` (any row when `test` is nil).
    private mutating func parameterExists(_ pattern: ParameterPattern, _ test: ParameterTest?) -> String {
        var conditions = ["p.device_id = d.device_id"]
        if pattern.hasWildcard {
            // The range keeps the (path, value) index usable; the regex does the exact match.
            conditions.append("p.path >= \(bind(.text(pattern.fixedPrefix)))")
            conditions.append("p.path < \(bind(.text(pattern.prefixSuccessor)))")
            conditions.append("p.path ~ \(bind(.text(pattern.regex)))")
        } else {
            conditions.append("p.path = \(bind(.text(pattern.text)))")
        }
        if let test { conditions.append(valueCondition(test)) }
        return "(EXISTS (SELECT 1 FROM parameters p WHERE " + conditions.joined(separator: " AND ") + "))"
    }

    private mutating func valueCondition(_ test: ParameterTest) -> String {
        switch test {
        case .text(let op, let text):
            if op == .equal {
                // The value index holds `left(value, 200)` (btree entries must stay small). For a
                // literal shorter than that, `left(value, 200) = x` already means `value = x`, and
                // stating only it keeps the planner's row estimate right; a longer one needs both.
                if Self.fitsIndexedPrefix(text) { return "left(p.value, \(Self.indexedValuePrefix)) = \(bind(.text(text)))" }
                return "left(p.value, \(Self.indexedValuePrefix)) = \(bind(.text(Self.indexedPrefix(text)))) AND p.value = \(bind(.text(text)))"
            }
            let lhs = op.isOrdering ? "p.value COLLATE \"C\"" : "p.value"
            return "\(lhs) \(op.sql) \(bind(.text(text)))"
        case .number(let op, let number):
            let types = Self.numericValueTypes.map { "'\($0)'" }.joined(separator: ", ")
            return "p.value_type IN (\(types)) AND (CASE WHEN \(Self.numericValueGuard) THEN p.value::numeric END) \(op.sql) \(bind(.numeric(number.description)))"
        case .oneOf(let texts):
            if texts.allSatisfy(Self.fitsIndexedPrefix) { return "left(p.value, \(Self.indexedValuePrefix)) = ANY(\(bind(.texts(texts))))" }
            return "left(p.value, \(Self.indexedValuePrefix)) = ANY(\(bind(.texts(texts.map(Self.indexedPrefix))))) AND p.value = ANY(\(bind(.texts(texts))))"
        case .glob(let glob):
            return "p.value COLLATE \"C\" LIKE \(bind(.text(glob.likePattern)))"
        }
    }
}
