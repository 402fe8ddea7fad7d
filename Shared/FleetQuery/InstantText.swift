import Foundation
import TwinfleetModel

/// Reading and writing the ISO 8601 instants of the filter language, without locale or calendar
/// objects, to microsecond precision (PostgreSQL's).
///
/// Accepted: `YYYY-MM-DD` (midnight UTC) and `YYYY-MM-DDTHH:MM:SS[.f…]Z|±HH:MM`, with one to six
/// fraction digits, `T` and `Z` in either case, years 0001–9999. A time without a zone is refused
/// rather than guessed.
enum InstantText {
    /// Microseconds since 1970 of 0001-01-01T00:00:00Z and of 10000-01-01T00:00:00Z.
    static let validMicroseconds: Range<Int64> = -62_135_596_800_000_000 ..< 253_402_300_800_000_000

    /// The instant, or nil when the text is not in an accepted form.
    static func parse(_ text: String) -> Date? {
        guard let micros = microseconds(text) else { return nil }
        return date(microseconds: micros)
    }

    /// The date for a count of microseconds since 1970.
    static func date(microseconds: Int64) -> Date {
        Date(timeIntervalSince1970: Double(microseconds) / 1_000_000)
    }

    /// Whole microseconds since 1970 nearest to `date`.
    static func microseconds(of date: Date) -> Int64? {
        let value = (date.timeIntervalSince1970 * 1_000_000).rounded()
        guard value.isFinite, value > -9.2e18, value < 9.2e18 else { return nil }
        return Int64(value)
    }

    /// `2026-11-01T00:00:00Z`, with a fraction (trailing zeros dropped) when there is one.
    static func format(_ date: Date) -> String {
        guard let micros = microseconds(of: date) else { return "invalid" }
        var seconds = micros / 1_000_000
        var fraction = micros % 1_000_000
        if fraction < 0 {
            fraction += 1_000_000
            seconds -= 1
        }
        var days = seconds / 86_400
        var secondOfDay = seconds % 86_400
        if secondOfDay < 0 {
            secondOfDay += 86_400
            days -= 1
        }
        let (year, month, day) = ProlepticGregorian.date(fromDays: days)
        func two<N: BinaryInteger>(_ n: N) -> String { n < 10 ? "0\(n)" : "\(n)" }
        var yearText = String(abs(year))
        while yearText.count < 4 { yearText = "0" + yearText }
        var text = (year < 0 ? "-" : "") + yearText + "-" + two(month) + "-" + two(day)
        text += "T" + two(secondOfDay / 3600) + ":" + two(secondOfDay / 60 % 60) + ":" + two(secondOfDay % 60)
        if fraction != 0 {
            var digits = String(fraction)
            while digits.count < 6 { digits = "0" + digits }
            while digits.hasSuffix("0") { digits.removeLast() }
            text += "." + digits
        }
        return text + "Z"
    }

    private static func microseconds(_ text: String) -> Int64? {
        let b = Array(text.utf8)
        var i = 0
        func number(_ width: Int) -> Int64? {
            guard i + width <= b.count else { return nil }
            var value: Int64 = 0
            for byte in b[i..<(i + width)] {
                guard isDigit(byte) else { return nil }
                value = value * 10 + Int64(byte - UInt8(ascii: "0"))
            }
            i += width
            return value
        }
        func expect(_ scalars: String) -> Bool {
            guard i < b.count, scalars.utf8.contains(b[i]) else { return false }
            i += 1
            return true
        }
        guard let year = number(4), expect("-"), let month = number(2), expect("-"), let day = number(2) else { return nil }
        guard year >= 1, (1...12).contains(month), day >= 1, day <= ProlepticGregorian.daysIn(month: Int(month), year: Int(year)) else { return nil }
        var seconds = ProlepticGregorian.days(fromYear: Int(year), month: Int(month), day: Int(day)) * 86_400
        var fraction: Int64 = 0
        if i < b.count {
            guard expect("Tt"), let hour = number(2), expect(":"), let minute = number(2), expect(":"), let second = number(2) else { return nil }
            guard hour < 24, minute < 60, second < 60 else { return nil }
            seconds += hour * 3600 + minute * 60 + second
            if i < b.count, b[i] == UInt8(ascii: ".") {
                i += 1
                let start = i
                while i < b.count, isDigit(b[i]) { i += 1 }
                let digits = i - start
                guard (1...6).contains(digits) else { return nil }
                i = start
                guard let value = number(digits) else { return nil }
                fraction = value
                for _ in digits..<6 { fraction *= 10 }
            }
            if expect("Zz") {
                // UTC.
            } else if i < b.count, b[i] == UInt8(ascii: "+") || b[i] == UInt8(ascii: "-") {
                let sign: Int64 = b[i] == UInt8(ascii: "+") ? 1 : -1
                i += 1
                guard let offsetHours = number(2), expect(":"), let offsetMinutes = number(2), offsetHours < 24, offsetMinutes < 60 else { return nil }
                seconds -= sign * (offsetHours * 3600 + offsetMinutes * 60)
            } else {
                return nil
            }
        }
        guard i == b.count else { return nil }
        let micros = seconds * 1_000_000 + fraction
        return validMicroseconds.contains(micros) ? micros : nil
    }
}
