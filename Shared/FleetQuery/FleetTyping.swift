/// A value as written in the query, before it is typed against its subject.
struct FleetLiteral {
    /// What the value looked like.
    enum Kind {
        /// A quoted string (escapes decoded): always text.
        case quoted(String)
        /// An unquoted word that is nothing else.
        case bare(String)
        /// `-?[0-9]+(\.[0-9]+)?`
        case number(FleetDecimal)
        /// `true` or `false`, any case.
        case boolean(Bool)
        /// `-7d`; nil when the amount has more than nine digits.
        case duration(FleetDuration?)
        /// An unquoted parameter path.
        case path
    }

    var kind: Kind
    /// The text as written (for quoted strings, decoded).
    var text: String
    var offset: Int

    init(kind: Kind, offset: Int) {
        self.kind = kind
        self.offset = offset
        if case .quoted(let text) = kind { self.text = text } else { self.text = "" }
    }

    init(word: String, offset: Int) {
        self.text = word
        self.offset = offset
        let lowered = asciiLowercased(word)
        if lowered == "true" || lowered == "false" {
            kind = .boolean(lowered == "true")
        } else if let number = FleetDecimal(word) {
            kind = .number(number)
        } else if let duration = Self.duration(word) {
            kind = .duration(duration)
        } else if FleetParser.isPathWord(word) {
            kind = .path
        } else {
            kind = .bare(word)
        }
    }

    /// For a word of the form `-[0-9]+[dhms]`: the duration, or `.some(nil)` when the amount has
    /// more than nine digits. Nil for words of any other form.
    private static func duration(_ word: String) -> FleetDuration?? {
        var scalars = Array(word.unicodeScalars)
        guard scalars.count >= 3, scalars.first == "-", let unitScalar = scalars.popLast(),
              let unit = FleetDuration.Unit(rawValue: String(unitScalar)) else { return nil }
        let digits = scalars.dropFirst()
        guard digits.allSatisfy({ $0.value >= 0x30 && $0.value <= 0x39 }) else { return nil }
        guard digits.count <= 9, let amount = Int64(String(String.UnicodeScalarView(digits))) else { return .some(nil) }
        return .some(FleetDuration(amount, unit))
    }

    /// The text compared with a parameter value by `=`, `!=` and `IN`: numbers in canonical form,
    /// booleans as `true`/`false`, strings and bare words as written.
    func parameterText() throws(FleetQueryError) -> String {
        switch kind {
        case .quoted(let text), .bare(let text): return text
        case .number(let number): return number.description
        case .boolean(let value): return value ? "true" : "false"
        case .duration: throw durationAsText()
        case .path: throw pathAsValue()
        }
    }

    func durationAsText() -> FleetQueryError {
        FleetQueryError(.typeMismatch, at: offset, "relative times such as \(FleetQueryError.quote(text)) apply to device timestamps only (offset \(offset)); quote it to compare text")
    }

    /// The text compared with a device text field or a tag: the value exactly as written.
    func plainText() throws(FleetQueryError) -> String {
        if case .path = kind { throw pathAsValue() }
        return text
    }

    func pathAsValue() -> FleetQueryError {
        FleetQueryError(.typeMismatch, at: offset, "a parameter path cannot be a value (offset \(offset)); comparing two parameters is not supported, quote the text to compare with it")
    }
}

/// Types a predicate: checks that the operator and value fit the subject and turns the literal
/// into the subject's value type.
enum FleetTyping {
    typealias Subject = FleetParser.Subject

    static func compare(_ subject: Subject, _ op: FleetComparison, _ literal: FleetLiteral) throws(FleetQueryError) -> FleetPredicate {
        switch subject {
        case .field(let field):
            return .field(field, .compare(op, try fieldValue(field, op, literal)))
        case .tag:
            switch op {
            case .equal: return .tag(.has(try literal.plainText()))
            case .notEqual: return .tag(.lacks(try literal.plainText()))
            default:
                throw FleetQueryError(.typeMismatch, at: literal.offset, "tags cannot be ordered; use tag = x, tag != x, tag IN (x, y) or tag ~ \"x*\" (value at offset \(literal.offset))")
            }
        case .parameter(let pattern):
            try requireValuePath(pattern, at: literal.offset)
            if !op.isOrdering { return .parameter(pattern, .text(op, try literal.parameterText())) }
            switch literal.kind {
            case .number(let number): return .parameter(pattern, .number(op, number))
            case .quoted(let text), .bare(let text): return .parameter(pattern, .text(op, text))
            case .boolean:
                throw FleetQueryError(.typeMismatch, at: literal.offset, "booleans cannot be ordered; use = or != with \(FleetQueryError.quote(literal.text)) (offset \(literal.offset))")
            case .duration: throw literal.durationAsText()
            case .path: throw literal.pathAsValue()
            }
        }
    }

    static func glob(_ subject: Subject, _ literal: FleetLiteral) throws(FleetQueryError) -> FleetPredicate {
        let glob = FleetGlob(try literal.plainText())
        switch subject {
        case .field(let field):
            guard field.kind == .text || field.kind == .version else {
                throw FleetQueryError(.typeMismatch, at: literal.offset, "'~' applies to text fields, tags and parameters, not to the \(field.kind) field \(field) (offset \(literal.offset))")
            }
            return .field(field, .glob(glob))
        case .tag:
            return .tag(.hasMatching(glob))
        case .parameter(let pattern):
            try requireValuePath(pattern, at: literal.offset)
            return .parameter(pattern, .glob(glob))
        }
    }

