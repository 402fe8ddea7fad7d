import Foundation

/// A parsed fleet filter: boolean combinations of predicates.
///
/// Every predicate is two-valued (true or false for a device, never "unknown"), so `not` is the
/// plain complement: `NOT modelName = "X"` holds for devices without a model name, while
/// `modelName != "X"` does not. See LANGUAGE.md.
public indirect enum FleetExpression: Sendable, Equatable {
    /// All operands hold (at least two when parsed).
    case and([FleetExpression])
    /// At least one operand holds (at least two when parsed).
    case or([FleetExpression])
    /// The operand does not hold.
    case not(FleetExpression)
    /// One test on a device field, the tags or the parameters.
    case predicate(FleetPredicate)
}

/// One test on a device.
public enum FleetPredicate: Sendable, Equatable {
    /// A test on a column of the `devices` row.
    case field(DeviceField, FieldTest)
    /// A test on the device's tags.
    case tag(TagTest)
    /// The device has a parameter at a path matching the pattern whose value passes the test.
    case parameter(ParameterPattern, ParameterTest)
    /// The device has a parameter or object at a path matching the pattern (`EXISTS path`).
    case parameterExists(ParameterPattern)
}

/// The six comparison operators.
public enum FleetComparison: String, Sendable, Hashable, CaseIterable, CustomStringConvertible {
    /// `=`
    case equal = "="
    /// `!=` (also written `<>`)
    case notEqual = "!="
    /// `<`
    case less = "<"
    /// `<=`
    case lessOrEqual = "<="
    /// `>`
    case greater = ">"
    /// `>=`
    case greaterOrEqual = ">="

    /// The operator as written in queries.
    public var description: String { rawValue }

    /// `<`, `<=`, `>` or `>=`.
    public var isOrdering: Bool { self != .equal && self != .notEqual }

    /// The operator as written in SQL (`<>` for not-equal).
    var sql: String { self == .notEqual ? "<>" : rawValue }

    /// Whether `lhs op rhs` holds, given the three-way comparison of lhs with rhs.
    func holds(_ order: Int) -> Bool {
        switch self {
        case .equal: order == 0
        case .notEqual: order != 0
        case .less: order < 0
        case .lessOrEqual: order <= 0
        case .greater: order > 0
        case .greaterOrEqual: order >= 0
        }
    }
}

/// A typed value compared with a device field.
public enum FieldValue: Sendable, Equatable {
    /// For text and version fields.
    case text(String)
    /// For integer fields.
    case integer(Int64)
    /// For `online`.
    case boolean(Bool)
    /// For timestamp fields.
    case time(FleetTime)
}

/// A point in time in a filter: absolute, or relative to the `now` given when compiling or
/// evaluating.
public enum FleetTime: Sendable, Equatable {
    /// An ISO 8601 instant (microsecond precision when parsed).
    case instant(Date)
    /// `now` minus a duration (`-7d`).
    case ago(FleetDuration)

    /// The instant meant, given the current time; relative times are cut to whole microseconds
    /// (PostgreSQL's precision) so SQL and the evaluator compare with the same instant.
    public func resolved(now: Date) -> Date {
        switch self {
        case .instant(let date): date
        case .ago(let duration): wholeMicroseconds(now.addingTimeInterval(-Double(duration.seconds)))
        }
    }
}

/// A duration written `-7d`, `-12h`, `-30m` or `-45s`.
public struct FleetDuration: Sendable, Hashable, CustomStringConvertible {
    /// The unit after the number.
    public enum Unit: String, Sendable, Hashable, CaseIterable {
        /// Days of 86 400 seconds.
        case days = "d"
        /// Hours.
        case hours = "h"
        /// Minutes.
        case minutes = "m"
        /// Seconds.
        case seconds = "s"

        /// Seconds in one unit.
        public var seconds: Int64 {
            switch self {
            case .days: 86_400
            case .hours: 3_600
            case .minutes: 60
            case .seconds: 1
            }
        }
    }

    /// How many units (0 ... ``maxAmount``).
    public var amount: Int64
    /// The unit.
    public var unit: Unit

    /// The largest amount the parser accepts (nine digits).
    public static let maxAmount: Int64 = 999_999_999

    /// A duration of `amount` units; the amount is clamped to 0 ... ``maxAmount``.
    public init(_ amount: Int64, _ unit: Unit) {
        self.amount = min(max(amount, 0), Self.maxAmount)
        self.unit = unit
    }

    /// The duration in seconds.
    public var seconds: Int64 { amount * unit.seconds }

    /// As written in queries, with the leading minus: `-7d`.
    public var description: String { "-\(amount)\(unit.rawValue)" }
}

/// A test on a device field.
public enum FieldTest: Sendable, Equatable {
    /// `field op value`; the value's kind must match the field's (checked when parsing and by
    /// ``FleetFilter/init(root:limits:)``).
    case compare(FleetComparison, FieldValue)
    /// `field IN (v1, v2, …)`.
    case oneOf([FieldValue])
    /// `field ~ "glob"` (text and version fields).
    case glob(FleetGlob)
    /// `field IS NULL` (nullable fields).
    case isNull
    /// `field IS NOT NULL` (nullable fields).
    case isNotNull
}

/// A test on the device's tags.
public enum TagTest: Sendable, Equatable {
    /// `tag = x`: the device has tag x.
    case has(String)
    /// `tag != x`: the device does not have tag x.
    case lacks(String)
    /// `tag IN (a, b)`: the device has at least one of the tags.
    case hasAny([String])
    /// `tag ~ "glob"`: at least one of the device's tags matches.
    case hasMatching(FleetGlob)
}

/// A test on the value of one parameter row.
///
/// No test ever holds for a NULL value (object rows).
public enum ParameterTest: Sendable, Equatable {
    /// Text comparison: `=`/`!=` compare exactly, orderings compare bytes (`COLLATE "C"`).
    /// Numbers and booleans in the query arrive here as their canonical text for `=`/`!=`.
    case text(FleetComparison, String)
    /// Numeric comparison, only for rows whose `value_type` is numeric and whose value is a
    /// plain decimal number (see ``FleetDecimal``).
    case number(FleetComparison, FleetDecimal)
    /// The value equals one of the texts.
    case oneOf([String])
    /// The value matches the glob.
    case glob(FleetGlob)
}

/// `date` cut down to whole microseconds since 1970.
func wholeMicroseconds(_ date: Date) -> Date {
    Date(timeIntervalSince1970: (date.timeIntervalSince1970 * 1_000_000).rounded(.down) / 1_000_000)
}
