/// One authentication scheme with what follows it, as read from an `Authorization` header (one
/// credentials) or a `WWW-Authenticate` header (one or more challenges).
struct AuthHeaderItem: Sendable, Hashable {
    /// The scheme, lowercased (`digest`, `basic`, …): schemes compare case-insensitively.
    var scheme: String
    /// The token68 form (`Basic dXNlcjpwYXNz`), when the scheme used it.
    var token68: String?
    /// Parameters by lowercased name, values unquoted and unescaped.
    var parameters: [String: String] = [:]

    /// The value of parameter `name` (lowercase).
    subscript(_ name: String) -> String? { parameters[name] }
}

/// A byte-level reader for the RFC 9110 §11 grammar shared by `Authorization` and
/// `WWW-Authenticate`:
///
///     challenge / credentials = auth-scheme [ 1*SP ( token68 / #auth-param ) ]
///     auth-param = token BWS "=" BWS ( token / quoted-string )
///
/// Several challenges may share one header value, separated by commas, so after each parameter
/// the reader looks ahead: `token BWS "="` continues the parameter list, anything else starts the
/// next scheme. Empty list elements (`, ,`) are skipped, as RFC 9110 §5.6.1 asks of recipients.
///
/// Two leniencies, both for devices in the field: an unquoted value may hold any visible ASCII
/// except `,` `"` and `\` (some CPEs send `uri=/path?x=1` or base64 nonces unquoted), and
/// `qop`/`algorithm` may be quoted where the RFC says token. Everything else is strict:
/// duplicates, control characters, unterminated quotes and invalid UTF-8 are refused.
struct AuthHeaderParser {
    private let bytes: [UInt8]
    private var index = 0
    private let limits: AuthHeaderLimits

    /// Reads every scheme in `value`.
    static func parse(_ value: String, limits: AuthHeaderLimits) throws(HTTPAuthError) -> [AuthHeaderItem] {
        let bytes = Array(value.utf8)
        guard bytes.count <= limits.maxBytes else {
            throw HTTPAuthError(.tooLarge, "header of \(bytes.count) bytes exceeds the limit of \(limits.maxBytes)")
        }
        var parser = AuthHeaderParser(bytes: bytes, limits: limits)
        let items = try parser.readItems()
        guard !items.isEmpty else { throw HTTPAuthError(.empty, "no authentication scheme in the header") }
        return items
    }

    private init(bytes: [UInt8], limits: AuthHeaderLimits) {
        self.bytes = bytes
        self.limits = limits
    }

    private var atEnd: Bool { index == bytes.count }
    private var current: UInt8? { atEnd ? nil : bytes[index] }

    private mutating func readItems() throws(HTTPAuthError) -> [AuthHeaderItem] {
        var items: [AuthHeaderItem] = []
        while true {
            skipSeparators()
            if atEnd { return items }
            guard let scheme = readToken() else { throw unexpected("an authentication scheme") }
            var item = AuthHeaderItem(scheme: scheme.lowercased())
            let spaced = skipWhitespace()
            if atEnd || current == UInt8(ascii: ",") {
                items.append(item)
                continue
            }
            guard spaced else { throw unexpected("a space after the scheme") }
            if let token68 = readToken68() {
                item.token68 = token68
            } else {
                try readParameters(into: &item)
            }
            items.append(item)
        }
    }

    /// Reads `name=value` pairs until the header ends or the next scheme begins.
    private mutating func readParameters(into item: inout AuthHeaderItem) throws(HTTPAuthError) {
        while true {
            let start = index
            guard let rawName = readToken() else { throw unexpected("a parameter name") }
            let name = rawName.lowercased()
            skipWhitespace()
            guard current == UInt8(ascii: "=") else { throw unexpected("'=' after parameter \(HTTPAuthError.name(name))") }
            index += 1
            skipWhitespace()
            let value = try current == UInt8(ascii: "\"") ? readQuotedString() : readUnquotedValue(of: name)
            guard item.parameters[name] == nil else {
                throw HTTPAuthError(.duplicateParameter, "parameter \(HTTPAuthError.name(name)) appears twice", offset: start)
            }
            guard item.parameters.count < limits.maxParameters else {
                throw HTTPAuthError(.tooLarge, "more than \(limits.maxParameters) parameters", offset: start)
            }
            item.parameters[name] = value
            skipWhitespace()
            if atEnd { return }
            guard current == UInt8(ascii: ",") else { throw unexpected("',' or the end after parameter \(HTTPAuthError.name(name))") }
            skipSeparators()
            if atEnd || !parameterAhead() { return }
        }
    }

    /// Whether the bytes ahead read `token BWS "="`, i.e. another parameter rather than a scheme.
    private func parameterAhead() -> Bool {
        var probe = index
        while probe < bytes.count, Self.isTokenByte(bytes[probe]) { probe += 1 }
        guard probe > index else { return false }
        while probe < bytes.count, bytes[probe] == UInt8(ascii: " ") || bytes[probe] == UInt8(ascii: "\t") { probe += 1 }
        return probe < bytes.count && bytes[probe] == UInt8(ascii: "=")
    }

    /// Reads a token68 if that is what follows: its characters, optional `=` padding, then the
    /// end of the header or a comma. Otherwise leaves the position alone and returns nil.
    private mutating func readToken68() -> String? {
        let start = index
        var probe = index
        while probe < bytes.count, Self.isToken68Byte(bytes[probe]) { probe += 1 }
        guard probe > start else { return nil }
        while probe < bytes.count, bytes[probe] == UInt8(ascii: "=") { probe += 1 }
        let end = probe
        while probe < bytes.count, bytes[probe] == UInt8(ascii: " ") || bytes[probe] == UInt8(ascii: "\t") { probe += 1 }
        guard probe == bytes.count || bytes[probe] == UInt8(ascii: ",") else { return nil }
        index = probe
        return String(decoding: bytes[start..<end], as: UTF8.self)
    }

