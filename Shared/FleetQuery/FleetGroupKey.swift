/// What fleet aggregates group by: a device field or one parameter path (no wildcard).
///
/// ```swift
/// let key = try FleetGroupKey(parsing: "softwareVersion")
/// let expression = key.compile(firstPlaceholder: filter.nextPlaceholder)
/// // SELECT <expression.sql> AS key, count(*) FROM devices d WHERE … GROUP BY 1
/// ```
public enum FleetGroupKey: Sendable, Equatable, CustomStringConvertible {
    /// A text, version, boolean or integer column of the devices row.
    case field(DeviceField)
    /// The value of the parameter at this exact path (NULL when the device lacks it).
    case parameter(ParameterPattern)

    /// Reads a field name (case-insensitive) or a parameter path without `*` and without a
    /// trailing dot. Timestamps are refused: group them by a derived bucket instead.
    public init(parsing text: String) throws(FleetQueryError) {
        let scalars = Array(text.unicodeScalars)
        let offset = scalars.prefix(while: \.properties.isWhitespace).count
        let end = scalars.count - scalars.reversed().prefix(while: \.properties.isWhitespace).count
        let trimmed = offset < end ? String(String.UnicodeScalarView(scalars[offset..<end])) : ""
        if trimmed.utf8.count > FleetFilter.Limits.standard.maxLength {
            throw FleetQueryError(.tooComplex, at: 0, "the group key is longer than \(FleetFilter.Limits.standard.maxLength) bytes")
        }
        if FleetParser.isPathWord(trimmed) {
            let pattern = try ParameterPattern(validating: trimmed, offset: offset)
            if pattern.hasWildcard {
                throw FleetQueryError(.typeMismatch, at: offset, "a group key must name one parameter; \(FleetQueryError.quote(trimmed)) has a '*' (offset \(offset))")
            }
            if pattern.isObject {
                throw FleetQueryError(.typeMismatch, at: offset, "a group key must name a parameter, not the object \(FleetQueryError.quote(trimmed)) (offset \(offset))")
            }
            self = .parameter(pattern)
            return
        }
        guard let field = DeviceField(queryName: trimmed) else {
            let fields = DeviceField.allCases.filter { $0.kind != .timestamp }.map(\.rawValue).joined(separator: ", ")
            throw FleetQueryError(.unknownField, at: offset, "cannot group by \(FleetQueryError.quote(trimmed)) (offset \(offset)); use one of \(fields) or a parameter path such as Device.DeviceInfo.ModelName")
        }
        if field.kind == .timestamp {
            throw FleetQueryError(.typeMismatch, at: offset, "cannot group by the timestamp \(field) (offset \(offset)); every device would be its own group")
        }
        self = .field(field)
    }

    /// The field name or the path.
    public var description: String {
        switch self {
        case .field(let field): field.rawValue
        case .parameter(let pattern): pattern.text
        }
    }

    /// A text-valued SQL expression over the devices alias `d` to select and group by: the
    /// column cast to text (booleans `true`/`false`, integers in decimal), or a scalar subquery
    /// reading the parameter's value. NULL forms its own group.
    public func compile(firstPlaceholder: Int = 1) -> CompiledGroupKey {
        var writer = SQLWriter(next: firstPlaceholder, now: .distantPast)
        let sql: String
        switch self {
        case .field(let field):
            sql = field.kind == .text || field.kind == .version ? SQLWriter.column(field) : "\(SQLWriter.column(field))::text"
        case .parameter(let pattern):
            sql = "(SELECT p.value FROM parameters p WHERE p.device_id = d.device_id AND p.path = \(writer.bind(.text(pattern.text))))"
        }
        return CompiledGroupKey(sql: sql, binds: writer.binds, nextPlaceholder: writer.next)
    }

    /// The group a device falls in, as the SQL expression computes it; nil for NULL.
    public func value(of device: DeviceSnapshot) -> String? {
        switch self {
        case .field(let field):
            switch device.value(of: field) {
            case .text(let text)?: return text
            case .boolean(let flag)?: return flag ? "true" : "false"
            case .integer(let number)?: return String(number)
            case .time?, nil: return nil
            }
        case .parameter(let pattern):
            return device.parameters.first { pattern.matches($0.key) }?.value.value
        }
    }
}

/// A compiled group key.
public struct CompiledGroupKey: Sendable, Equatable {
    /// A text expression over the devices alias `d`.
    public let sql: String
    /// The values for its placeholders, in order.
    public let binds: [SQLBind]
    /// The first placeholder number after these binds.
    public let nextPlaceholder: Int
}
