import Foundation
import Synchronization

/// Token buckets per caller: `burst` requests at once, refilled at `perSecond`. Each API pod
/// keeps its own buckets, so with N pods behind a balancer a caller gets at most N times the
/// rate; operators size the limit per pod (docs/API.md).
public final class RateLimiter: Sendable {
    public let perSecond: Double
    public let burst: Double
    private let buckets = Mutex<[String: (tokens: Double, at: TimeInterval)]>([:])

    public init(perSecond: Double, burst: Int) {
        self.perSecond = max(perSecond, 0.001)
        self.burst = Double(max(burst, 1))
    }

    /// Takes one token for `key`: nil when the request may go on, else the seconds to wait.
    public func acquire(_ key: String, now: Date = Date()) -> Int? {
        let time = now.timeIntervalSinceReferenceDate
        return buckets.withLock { buckets -> Int? in
            if buckets.count > 100_000 { buckets = buckets.filter { time - $0.value.at < burst / perSecond } }
            var bucket = buckets[key] ?? (burst, time)
            bucket.tokens = min(burst, bucket.tokens + (time - bucket.at) * perSecond)
            bucket.at = time
            if bucket.tokens >= 1 {
                bucket.tokens -= 1
                buckets[key] = bucket
                return nil
            }
            buckets[key] = bucket
            return max(1, Int(((1 - bucket.tokens) / perSecond).rounded(.up)))
        }
    }
}