    private mutating func readToken() -> String? {
        let start = index
        while let byte = current, Self.isTokenByte(byte) { index += 1 }
        guard index > start else { return nil }
        return String(decoding: bytes[start..<index], as: UTF8.self)
    }

    private mutating func readUnquotedValue(of name: String) throws(HTTPAuthError) -> String {
        let start = index
        while let byte = current, byte > 0x20, byte < 0x7F,
              byte != UInt8(ascii: ","), byte != UInt8(ascii: "\""), byte != UInt8(ascii: "\\") {
            index += 1
        }
        guard index > start else { throw unexpected("a value for parameter \(HTTPAuthError.name(name))") }
        return String(decoding: bytes[start..<index], as: UTF8.self)
    }

    /// Reads `"…"`, undoing `\x` escapes; the position starts on the opening quote.
    private mutating func readQuotedString() throws(HTTPAuthError) -> String {
        let start = index
        index += 1
        var content: [UInt8] = []
        while true {
            guard let byte = current else {
                throw HTTPAuthError(.malformed, "quoted string is not terminated", offset: start)
            }
            index += 1
            switch byte {
            case UInt8(ascii: "\""):
                guard let text = String(validating: content, as: UTF8.self) else {
                    throw HTTPAuthError(.invalidEncoding, "quoted string is not valid UTF-8", offset: start)
                }
                return text
            case UInt8(ascii: "\\"):
                guard let escaped = current else {
                    throw HTTPAuthError(.malformed, "quoted string is not terminated", offset: start)
                }
                guard Self.isQuotedTextByte(escaped) || escaped == UInt8(ascii: "\"") || escaped == UInt8(ascii: "\\") else {
                    throw HTTPAuthError(.malformed, "control character in quoted string", offset: index)
                }
                content.append(escaped)
                index += 1
            default:
                guard Self.isQuotedTextByte(byte) else {
                    throw HTTPAuthError(.malformed, "control character in quoted string", offset: index - 1)
                }
                content.append(byte)
            }
        }
    }

    /// Skips spaces and tabs; returns whether there were any.
    @discardableResult
    private mutating func skipWhitespace() -> Bool {
        let start = index
        while let byte = current, byte == UInt8(ascii: " ") || byte == UInt8(ascii: "\t") { index += 1 }
        return index > start
    }

    /// Skips whitespace and commas (list separators and empty list elements).
    private mutating func skipSeparators() {
        while let byte = current, byte == UInt8(ascii: " ") || byte == UInt8(ascii: "\t") || byte == UInt8(ascii: ",") {
            index += 1
        }
    }

    private func unexpected(_ expectation: String) -> HTTPAuthError {
        let found: String
        if let byte = current {
            found = byte >= 0x21 && byte < 0x7F ? "'\(Character(Unicode.Scalar(byte)))'" : "byte 0x\(String(byte, radix: 16))"
        } else {
            found = "the end of the header"
        }
        return HTTPAuthError(.malformed, "expected \(expectation), found \(found)", offset: index)
    }

    /// `tchar` of RFC 9110 §5.6.2.
    static func isTokenByte(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            true
        case UInt8(ascii: "!"), UInt8(ascii: "#"), UInt8(ascii: "$"), UInt8(ascii: "%"), UInt8(ascii: "&"),
             UInt8(ascii: "'"), UInt8(ascii: "*"), UInt8(ascii: "+"), UInt8(ascii: "-"), UInt8(ascii: "."),
             UInt8(ascii: "^"), UInt8(ascii: "_"), UInt8(ascii: "`"), UInt8(ascii: "|"), UInt8(ascii: "~"):
            true
        default:
            false
        }
    }

    /// The characters of a token68 before its `=` padding (RFC 9110 §11.2).
    static func isToken68Byte(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
             UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"), UInt8(ascii: "+"), UInt8(ascii: "/"):
            true
        default:
            false
        }
    }

    /// `qdtext` of RFC 9110 §5.6.4: tab, space and visible characters other than `"` and `\`,
    /// plus obs-text (the bytes of UTF-8 sequences, checked as a whole afterwards).
    static func isQuotedTextByte(_ byte: UInt8) -> Bool {
        byte == 0x09 || (byte >= 0x20 && byte != 0x22 && byte != 0x5C && byte != 0x7F)
    }
}

/// Writes auth-param lists: the inverse of ``AuthHeaderParser``.
struct AuthParameterWriter {
    private(set) var text: String
    private var hasParameters = false

    /// Starts a header value with `scheme`.
    init(scheme: String) {
        text = scheme
    }

    private mutating func separator() -> String {
        defer { hasParameters = true }
        return hasParameters ? ", " : " "
    }

    /// Appends `name="value"`, escaping `"` and `\`.
    mutating func quoted(_ name: String, _ value: String) {
        var escaped = ""
        for character in value {
            if character == "\"" || character == "\\" { escaped.append("\\") }
            escaped.append(character)
        }
        text += "\(separator())\(name)=\"\(escaped)\""
    }

    /// Appends `name=value` for a value that is a token.
    mutating func token(_ name: String, _ value: String) {
        text += "\(separator())\(name)=\(value)"
    }
}
