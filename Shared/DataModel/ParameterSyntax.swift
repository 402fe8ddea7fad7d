import TwinfleetModel

/// What a parameter's value may be: its base type and facets, as its `<syntax>` element says
/// after named data types (`MACAddress`, `StatsCounter64`, `Dbm1000`) are resolved to a
/// primitive.
///
/// For a list-valued parameter (`<list>`), ``value`` describes each item and ``list`` the list
/// as a whole; the parameter itself is then a string on the wire.
public struct ParameterSyntax: Hashable, Sendable {
    /// The syntax of the value, or of each item when ``list`` is set.
    public var value: ValueSyntax
    /// The list facets when the value is a comma-separated list.
    public var list: ListSyntax?
    /// True when the standard marks the value secret (`secured="true"` in TR-181,
    /// `hidden="true"` in TR-098): reads return an empty string and error messages never
    /// quote it.
    public var isSecured: Bool

    /// Creates a syntax.
    public init(value: ValueSyntax, list: ListSyntax? = nil, isSecured: Bool = false) {
        self.value = value
        self.list = list
        self.isSecured = isSecured
    }

    /// The type on the wire: the value's type, or `string` for a list.
    public var type: ParameterType { list == nil ? value.type : .string }
}

/// The syntax of one scalar value: a primitive type and the facets that restrict it.
public struct ValueSyntax: Hashable, Sendable {
    /// The primitive type.
    public var type: ParameterType
    /// The named data type it came from (`IPAddress`), nil for a plain primitive.
    public var dataType: String?
    /// Allowed numeric ranges, any of which may hold; empty means the type's full range.
    public var ranges: [NumericRange]
    /// Allowed lengths (characters for strings, bytes for `hexBinary` and `base64`), any of which
    /// may hold; empty means no limit.
    public var lengths: [LengthRange]
    /// Allowed values; empty means any.
    public var enumeration: [String]
    /// XML Schema regular expressions the whole value must match, any of which may hold
    /// (`""` allows the empty string); empty means no pattern.
    public var patterns: [String]
    /// The unit the number is in, e.g. `seconds` or `dBm`.
    public var units: String?

    /// Creates a syntax.
    public init(type: ParameterType, dataType: String? = nil, ranges: [NumericRange] = [], lengths: [LengthRange] = [],
                enumeration: [String] = [], patterns: [String] = [], units: String? = nil) {
        self.type = type
        self.dataType = dataType
        self.ranges = ranges
        self.lengths = lengths
        self.enumeration = enumeration
        self.patterns = patterns
        self.units = units
    }
}

/// An inclusive numeric range, possibly open at either end, with an optional step.
///
/// Bounds are `Int128` so one type covers every integer type from `int` to `unsignedLong`.
public struct NumericRange: Hashable, Sendable, CustomStringConvertible {
    /// The smallest allowed value; nil for no lower bound.
    public var minimum: Int128?
    /// The largest allowed value; nil for no upper bound.
    public var maximum: Int128?
    /// Allowed values are `minimum + k × step`; nil when every value is allowed.
    public var step: Int128?

    /// Creates a range.
    public init(minimum: Int128? = nil, maximum: Int128? = nil, step: Int128? = nil) {
        self.minimum = minimum
        self.maximum = maximum
        self.step = step
    }

    /// True when `value` lies in the range and on its step.
    public func contains(_ value: Int128) -> Bool {
        if let minimum, value < minimum { return false }
        if let maximum, value > maximum { return false }
        if let step, step > 1 { return (value - (minimum ?? 0)) % step == 0 }
        return true
    }

    /// `1...255`, `1...`, `...0`, or `0...240 step 16`.
    public var description: String {
        let bounds = "\(minimum.map { String($0) } ?? "")...\(maximum.map { String($0) } ?? "")"
        if let step, step > 1 { return bounds + " step \(step)" }
        return bounds
    }
}

/// An inclusive length range.
public struct LengthRange: Hashable, Sendable, CustomStringConvertible {
    /// The shortest allowed length.
    public var minimum: Int
    /// The longest allowed length; nil for no limit.
    public var maximum: Int?

    /// Creates a range.
    public init(minimum: Int = 0, maximum: Int? = nil) {
        self.minimum = minimum
        self.maximum = maximum
    }

    /// True when `length` lies in the range.
    public func contains(_ length: Int) -> Bool {
        length >= minimum && maximum.map { length <= $0 } ?? true
    }

    /// `0...64`, `36` (an exact length) or `1...`.
    public var description: String {
        if let maximum, maximum == minimum { return String(minimum) }
        return "\(minimum)...\(maximum.map { String($0) } ?? "")"
    }
}

/// The facets of a comma-separated list value.
public struct ListSyntax: Hashable, Sendable {
    /// The fewest items.
    public var minItems: Int
    /// The most items; nil for no limit.
    public var maxItems: Int?
    /// Allowed lengths of the whole list text; empty means no limit.
    public var lengths: [LengthRange]
    /// True when items may hold commas inside square brackets (`[1,2],[3,4]`).
    public var nestedBrackets: Bool

    /// Creates list facets.
    public init(minItems: Int = 0, maxItems: Int? = nil, lengths: [LengthRange] = [], nestedBrackets: Bool = false) {
        self.minItems = minItems
        self.maxItems = maxItems
        self.lengths = lengths
        self.nestedBrackets = nestedBrackets
    }
}

/// A default value from the standard.
public struct DefaultValue: Hashable, Sendable {
    /// When the default applies.
    public enum Kind: String, Hashable, Sendable, CaseIterable {
        /// When an instance of the object is created.
        case object
        /// After a factory reset.
        case factory
        /// Chosen by the implementation; the standard only suggests it.
        case implementation
        /// A default for a command or event argument.
        case parameter
    }

    /// When the default applies.
    public var kind: Kind
    /// The default as text, as a device would report it.
    public var value: String

    /// Creates a default.
    public init(kind: Kind, value: String) {
        self.kind = kind
        self.value = value
    }
}
