/// Reads the `ParameterMap` argument of a `Boot!` event: a flat JSON object of full parameter
/// path → value (TR-181's JSONObject data type), e.g.
/// `{"Device.DeviceInfo.SoftwareVersion":"2.1.0","Device.DeviceInfo.UpTime":"12"}`.
///
/// Values are strings in every agent we know; numbers, `true`/`false` and `null` are accepted too
/// and kept as their text (`null` as empty), so no digit is lost to floating point. Nested
/// objects and arrays are refused: a parameter value is never one. Hand-written rather than
/// Foundation's JSONSerialization so that number text survives and every error names its byte.
enum ParameterMapJSON {
    /// A malformed map: what is wrong and at which byte.
    struct Failure: Error {
        var message: String
    }

    /// The entries in document order; an empty or all-whitespace text is an empty map.
    static func parse(_ text: String) throws(Failure) -> [(key: String, value: String)] {
        var reader = Reader(bytes: Array(text.utf8))
        reader.skipSpace()
        if reader.atEnd { return [] }
        try reader.expect(UInt8(ascii: "{"))
        var entries: [(key: String, value: String)] = []
        reader.skipSpace()
        if reader.peek == UInt8(ascii: "}") {
            reader.position += 1
        } else {
            while true {
                reader.skipSpace()
                let key = try reader.string()
                reader.skipSpace()
                try reader.expect(UInt8(ascii: ":"))
                reader.skipSpace()
                let value = try reader.scalarValue()
                entries.append((key, value))
                reader.skipSpace()
                if reader.peek == UInt8(ascii: ",") {
                    reader.position += 1
                    continue
                }
                try reader.expect(UInt8(ascii: "}"))
                break
            }
        }
        reader.skipSpace()
        guard reader.atEnd else { throw reader.failure("unexpected text after the closing brace") }
        return entries
    }

    private struct Reader {
        let bytes: [UInt8]
        var position = 0

        var atEnd: Bool { position >= bytes.count }
        var peek: UInt8? { atEnd ? nil : bytes[position] }

        func failure(_ text: String) -> Failure {
            Failure(message: "ParameterMap is not a flat JSON object: \(text) at byte \(position)")
        }

        mutating func skipSpace() {
            while let byte = peek, byte == 0x20 || byte == 0x09 || byte == 0x0A || byte == 0x0D { position += 1 }
        }

        mutating func expect(_ byte: UInt8) throws(Failure) {
            guard peek == byte else {
                throw failure(atEnd ? "text ends where \(Character(Unicode.Scalar(byte))) was expected" : "\(Character(Unicode.Scalar(byte))) expected")
            }
            position += 1
        }

        /// A string, a number, true, false or null, as text.
        mutating func scalarValue() throws(Failure) -> String {
            switch peek {
            case UInt8(ascii: "\"")?: return try string()
            case UInt8(ascii: "{")?, UInt8(ascii: "[")?: throw failure("nested objects and arrays are not parameter values")
            case UInt8(ascii: "t")?: try literal("true"); return "true"
            case UInt8(ascii: "f")?: try literal("false"); return "false"
            case UInt8(ascii: "n")?: try literal("null"); return ""
            case nil: throw failure("text ends where a value was expected")
            default: return try number()
            }
        }

        mutating func literal(_ word: String) throws(Failure) {
            let expected = Array(word.utf8)
            guard bytes.count - position >= expected.count, Array(bytes[position..<position + expected.count]) == expected else {
                throw failure("unknown literal (expected \(word))")
            }
            position += expected.count
        }

