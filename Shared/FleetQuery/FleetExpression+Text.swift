/// Canonical query text for expressions: parsing it gives the same expression back.
extension FleetExpression: CustomStringConvertible {
    /// The expression as query text: keywords upper case, text values double-quoted, `AND`
    /// operands that are `OR`s (and nested `AND`s) in parentheses.
    public var description: String {
        switch self {
        case .and(let operands):
            operands.map { $0.isCompound ? "(\($0))" : $0.description }.joined(separator: " AND ")
        case .or(let operands):
            operands.map { $0.isOr ? "(\($0))" : $0.description }.joined(separator: " OR ")
        case .not(let operand):
            "NOT " + (operand.isCompound ? "(\(operand))" : operand.description)
        case .predicate(let predicate):
            predicate.description
        }
    }

    private var isCompound: Bool {
        switch self {
        case .and, .or: true
        case .not, .predicate: false
        }
    }

    private var isOr: Bool {
        if case .or = self { return true }
        return false
    }
}

extension FleetPredicate: CustomStringConvertible {
    /// The predicate as query text, e.g. `modelName ~ "XG-*"`.
    public var description: String {
        switch self {
        case .field(let field, let test):
            switch test {
            case .compare(let op, let value): "\(field) \(op) \(value)"
            case .oneOf(let values): "\(field) IN (\(values.map(\.description).joined(separator: ", ")))"
            case .glob(let glob): "\(field) ~ \(quotedLiteral(glob.pattern))"
            case .isNull: "\(field) IS NULL"
            case .isNotNull: "\(field) IS NOT NULL"
            }
        case .tag(let test):
            switch test {
            case .has(let tag): "tag = \(quotedLiteral(tag))"
            case .lacks(let tag): "tag != \(quotedLiteral(tag))"
            case .hasAny(let tags): "tag IN (\(tags.map(quotedLiteral).joined(separator: ", ")))"
            case .hasMatching(let glob): "tag ~ \(quotedLiteral(glob.pattern))"
            }
        case .parameter(let pattern, let test):
            switch test {
            case .text(let op, let text): "\(pattern) \(op) \(quotedLiteral(text))"
            case .number(let op, let number): "\(pattern) \(op) \(number)"
            case .oneOf(let texts): "\(pattern) IN (\(texts.map(quotedLiteral).joined(separator: ", ")))"
            case .glob(let glob): "\(pattern) ~ \(quotedLiteral(glob.pattern))"
            }
        case .parameterExists(let pattern):
            "EXISTS \(pattern)"
        }
    }
}

extension FieldValue: CustomStringConvertible {
    /// The value as a query literal: text double-quoted, numbers and booleans bare, instants as
    /// quoted ISO 8601, relative times as `-7d`.
    public var description: String {
        switch self {
        case .text(let text): quotedLiteral(text)
        case .integer(let value): String(value)
        case .boolean(let value): value ? "true" : "false"
        case .time(.instant(let date)): quotedLiteral(InstantText.format(date))
        case .time(.ago(let duration)): duration.description
        }
    }
}

/// `text` as a double-quoted query string: `\` and `"` escaped, control characters as
/// `\n`, `\r`, `\t` or `\u{…}`.
func quotedLiteral(_ text: String) -> String {
    var result = "\""
    for scalar in text.unicodeScalars {
        switch scalar {
        case "\\": result += "\\\\"
        case "\"": result += "\\\""
        case "\n": result += "\\n"
        case "\r": result += "\\r"
        case "\t": result += "\\t"
        default:
            if scalar.properties.generalCategory == .control {
                result += "\\u{" + String(scalar.value, radix: 16, uppercase: true) + "}"
            } else {
                result.unicodeScalars.append(scalar)
            }
        }
    }
    return result + "\""
}
