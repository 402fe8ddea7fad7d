#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

extension ParameterValue {
    /// Reads `text` as a value of `type`, accepting what devices send: surrounding whitespace
    /// (except for strings, kept verbatim), `1`/`0`/`true`/`false` in any case for booleans, a `+`
    /// sign on numbers, date-times with or without fraction and offset (UTC when none, so
    /// `0001-01-01T00:00:00Z` is ``unknownTime``), base64 wrapped over several lines, hex in either
    /// case. Anything else throws a ``ModelError`` with code `invalidValue` that says what is wrong
    /// and where.
    public init(parsing text: String, as type: ParameterType) throws(ModelError) {
        let trimmed = Substring(text).trimmingASCIIWhitespace()
        switch type {
        case .string:
            self = .string(text)
        case .int:
            self = .int(try Self.integer(trimmed, as: Int32.self, type: type))
        case .unsignedInt:
            self = .unsignedInt(try Self.integer(trimmed, as: UInt32.self, type: type))
        case .long:
            self = .long(try Self.integer(trimmed, as: Int64.self, type: type))
        case .unsignedLong:
            self = .unsignedLong(try Self.integer(trimmed, as: UInt64.self, type: type))
        case .boolean:
            switch trimmed.lowercased() {
            case "1", "true": self = .boolean(true)
            case "0", "false": self = .boolean(false)
            default: throw Self.invalid(text, type, "expected 1, 0, true or false")
            }
        case .dateTime:
            self = .dateTime(try DateTimeText.parse(trimmed))
        case .base64:
            self = .base64(try Self.base64(text, type: type))
        case .hexBinary:
            self = .hexBinary(try Self.hexBinary(trimmed, type: type))
        case .decimal:
            try Self.checkDecimal(trimmed, type: type)
            self = .decimal(String(trimmed))
        }
    }

    private static func invalid(_ text: some StringProtocol, _ type: ParameterType, _ detail: String) -> ModelError {
        ModelError(.invalidValue, "\(ModelError.quote(text)) is not a valid \(type.xsdName): \(detail)")
    }

    private static func isDigit(_ byte: UInt8) -> Bool {
        byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9")
    }

    private static func integer<Number: FixedWidthInteger>(_ text: Substring, as: Number.Type, type: ParameterType) throws(ModelError) -> Number {
        var digits = text.utf8[...]
        let negative = digits.first == UInt8(ascii: "-")
        if negative || digits.first == UInt8(ascii: "+") { digits = digits.dropFirst() }
        if digits.isEmpty {
            throw invalid(text, type, text.isEmpty ? "empty text" : "no digits")
        }
        if let bad = digits.firstIndex(where: { !isDigit($0) }) {
            throw invalid(text, type, "not a decimal integer (unexpected character at byte \(text.utf8.distance(from: text.utf8.startIndex, to: bad)))")
        }
        // Accumulating towards the sign keeps Int32.min and friends representable.
        var value: Number = 0
        for byte in digits {
            let digit = Number(byte - UInt8(ascii: "0"))
            let (shifted, overflow1) = value.multipliedReportingOverflow(by: 10)
            let (next, overflow2) = negative ? shifted.subtractingReportingOverflow(digit) : shifted.addingReportingOverflow(digit)
            if overflow1 || overflow2 {
                throw invalid(text, type, "out of range \(Number.min)...\(Number.max)")
            }
            value = next
        }
        return value
    }

    private static func base64(_ text: String, type: ParameterType) throws(ModelError) -> Data {
        // Devices wrap long base64 over lines (MIME style); whitespace carries no data.
        let compact = String(String.UnicodeScalarView(text.unicodeScalars.filter { !" \t\r\n".unicodeScalars.contains($0) }))
        if let bad = compact.unicodeScalars.firstIndex(where: { !($0.isASCII && (isBase64Letter(UInt8($0.value)) || $0 == "=")) }) {
            throw invalid(text, type, "\(ModelError.quote(String(compact.unicodeScalars[bad]))) is not a base64 character")
        }
        guard compact.utf8.count % 4 == 0, let data = Data(base64Encoded: compact) else {
            throw invalid(text, type, "length or '=' padding is wrong (expected groups of 4 characters)")
        }
        return data
    }

    private static func isBase64Letter(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
             UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "+"), UInt8(ascii: "/"):
            return true
        default:
            return false
        }
    }

    private static func hexBinary(_ text: Substring, type: ParameterType) throws(ModelError) -> Data {
        var bytes = Data(capacity: text.utf8.count / 2)
        var high: UInt8?
        for (offset, byte) in text.utf8.enumerated() {
            guard let nibble = hexNibble(byte) else {
                throw invalid(text, type, "not a hex digit at byte \(offset)")
            }
            if let first = high {
                bytes.append(first << 4 | nibble)
                high = nil
            } else {
                high = nibble
            }
        }
        if high != nil {
            throw invalid(text, type, "odd number of hex digits")
        }
        return bytes
    }

    private static func hexNibble(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
        default: nil
        }
    }

    /// XML Schema's decimal: `[+-]?(digits(.digits?)?|.digits)`, no exponent.
    private static func checkDecimal(_ text: Substring, type: ParameterType) throws(ModelError) {
        var rest = text.utf8[...]
        if rest.first == UInt8(ascii: "+") || rest.first == UInt8(ascii: "-") { rest = rest.dropFirst() }
        let integerDigits = rest.prefix(while: isDigit).count
        rest = rest.dropFirst(integerDigits)
        var fractionDigits = 0
        if rest.first == UInt8(ascii: ".") {
            rest = rest.dropFirst()
            fractionDigits = rest.prefix(while: isDigit).count
            rest = rest.dropFirst(fractionDigits)
        }
        if integerDigits + fractionDigits == 0 {
            throw invalid(text, type, text.isEmpty ? "empty text" : "no digits")
        }
        if !rest.isEmpty {
            throw invalid(text, type, "unexpected character at byte \(text.utf8.distance(from: text.utf8.startIndex, to: rest.startIndex)) (no exponent allowed)")
        }
    }
}
