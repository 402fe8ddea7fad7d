import Foundation
import Logging
import PostgresNIO
import TwinfleetModel

/// Rows for `COPY … FROM STDIN` in PostgreSQL's text format, built field by field with the
/// format's escaping, so bulk writes can skip the per-row cost of `INSERT`.
///
/// Timestamps are written with the microseconds postgres-nio would bind for the same `Date`
/// (truncated, not rounded), so a row copied here compares equal to one written through a bound
/// parameter.
public struct CopyRows: Sendable {
    /// The encoded rows.
    public private(set) var buffer = ByteBuffer()
    /// Rows written so far.
    public private(set) var count = 0
    private var fieldsInRow = 0

    public init() {}

    /// Appends a text field (`nil`: SQL NULL).
    public mutating func text(_ value: String?) {
        separate()
        guard let value else {
            buffer.writeStaticString(#"\N"#)
            return
        }
        var plain = true
        for byte in value.utf8 where byte == UInt8(ascii: "\\") || byte == 9 || byte == 10 || byte == 13 {
            plain = false
            break
        }
        if plain {
            buffer.writeString(value)
            return
        }
        for byte in value.utf8 {
            switch byte {
            case UInt8(ascii: "\\"): buffer.writeStaticString(#"\\"#)
            case 9: buffer.writeStaticString(#"\t"#)
            case 10: buffer.writeStaticString(#"\n"#)
            case 13: buffer.writeStaticString(#"\r"#)
            default: buffer.writeInteger(byte)
            }
        }
    }

    /// Appends an integer field.
    public mutating func integer<I: BinaryInteger>(_ value: I) {
        separate()
        buffer.writeString(String(value))
    }

    /// Appends a boolean field (`nil`: SQL NULL).
    public mutating func boolean(_ value: Bool?) {
        separate()
        switch value {
        case true?: buffer.writeStaticString("t")
        case false?: buffer.writeStaticString("f")
        case nil: buffer.writeStaticString(#"\N"#)
        }
    }

    /// Appends a `timestamptz` field in UTC with microseconds.
    public mutating func timestamp(_ date: Date) {
        timestamp(unixMicroseconds: date.postgresUnixMicroseconds)
    }

    /// Appends a `timestamptz` field given in microseconds since 1970-01-01 UTC.
    public mutating func timestamp(unixMicroseconds micros: Int64) {
        separate()
        let (seconds, fraction) = Self.floorDivide(micros, 1_000_000)
        let (days, secondOfDay) = Self.floorDivide(seconds, 86_400)
        let (year, month, day) = ProlepticGregorian.date(fromDays: days)
        var text = ""
        text.reserveCapacity(32)
        let yearDigits = String(year)
        text += String(repeating: "0", count: max(0, 4 - yearDigits.count)) + yearDigits
        text += "-" + Self.twoDigits(Int64(month)) + "-" + Self.twoDigits(Int64(day))
        text += " " + Self.twoDigits(secondOfDay / 3600) + ":" + Self.twoDigits(secondOfDay / 60 % 60) + ":" + Self.twoDigits(secondOfDay % 60)
        let digits = String(fraction)
        text += "." + String(repeating: "0", count: 6 - digits.count) + digits + "+00"
        buffer.writeString(text)
    }

    /// Ends the current row.
    public mutating func endRow() {
        buffer.writeInteger(UInt8(10))
        count += 1
        fieldsInRow = 0
    }

    /// Copies the rows into `table` (`columns` in field order) on `connection`; nothing when empty.
    /// Table and column names are spliced into the statement: pass constants only.
    public func copy(into table: String, columns: [String], connection: PostgresConnection, logger: Logger) async throws {
        guard count > 0 else { return }
        try await connection.copyFrom(table: table, columns: columns, logger: logger) { writer in
            try await writer.write(buffer)
        }
    }

    private mutating func separate() {
        if fieldsInRow > 0 { buffer.writeInteger(UInt8(9)) }
        fieldsInRow += 1
    }

    private static func floorDivide(_ value: Int64, _ divisor: Int64) -> (Int64, Int64) {
        let quotient = value / divisor, remainder = value % divisor
        return remainder < 0 ? (quotient - 1, remainder + divisor) : (quotient, remainder)
    }

    private static func twoDigits(_ value: Int64) -> String {
        value < 10 ? "0" + String(value) : String(value)
    }
}

extension Date {
    /// The microseconds since 1970-01-01 UTC that PostgreSQL stores when postgres-nio binds this
    /// date (it truncates to whole microseconds since 2000-01-01).
    public var postgresUnixMicroseconds: Int64 {
        Int64(timeIntervalSince(Date(timeIntervalSince1970: 946_684_800)) * 1_000_000) + 946_684_800 * 1_000_000
    }
}
