/// Recursive-descent parser from tokens to a typed ``FleetExpression``.
///
/// ```
/// query     := ε | or END
/// or        := and (OR and)*
/// and       := unary (AND unary)*
/// unary     := NOT unary | primary
/// primary   := '(' or ')' | EXISTS path | subject test
/// test      := cmp value | '~' value | IN '(' value (',' value)* ')' | IS [NOT] NULL
/// ```
struct FleetParser {
    private let tokens: [FleetToken]
    private let limits: FleetFilter.Limits
    private var position = 0
    private var depth = 0
    private var predicates = 0

    /// Keywords (case-insensitive); they cannot be bare values.
    static let keywords: Set<String> = ["and", "or", "not", "in", "is", "null", "exists"]

    init(tokens: [FleetToken], limits: FleetFilter.Limits) {
        self.tokens = tokens
        self.limits = limits
    }

    /// Parses a whole query; nil for an empty one.
    mutating func parseQuery() throws(FleetQueryError) -> FleetExpression? {
        if current.kind == .end { return nil }
        let expression = try parseOr()
        guard current.kind == .end else {
            if case .rightParen = current.kind {
                throw FleetQueryError(.syntax, at: current.offset, "unbalanced ')' at offset \(current.offset)")
            }
            throw FleetQueryError(.syntax, at: current.offset, "expected AND, OR or the end of the query at offset \(current.offset), found \(current.display)")
        }
        return expression
    }

    // MARK: Tokens

    private var current: FleetToken { tokens[position] }

    private mutating func advance() -> FleetToken {
        let token = tokens[position]
        if position < tokens.count - 1 { position += 1 }
        return token
    }

    /// The lowercased word if the current token is an unquoted keyword.
    private var keyword: String? {
        guard case .word(let word) = current.kind else { return nil }
        let lowered = asciiLowercased(word)
        return Self.keywords.contains(lowered) ? lowered : nil
    }

    private mutating func enter(at offset: Int) throws(FleetQueryError) {
        depth += 1
        if depth > limits.maxDepth {
            throw FleetQueryError(.tooComplex, at: offset, "the query nests deeper than \(limits.maxDepth) levels of parentheses and NOT (offset \(offset))")
        }
    }

    // MARK: Boolean structure

    private mutating func parseOr() throws(FleetQueryError) -> FleetExpression {
        var operands = [try parseAnd()]
        while keyword == "or" {
            _ = advance()
            operands.append(try parseAnd())
        }
        return operands.count == 1 ? operands[0] : .or(operands)
    }

    private mutating func parseAnd() throws(FleetQueryError) -> FleetExpression {
        var operands = [try parseUnary()]
        while keyword == "and" {
            _ = advance()
            operands.append(try parseUnary())
        }
        return operands.count == 1 ? operands[0] : .and(operands)
    }

    private mutating func parseUnary() throws(FleetQueryError) -> FleetExpression {
        guard keyword == "not" else { return try parsePrimary() }
        let not = advance()
        try enter(at: not.offset)
        defer { depth -= 1 }
        if current.kind == .end {
            throw FleetQueryError(.syntax, at: current.offset, "expected a condition after NOT at offset \(current.offset)")
        }
        return .not(try parseUnary())
    }

    private mutating func parsePrimary() throws(FleetQueryError) -> FleetExpression {
        let token = current
        switch token.kind {
        case .leftParen:
            _ = advance()
            try enter(at: token.offset)
            defer { depth -= 1 }
            if current.kind == .rightParen {
                throw FleetQueryError(.syntax, at: current.offset, "empty parentheses at offset \(token.offset)")
            }
            let inner = try parseOr()
            guard current.kind == .rightParen else {
                throw FleetQueryError(.syntax, at: current.offset, "expected ')' to close the '(' at offset \(token.offset), found \(current.display) at offset \(current.offset)")
            }
            _ = advance()
            return inner
        case .word(let word):
            if keyword == "exists" {
                _ = advance()
                let pattern = try parsePath(after: "EXISTS")
                try countPredicate(at: token.offset)
                return .predicate(.parameterExists(pattern))
            }
            if let keyword {
                throw FleetQueryError(.syntax, at: token.offset, "expected a condition at offset \(token.offset), found the keyword \(keyword.uppercased())")
            }
            let subject = try subject(word, at: token.offset)
            _ = advance()
            try countPredicate(at: token.offset)
            return .predicate(try parseTest(on: subject, named: word))
        case .end:
            throw FleetQueryError(.syntax, at: token.offset, "expected a condition at offset \(token.offset), found the end of the query")
        default:
            throw FleetQueryError(.syntax, at: token.offset, "expected a field, tag or parameter path at offset \(token.offset), found \(token.display)")
        }
    }

    private mutating func countPredicate(at offset: Int) throws(FleetQueryError) {
        predicates += 1
        if predicates > limits.maxPredicates {
            throw FleetQueryError(.tooComplex, at: offset, "the query has more than \(limits.maxPredicates) conditions (offset \(offset))")
        }
    }

    // MARK: Subjects

    /// What a predicate tests.
    enum Subject {
        /// A devices column.
        case field(DeviceField)
        /// `tag`.
        case tag
        /// A parameter path, possibly with wildcards.
        case parameter(ParameterPattern)
    }

