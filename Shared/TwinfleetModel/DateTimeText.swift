#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Reads and writes `xsd:dateTime` text on the proleptic Gregorian calendar, with microsecond
/// precision and without Foundation's formatters (whose calendars switch to Julian before 1582,
/// which would move TR-106's "unknown time" `0001-01-01T00:00:00Z`).
enum DateTimeText {
    /// Parses `YYYY-MM-DDThh:mm:ss[.fraction][Z|±hh:mm|±hhmm|±hh]`; without an offset the time is
    /// taken as UTC (TR-106 requires UTC; devices that omit the `Z` mean it).
    static func parse(_ text: Substring) throws(ModelError) -> Date {
        var reader = Reader(bytes: Array(text.utf8), text: text)
        let year = try reader.number(digits: 4, what: "year")
        try reader.expect(UInt8(ascii: "-"))
        let month = try reader.number(digits: 2, what: "month")
        try reader.expect(UInt8(ascii: "-"))
        let day = try reader.number(digits: 2, what: "day")
        try reader.expect(anyOf: [UInt8(ascii: "T"), UInt8(ascii: "t"), UInt8(ascii: " ")], what: "'T'")
        let hour = try reader.number(digits: 2, what: "hour")
        try reader.expect(UInt8(ascii: ":"))
        let minute = try reader.number(digits: 2, what: "minute")
        try reader.expect(UInt8(ascii: ":"))
        let second = try reader.number(digits: 2, what: "second")
        var microseconds: Int64 = 0
        if reader.peek == UInt8(ascii: ".") {
            reader.index += 1
            microseconds = try reader.fractionInMicroseconds()
        }
        let offsetSeconds = try reader.offsetSeconds()
        if let extra = reader.peek {
            throw reader.error("unexpected \(ModelError.quote(String(decoding: [extra], as: UTF8.self))) at byte \(reader.index)")
        }
        guard (1...12).contains(month) else { throw reader.error("month \(month) is not 01-12") }
        guard (1...ProlepticGregorian.daysIn(month: month, year: year)).contains(day) else {
            throw reader.error("day \(day) does not exist in \(year)-\(month < 10 ? "0" : "")\(month)")
        }
        guard hour <= 23 else { throw reader.error("hour \(hour) is not 00-23") }
        guard minute <= 59 else { throw reader.error("minute \(minute) is not 00-59") }
        guard second <= 60 else { throw reader.error("second \(second) is not 00-60") }
        let seconds = ProlepticGregorian.days(fromYear: year, month: month, day: day) * 86_400
            + Int64(hour * 3600 + minute * 60 + second) - Int64(offsetSeconds)
        return Date(timeIntervalSince1970: Double(seconds * 1_000_000 + microseconds) / 1_000_000)
    }

    /// Formats as `YYYY-MM-DDThh:mm:ssZ`, with up to six fraction digits when the instant is not
    /// a whole second.
    static func format(_ date: Date) -> String {
        let scaled = (date.timeIntervalSince1970 * 1_000_000).rounded()
        // Clamped to ±100 000 years so the arithmetic below cannot overflow.
        let total: Int64 = scaled.isNaN ? 0 : Int64(max(min(scaled, 3.2e18), -3.2e18))
        let seconds = total.floorDivided(by: 1_000_000)
        let microseconds = total - seconds * 1_000_000
        let days = seconds.floorDivided(by: 86_400)
        let secondOfDay = Int(seconds - days * 86_400)
        let (year, month, day) = ProlepticGregorian.date(fromDays: days)
        var text = pad(year, 4) + "-" + pad(month, 2) + "-" + pad(day, 2) + "T"
        text += pad(secondOfDay / 3600, 2) + ":" + pad(secondOfDay / 60 % 60, 2) + ":" + pad(secondOfDay % 60, 2)
        if microseconds != 0 {
            var fraction = pad(Int(microseconds), 6)
            while fraction.hasSuffix("0") { fraction.removeLast() }
            text += "." + fraction
        }
        return text + "Z"
    }

    private static func pad(_ value: Int, _ width: Int) -> String {
        let digits = String(value.magnitude)
        let padded = String(repeating: "0", count: max(0, width - digits.count)) + digits
        return value < 0 ? "-" + padded : padded
    }

    /// A cursor over the text's bytes that turns every failure into a precise `ModelError`.
    private struct Reader {
        let bytes: [UInt8]
        let text: Substring
        var index = 0

