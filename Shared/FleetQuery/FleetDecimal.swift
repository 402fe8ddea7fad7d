/// An exact decimal number in canonical text form, compared without floating point.
///
/// The accepted form is `-?[0-9]+(\.[0-9]+)?` (no plus sign, no exponent, no spaces). Canonical
/// text drops leading zeros of the integer part, trailing zeros of the fraction, an empty
/// fraction and the sign of zero: `007` → `7`, `6.50` → `6.5`, `6.0` → `6`, `-0.0` → `0`.
public struct FleetDecimal: Sendable, Hashable, Comparable, CustomStringConvertible {
    /// Whether the number is below zero.
    let negative: Bool
    /// Integer digits (ASCII) without leading zeros, empty for zero.
    let integerDigits: [UInt8]
    /// Fraction digits (ASCII) without trailing zeros.
    let fractionDigits: [UInt8]

    /// The canonical text, e.g. `-12.5`.
    public let description: String

    /// Longest stored parameter value (in characters) that is compared numerically; longer
    /// values never satisfy a numeric ordering. Keeps PostgreSQL's `::numeric` cast far from
    /// its limits.
    public static let maxStoredLength = 400

    /// Reads `-?[0-9]+(\.[0-9]+)?`; nil for anything else.
    public init?(_ text: some StringProtocol) {
        let bytes = Array(String(text).utf8)
        var index = 0
        let negative = bytes.first == UInt8(ascii: "-")
        if negative { index = 1 }
        let integerStart = index
        while index < bytes.count, isDigit(bytes[index]) { index += 1 }
        guard index > integerStart else { return nil }
        let integerEnd = index
        var fractionStart = index, fractionEnd = index
        if index < bytes.count {
            guard bytes[index] == UInt8(ascii: "."), index + 1 < bytes.count else { return nil }
            index += 1
            fractionStart = index
            while index < bytes.count, isDigit(bytes[index]) { index += 1 }
            guard index == bytes.count, index > fractionStart else { return nil }
            fractionEnd = index
        }
        let integer = Array(bytes[integerStart..<integerEnd].drop(while: { $0 == UInt8(ascii: "0") }))
        var fraction = Array(bytes[fractionStart..<fractionEnd])
        while fraction.last == UInt8(ascii: "0") { fraction.removeLast() }
        self.negative = negative && !(integer.isEmpty && fraction.isEmpty)
        self.integerDigits = integer
        self.fractionDigits = fraction
        let integerText = integer.isEmpty ? "0" : String(decoding: integer, as: UTF8.self)
        let fractionText = fraction.isEmpty ? "" : "." + String(decoding: fraction, as: UTF8.self)
        self.description = (self.negative ? "-" : "") + integerText + fractionText
    }

    /// Reads a stored parameter value the way the SQL guard does: at most
    /// ``maxStoredLength`` characters and the plain decimal form.
    static func stored(_ value: String) -> FleetDecimal? {
        guard value.unicodeScalars.count <= maxStoredLength else { return nil }
        return FleetDecimal(value)
    }

    /// Three-way comparison of the numbers: negative, zero or positive.
    func compare(to other: FleetDecimal) -> Int {
        if negative != other.negative { return negative ? -1 : 1 }
        let magnitude = Self.compareMagnitude(self, other)
        return negative ? -magnitude : magnitude
    }

    private static func compareMagnitude(_ a: FleetDecimal, _ b: FleetDecimal) -> Int {
        if a.integerDigits.count != b.integerDigits.count { return a.integerDigits.count < b.integerDigits.count ? -1 : 1 }
        for (x, y) in zip(a.integerDigits, b.integerDigits) where x != y { return x < y ? -1 : 1 }
        for (x, y) in zip(a.fractionDigits, b.fractionDigits) where x != y { return x < y ? -1 : 1 }
        if a.fractionDigits.count != b.fractionDigits.count { return a.fractionDigits.count < b.fractionDigits.count ? -1 : 1 }
        return 0
    }

    /// Numeric order.
    public static func < (lhs: FleetDecimal, rhs: FleetDecimal) -> Bool { lhs.compare(to: rhs) < 0 }

    /// Equal numbers have equal canonical text.
    public static func == (lhs: FleetDecimal, rhs: FleetDecimal) -> Bool { lhs.description == rhs.description }

    /// Hashes the canonical text.
    public func hash(into hasher: inout Hasher) { hasher.combine(description) }
}

/// Whether a byte is an ASCII digit.
func isDigit(_ byte: UInt8) -> Bool { byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") }