    static func isPathWord(_ word: String) -> Bool {
        ParameterPattern.roots.contains { word.hasPrefix($0 + ".") }
    }

    private func subject(_ word: String, at offset: Int) throws(FleetQueryError) -> Subject {
        if Self.isPathWord(word) { return .parameter(try ParameterPattern(validating: word, offset: offset)) }
        if asciiLowercased(word) == "tag" { return .tag }
        if let field = DeviceField(queryName: word) { return .field(field) }
        let lowered = asciiLowercased(word)
        if ParameterPattern.roots.contains(where: { lowered.hasPrefix(asciiLowercased($0) + ".") }) {
            throw FleetQueryError(.unknownField, at: offset, "unknown field \(FleetQueryError.quote(word)) at offset \(offset); parameter paths are case-sensitive and start with 'Device.' or 'InternetGatewayDevice.'")
        }
        if lowered == "tags" {
            throw FleetQueryError(.unknownField, at: offset, "unknown field 'tags' at offset \(offset); write tag = x, tag != x or tag IN (x, y)")
        }
        let fields = DeviceField.allCases.map(\.rawValue).joined(separator: ", ")
        throw FleetQueryError(.unknownField, at: offset, "unknown field \(FleetQueryError.quote(word)) at offset \(offset); expected one of \(fields), tag, or a parameter path starting with 'Device.' or 'InternetGatewayDevice.'")
    }

    private mutating func parsePath(after what: String) throws(FleetQueryError) -> ParameterPattern {
        let token = advance()
        guard case .word(let word) = token.kind, Self.isPathWord(word) else {
            throw FleetQueryError(.syntax, at: token.offset, "expected a parameter path after \(what) at offset \(token.offset), found \(token.display)")
        }
        return try ParameterPattern(validating: word, offset: token.offset)
    }

    // MARK: Tests

    private mutating func parseTest(on subject: Subject, named name: String) throws(FleetQueryError) -> FleetPredicate {
        let token = current
        switch token.kind {
        case .comparison(let op):
            _ = advance()
            let value = try parseValue(after: "'\(op)'")
            return try FleetTyping.compare(subject, op, value)
        case .tilde:
            _ = advance()
            let value = try parseValue(after: "'~'")
            return try FleetTyping.glob(subject, value)
        case .word:
            switch keyword {
            case "in":
                _ = advance()
                let values = try parseList()
                return try FleetTyping.oneOf(subject, values, at: token.offset)
            case "is":
                _ = advance()
                var negated = false
                if keyword == "not" {
                    _ = advance()
                    negated = true
                }
                guard keyword == "null" else {
                    throw FleetQueryError(.syntax, at: current.offset, "expected NULL after IS\(negated ? " NOT" : "") at offset \(current.offset), found \(current.display)")
                }
                _ = advance()
                return try FleetTyping.null(subject, negated: negated, at: token.offset)
            case "not":
                throw FleetQueryError(.syntax, at: token.offset, "'\(name) NOT …' is not supported (offset \(token.offset)); write NOT (\(name) IN (…)) or \(name) IS NOT NULL")
            default:
                break
            }
        default:
            break
        }
        throw FleetQueryError(.syntax, at: token.offset, "expected an operator (=, !=, <, <=, >, >=, ~, IN, IS) after \(FleetQueryError.quote(name)) at offset \(token.offset), found \(token.display)")
    }

    private mutating func parseList() throws(FleetQueryError) -> [FleetLiteral] {
        let open = advance()
        guard open.kind == .leftParen else {
            throw FleetQueryError(.syntax, at: open.offset, "expected '(' after IN at offset \(open.offset), found \(open.display)")
        }
        var values: [FleetLiteral] = []
        while true {
            if values.count == limits.maxListItems {
                throw FleetQueryError(.tooComplex, at: current.offset, "an IN list has more than \(limits.maxListItems) values (offset \(current.offset))")
            }
            values.append(try parseValue(after: values.isEmpty ? "'('" : "','"))
            let separator = advance()
            switch separator.kind {
            case .comma: continue
            case .rightParen: return values
            default:
                throw FleetQueryError(.syntax, at: separator.offset, "expected ',' or ')' in the IN list opened at offset \(open.offset), found \(separator.display) at offset \(separator.offset)")
            }
        }
    }

    private mutating func parseValue(after what: String) throws(FleetQueryError) -> FleetLiteral {
        let token = current
        switch token.kind {
        case .string(let text):
            _ = advance()
            return FleetLiteral(kind: .quoted(text), offset: token.offset)
        case .word(let word):
            if let keyword {
                let hint = keyword == "null" ? "; to test for a missing value write IS NULL" : "; quote it to use it as a value"
                throw FleetQueryError(.syntax, at: token.offset, "expected a value after \(what) at offset \(token.offset), found the keyword \(keyword.uppercased())\(hint)")
            }
            _ = advance()
            return FleetLiteral(word: word, offset: token.offset)
        default:
            throw FleetQueryError(.syntax, at: token.offset, "expected a value after \(what) at offset \(token.offset), found \(token.display)")
        }
    }
}