        /// JSON's number grammar, kept as the text it is.
        mutating func number() throws(Failure) -> String {
            let start = position
            func digits() -> Int {
                let from = position
                while let byte = peek, byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") { position += 1 }
                return position - from
            }
            if peek == UInt8(ascii: "-") { position += 1 }
            let integer = digits()
            guard integer > 0 else { throw failure("a value must be a string, number, true, false or null") }
            if integer > 1, bytes[position - integer] == UInt8(ascii: "0") { throw failure("number with a leading zero") }
            if peek == UInt8(ascii: ".") {
                position += 1
                guard digits() > 0 else { throw failure("number without digits after the point") }
            }
            if peek == UInt8(ascii: "e") || peek == UInt8(ascii: "E") {
                position += 1
                if peek == UInt8(ascii: "+") || peek == UInt8(ascii: "-") { position += 1 }
                guard digits() > 0 else { throw failure("number without exponent digits") }
            }
            return String(decoding: bytes[start..<position], as: UTF8.self)
        }

        /// A quoted string with JSON escapes (surrogate pairs included).
        mutating func string() throws(Failure) -> String {
            try expect(UInt8(ascii: "\""))
            var scalars = String.UnicodeScalarView()
            var runStart = position
            func flushRun() {
                scalars.append(contentsOf: String(decoding: bytes[runStart..<position], as: UTF8.self).unicodeScalars)
            }
            while true {
                guard let byte = peek else { throw failure("unterminated string") }
                if byte == UInt8(ascii: "\"") {
                    flushRun()
                    position += 1
                    return String(scalars)
                }
                if byte < 0x20 { throw failure("control character in a string") }
                if byte != UInt8(ascii: "\\") {
                    position += 1
                    continue
                }
                flushRun()
                position += 1
                guard let escape = peek else { throw failure("unterminated escape") }
                position += 1
                switch escape {
                case UInt8(ascii: "\""): scalars.append("\"")
                case UInt8(ascii: "\\"): scalars.append("\\")
                case UInt8(ascii: "/"): scalars.append("/")
                case UInt8(ascii: "b"): scalars.append("\u{8}")
                case UInt8(ascii: "f"): scalars.append("\u{C}")
                case UInt8(ascii: "n"): scalars.append("\n")
                case UInt8(ascii: "r"): scalars.append("\r")
                case UInt8(ascii: "t"): scalars.append("\t")
                case UInt8(ascii: "u"): scalars.append(try unicodeEscape())
                default: throw failure("unknown escape \\\(Character(Unicode.Scalar(escape)))")
                }
                runStart = position
            }
        }

        /// The scalar of `\uXXXX` (the `\u` already read), joining a surrogate pair.
        mutating func unicodeEscape() throws(Failure) -> Unicode.Scalar {
            let first = try hex4()
            if (0xD800...0xDBFF).contains(first) {
                guard bytes.count - position >= 6, bytes[position] == UInt8(ascii: "\\"), bytes[position + 1] == UInt8(ascii: "u") else {
                    throw failure("high surrogate without its low half")
                }
                position += 2
                let second = try hex4()
                guard (0xDC00...0xDFFF).contains(second) else { throw failure("high surrogate without its low half") }
                let value = 0x10000 + ((first - 0xD800) << 10) + (second - 0xDC00)
                guard let scalar = Unicode.Scalar(value) else { throw failure("invalid surrogate pair") }
                return scalar
            }
            guard let scalar = Unicode.Scalar(first) else { throw failure("lone low surrogate") }
            return scalar
        }

        mutating func hex4() throws(Failure) -> UInt32 {
            guard bytes.count - position >= 4 else { throw failure("\\u escape needs four hex digits") }
            var value: UInt32 = 0
            for _ in 0..<4 {
                let byte = bytes[position]
                let nibble: UInt32
                switch byte {
                case UInt8(ascii: "0")...UInt8(ascii: "9"): nibble = UInt32(byte - UInt8(ascii: "0"))
                case UInt8(ascii: "a")...UInt8(ascii: "f"): nibble = UInt32(byte - UInt8(ascii: "a") + 10)
                case UInt8(ascii: "A")...UInt8(ascii: "F"): nibble = UInt32(byte - UInt8(ascii: "A") + 10)
                default: throw failure("\\u escape needs four hex digits")
                }
                value = value << 4 | nibble
                position += 1
            }
            return value
        }
    }
}