    static func oneOf(_ subject: Subject, _ literals: [FleetLiteral], at offset: Int) throws(FleetQueryError) -> FleetPredicate {
        switch subject {
        case .field(let field):
            switch field.kind {
            case .text, .version, .integer:
                var values: [FieldValue] = []
                for literal in literals { values.append(try fieldValue(field, .equal, literal)) }
                return .field(field, .oneOf(values))
            case .boolean, .timestamp:
                throw FleetQueryError(.typeMismatch, at: offset, "IN applies to text, version and integer fields, not to the \(field.kind) field \(field) (offset \(offset))")
            }
        case .tag:
            var tags: [String] = []
            for literal in literals { tags.append(try literal.plainText()) }
            return .tag(.hasAny(tags))
        case .parameter(let pattern):
            try requireValuePath(pattern, at: offset)
            var texts: [String] = []
            for literal in literals { texts.append(try literal.parameterText()) }
            return .parameter(pattern, .oneOf(texts))
        }
    }

    static func null(_ subject: Subject, negated: Bool, at offset: Int) throws(FleetQueryError) -> FleetPredicate {
        switch subject {
        case .field(let field):
            guard field.isNullable else {
                throw FleetQueryError(.typeMismatch, at: offset, "\(field) is never null, so IS \(negated ? "NOT " : "")NULL does not apply (offset \(offset))")
            }
            return .field(field, negated ? .isNotNull : .isNull)
        case .tag:
            throw FleetQueryError(.typeMismatch, at: offset, "IS NULL does not apply to tags (offset \(offset)); a device without tags has an empty list")
        case .parameter(let pattern):
            throw FleetQueryError(.typeMismatch, at: offset, "IS NULL does not apply to parameters (offset \(offset)); write \(negated ? "" : "NOT ")EXISTS \(pattern)")
        }
    }

    private static func requireValuePath(_ pattern: ParameterPattern, at offset: Int) throws(FleetQueryError) {
        if pattern.isObject {
            throw FleetQueryError(.typeMismatch, at: offset, "\(FleetQueryError.quote(pattern.text)) is an object path (trailing dot) and has no value; only EXISTS applies (offset \(offset))")
        }
    }

    /// The value of `literal` for `field`, checked against the operator.
    private static func fieldValue(_ field: DeviceField, _ op: FleetComparison, _ literal: FleetLiteral) throws(FleetQueryError) -> FieldValue {
        let at = literal.offset
        switch field.kind {
        case .text, .version:
            var text = try literal.plainText()
            if field == .protocol, !op.isOrdering {
                text = asciiLowercased(text)
                guard text == "cwmp" || text == "usp" else {
                    throw FleetQueryError(.invalidValue, at: at, "protocol is cwmp or usp, not \(FleetQueryError.quote(literal.text)) (offset \(at))")
                }
            }
            return .text(text)
        case .boolean:
            guard !op.isOrdering else {
                throw FleetQueryError(.typeMismatch, at: at, "\(field) is true or false; only = and != apply (value at offset \(at))")
            }
            switch literal.kind {
            case .boolean(let value): return .boolean(value)
            case .quoted(let text) where ["true", "false"].contains(asciiLowercased(text)): return .boolean(asciiLowercased(text) == "true")
            default:
                throw FleetQueryError(.typeMismatch, at: at, "\(field) is true or false, not \(FleetQueryError.quote(literal.text)) (offset \(at))")
            }
        case .integer:
            switch literal.kind {
            case .number, .quoted:
                guard let number = FleetDecimal(literal.text), !number.description.contains(".") else {
                    throw FleetQueryError(.typeMismatch, at: at, "\(field) is a whole number, not \(FleetQueryError.quote(literal.text)) (offset \(at))")
                }
                guard let value = Int64(number.description) else {
                    throw FleetQueryError(.invalidValue, at: at, "\(FleetQueryError.quote(literal.text)) is too large for \(field) (offset \(at))")
                }
                return .integer(value)
            default:
                throw FleetQueryError(.typeMismatch, at: at, "\(field) is a whole number, not \(FleetQueryError.quote(literal.text)) (offset \(at))")
            }
        case .timestamp:
            switch literal.kind {
            case .duration(let duration?):
                return .time(.ago(duration))
            case .duration(nil):
                throw FleetQueryError(.invalidValue, at: at, "relative time \(FleetQueryError.quote(literal.text)) is too long; use at most nine digits (offset \(at))")
            case .quoted(let text), .bare(let text):
                guard let date = InstantText.parse(text) else {
                    throw FleetQueryError(.invalidValue, at: at, "\(FleetQueryError.quote(text)) is not a timestamp; write an ISO 8601 instant such as \"2026-11-01T00:00:00Z\" or a relative time such as -7d, -12h, -30m, -45s (offset \(at))")
                }
                return .time(.instant(date))
            case .number, .boolean, .path:
                throw FleetQueryError(.typeMismatch, at: at, "\(field) is a timestamp; write an ISO 8601 instant such as \"2026-11-01T00:00:00Z\" or a relative time such as -7d, not \(FleetQueryError.quote(literal.text)) (offset \(at))")
            }
        }
    }
}