        var peek: UInt8? { index < bytes.count ? bytes[index] : nil }

        func error(_ detail: String) -> ModelError {
            ModelError(.invalidValue, "\(ModelError.quote(text)) is not a valid xsd:dateTime (YYYY-MM-DDThh:mm:ss[.fff][Z|±hh:mm]): \(detail)")
        }

        mutating func number(digits: Int, what: String) throws(ModelError) -> Int {
            var value = 0
            for _ in 0..<digits {
                guard let byte = peek, byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") else {
                    throw error("expected a digit of the \(what) (\(digits) digits) at byte \(index)")
                }
                value = value * 10 + Int(byte - UInt8(ascii: "0"))
                index += 1
            }
            return value
        }

        mutating func expect(_ byte: UInt8) throws(ModelError) {
            try expect(anyOf: [byte], what: "'\(Character(Unicode.Scalar(byte)))'")
        }

        mutating func expect(anyOf choices: [UInt8], what: String) throws(ModelError) {
            guard let byte = peek, choices.contains(byte) else { throw error("expected \(what) at byte \(index)") }
            index += 1
        }

        /// Reads fraction digits (at least one), rounded to the nearest microsecond.
        mutating func fractionInMicroseconds() throws(ModelError) -> Int64 {
            var tenthsOfMicroseconds: Int64 = 0
            var count = 0
            while let byte = peek, byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") {
                if count < 7 { tenthsOfMicroseconds = tenthsOfMicroseconds * 10 + Int64(byte - UInt8(ascii: "0")) }
                count += 1
                index += 1
            }
            guard count > 0 else { throw error("expected fraction digits after '.' at byte \(index)") }
            for _ in count..<max(count, 7) { tenthsOfMicroseconds *= 10 }
            return (tenthsOfMicroseconds + 5) / 10
        }

        /// Reads `Z`, `±hh:mm`, `±hhmm`, `±hh` or nothing (UTC), as seconds east of UTC.
        mutating func offsetSeconds() throws(ModelError) -> Int {
            guard let byte = peek else { return 0 }
            if byte == UInt8(ascii: "Z") || byte == UInt8(ascii: "z") {
                index += 1
                return 0
            }
            guard byte == UInt8(ascii: "+") || byte == UInt8(ascii: "-") else { return 0 }
            index += 1
            let hours = try number(digits: 2, what: "offset hours")
            var minutes = 0
            if peek == UInt8(ascii: ":") {
                index += 1
                minutes = try number(digits: 2, what: "offset minutes")
            } else if peek != nil {
                minutes = try number(digits: 2, what: "offset minutes")
            }
            guard hours <= 14, minutes <= 59 else { throw error("offset \(hours):\(minutes) is out of range") }
            let seconds = hours * 3600 + minutes * 60
            return byte == UInt8(ascii: "-") ? -seconds : seconds
        }
    }
}

extension Int64 {
    /// Division rounding towards negative infinity.
    fileprivate func floorDivided(by divisor: Int64) -> Int64 {
        let quotient = self / divisor
        return (self % divisor != 0 && (self < 0) != (divisor < 0)) ? quotient - 1 : quotient
    }
}

/// Calendar arithmetic for the formats that read and write dates without Foundation's formatters
/// (Howard Hinnant's algorithms).
public enum ProlepticGregorian {
    /// The number of days in a month (1–12) of a year.
    public static func daysIn(month: Int, year: Int) -> Int {
        switch month {
        case 2: (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
        case 4, 6, 9, 11: 30
        default: 31
        }
    }

    /// Days since 1970-01-01 of a proleptic Gregorian date.
    public static func days(fromYear year: Int, month: Int, day: Int) -> Int64 {
        let y = Int64(month <= 2 ? year - 1 : year)
        let era = (y >= 0 ? y : y - 399) / 400
        let yearOfEra = y - era * 400
        let dayOfYear = Int64((153 * (month > 2 ? month - 3 : month + 9) + 2) / 5 + day - 1)
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }

    /// The proleptic Gregorian date of a day count since 1970-01-01.
    public static func date(fromDays days: Int64) -> (year: Int, month: Int, day: Int) {
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let shiftedMonth = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * shiftedMonth + 2) / 5 + 1
        let month = shiftedMonth < 10 ? shiftedMonth + 3 : shiftedMonth - 9
        return (Int(yearOfEra + era * 400 + (month <= 2 ? 1 : 0)), Int(month), Int(day))
    }
}
