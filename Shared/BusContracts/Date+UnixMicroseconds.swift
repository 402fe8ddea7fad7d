#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

extension Date {
    /// The instant `microseconds` after 1970-01-01T00:00:00Z: how every `_us` field of the bus
    /// contracts is read.
    public init(unixMicroseconds microseconds: Int64) {
        self.init(timeIntervalSince1970: Double(microseconds) / 1_000_000)
    }

    /// Microseconds since 1970-01-01T00:00:00Z, rounded to the nearest: how every `_us` field of
    /// the bus contracts is written. Dates beyond ±292 000 years clamp to `Int64`'s range.
    public var unixMicroseconds: Int64 {
        let scaled = (timeIntervalSince1970 * 1_000_000).rounded()
        if scaled.isNaN { return 0 }
        if scaled >= 9.2e18 { return .max }
        if scaled <= -9.2e18 { return .min }
        return Int64(scaled)
    }
}
