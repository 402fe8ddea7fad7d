/// One token of a filter text.
struct FleetToken: Sendable, Equatable {
    /// What the token is.
    enum Kind: Sendable, Equatable {
        /// `(`
        case leftParen
        /// `)`
        case rightParen
        /// `,`
        case comma
        /// `=`, `!=`/`<>`, `<`, `<=`, `>`, `>=`
        case comparison(FleetComparison)
        /// `~`
        case tilde
        /// A quoted string, escapes decoded.
        case string(String)
        /// A run of other characters: keyword, field, path, number, relative time or bare word.
        case word(String)
        /// The end of the text.
        case end
    }

    /// What the token is.
    var kind: Kind
    /// Where it starts, in Unicode scalars.
    var offset: Int

    /// The token as a person would refer to it in a message.
    var display: String {
        switch kind {
        case .leftParen: "'('"
        case .rightParen: "')'"
        case .comma: "','"
        case .comparison(let op): "'\(op)'"
        case .tilde: "'~'"
        case .string(let text): "the string " + FleetQueryError.quote(text)
        case .word(let word): FleetQueryError.quote(word)
        case .end: "the end of the query"
        }
    }
}

/// Splits filter text into tokens.
///
/// Words are maximal runs of characters other than white space and `( ) , = ! < > ~ " '`, so a
/// path such as `Device.WiFi.SSID.*.SSID`, a glob such as `XG-*` or an instant such as
/// `2026-11-01T00:00:00Z` is one word.
struct FleetLexer {
    private let scalars: [Unicode.Scalar]
    private var index = 0

    init(_ text: String) { self.scalars = Array(text.unicodeScalars) }

    /// All tokens, ending with `.end`.
    static func tokens(_ text: String) throws(FleetQueryError) -> [FleetToken] {
        var lexer = FleetLexer(text)
        var tokens: [FleetToken] = []
        while true {
            let token = try lexer.next()
            tokens.append(token)
            if token.kind == .end { return tokens }
        }
    }

    private static func isSpecial(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar {
        case "(", ")", ",", "=", "!", "<", ">", "~", "\"", "'": true
        default: false
        }
    }

    private static func isSpace(_ scalar: Unicode.Scalar) -> Bool { scalar.properties.isWhitespace }

    private static func isControl(_ scalar: Unicode.Scalar) -> Bool { scalar.properties.generalCategory == .control }

    private func peek(_ ahead: Int = 0) -> Unicode.Scalar? {
        index + ahead < scalars.count ? scalars[index + ahead] : nil
    }

    private mutating func next() throws(FleetQueryError) -> FleetToken {
        while let scalar = peek(), Self.isSpace(scalar) { index += 1 }
        let start = index
        guard let scalar = peek() else { return FleetToken(kind: .end, offset: start) }
        func single(_ kind: FleetToken.Kind, length: Int = 1) -> FleetToken {
            index += length
            return FleetToken(kind: kind, offset: start)
        }
        switch scalar {
        case "(": return single(.leftParen)
        case ")": return single(.rightParen)
        case ",": return single(.comma)
        case "~": return single(.tilde)
        case "=": return single(.comparison(.equal), length: peek(1) == "=" ? 2 : 1)
        case "!":
            guard peek(1) == "=" else {
                throw FleetQueryError(.syntax, at: start, "'!' must be followed by '=' at offset \(start); to negate, write NOT")
            }
            return single(.comparison(.notEqual), length: 2)
        case "<":
            if peek(1) == "=" { return single(.comparison(.lessOrEqual), length: 2) }
            if peek(1) == ">" { return single(.comparison(.notEqual), length: 2) }
            return single(.comparison(.less))
        case ">":
            return peek(1) == "=" ? single(.comparison(.greaterOrEqual), length: 2) : single(.comparison(.greater))
        case "\"", "'":
            return try quoted(scalar)
        default:
            if Self.isControl(scalar) {
                throw FleetQueryError(.syntax, at: start, "unexpected control character \(scalar.escaped(asASCII: true)) at offset \(start)")
            }
            var word = String.UnicodeScalarView()
            while let next = peek(), !Self.isSpace(next), !Self.isSpecial(next) {
                if Self.isControl(next) {
                    throw FleetQueryError(.syntax, at: index, "unexpected control character \(next.escaped(asASCII: true)) at offset \(index)")
                }
                word.append(next)
                index += 1
            }
            return FleetToken(kind: .word(String(word)), offset: start)
        }
    }

    /// A string in `quote` characters; backslash escapes `\\ \" \' \n \r \t \uXXXX \u{X…}`.
    private mutating func quoted(_ quote: Unicode.Scalar) throws(FleetQueryError) -> FleetToken {
        let start = index
        index += 1
        var text = String.UnicodeScalarView()
        while true {
            guard let scalar = peek() else {
                throw FleetQueryError(.syntax, at: start, "unterminated string starting at offset \(start); close it with \(quote)")
            }
            let at = index
            index += 1
            if scalar == quote { return FleetToken(kind: .string(String(text)), offset: start) }
            if scalar == "\0" {
                throw FleetQueryError(.invalidValue, at: at, "a value cannot contain the NUL character (offset \(at))")
            }
            guard scalar == "\\" else {
                text.append(scalar)
                continue
            }
            guard let escaped = peek() else {
                throw FleetQueryError(.syntax, at: at, "unterminated string starting at offset \(start); a backslash ends the text at offset \(at)")
            }
            index += 1
            switch escaped {
            case "\\", "\"", "'": text.append(escaped)
            case "n": text.append("\n")
            case "r": text.append("\r")
            case "t": text.append("\t")
            case "u": text.append(try unicodeEscape(at: at))
            default:
                throw FleetQueryError(.syntax, at: at, "unknown escape '\\\(escaped.escaped(asASCII: true))' at offset \(at); use \\\\, \\\", \\', \\n, \\r, \\t or \\uXXXX")
            }
        }
    }

    /// The scalar of `\uXXXX` or `\u{X…}` (the `\u` is already read; `at` is the backslash).
    private mutating func unicodeEscape(at: Int) throws(FleetQueryError) -> Unicode.Scalar {
        var digits = ""
        let braced = peek() == "{"
        if braced {
            index += 1
            while let next = peek(), next != "}", digits.count < 7 {
                digits.unicodeScalars.append(next)
                index += 1
            }
            guard peek() == "}", (1...6).contains(digits.count) else {
                throw FleetQueryError(.syntax, at: at, "malformed escape at offset \(at); write \\u{1F600} with one to six hex digits")
            }
            index += 1
        } else {
            for _ in 0..<4 {
                guard let next = peek() else { break }
                digits.unicodeScalars.append(next)
                index += 1
            }
        }
        guard braced || digits.count == 4, let value = UInt32(digits, radix: 16), digits.unicodeScalars.allSatisfy(\.properties.isASCIIHexDigit),
              let scalar = Unicode.Scalar(value) else {
            throw FleetQueryError(.syntax, at: at, "malformed escape at offset \(at); write \\uXXXX with four hex digits naming a Unicode scalar")
        }
        if scalar == "\0" {
            throw FleetQueryError(.invalidValue, at: at, "a value cannot contain the NUL character (offset \(at))")
        }
        return scalar
    }
}
