import Crypto
import Foundation

/// Issues and checks Digest nonces that need no server-side state, so that any ingress pod
/// sharing the secret can verify a nonce another pod issued (DESIGN.md invariant 4).
///
/// A nonce is `base64url(timestamp ‖ HMAC-SHA256(secret, timestamp ‖ "|" ‖ realm))`, without
/// padding: 8 bytes of big-endian Unix seconds and the 32-byte MAC, 54 characters. Binding the
/// realm means a nonce from another realm, or from another secret, is refused as forged.
///
/// The trade-off of statelessness: nothing remembers which nonces or `nc` values were used, so a
/// captured response can be replayed until its nonce expires. Keep ``lifetime`` short (minutes)
/// and serve TR-069 over TLS, as TR-069 §3.4.4 asks; a replay then needs a broken TLS session,
/// and it still cannot change the request's method or URI.
public struct StatelessNonceIssuer: Sendable {
    /// What a nonce turned out to be.
    public enum Status: Sendable, Hashable {
        /// Issued by us, for this realm, within its lifetime.
        case valid
        /// Issued by us for this realm, but older than the lifetime: answer with `stale=true`.
        case stale
        /// Not issued by us for this realm: malformed, tampered with, from another secret or
        /// realm, or dated too far in the future.
        case invalid
    }

    private let key: SymmetricKey
    private let previousKeys: [SymmetricKey]
    /// How long, in seconds, a nonce stays valid after it is issued.
    public let lifetime: TimeInterval
    /// How far in the future, in seconds, a nonce's timestamp may be (clock differences between
    /// pods); beyond that it is invalid.
    public let clockSkewTolerance: TimeInterval

    /// Creates an issuer.
    ///
    /// - Parameters:
    ///   - secret: the key shared by every pod (at least 32 random bytes recommended).
    ///   - previousSecrets: keys still accepted when checking, for rotating the secret without
    ///     refusing nonces issued a moment before.
    ///   - lifetime: seconds a nonce stays valid (default 300).
    ///   - clockSkewTolerance: seconds a timestamp may lie in the future (default 30).
    public init(
        secret: [UInt8], previousSecrets: [[UInt8]] = [], lifetime: TimeInterval = 300, clockSkewTolerance: TimeInterval = 30
    ) {
        key = SymmetricKey(data: secret)
        previousKeys = previousSecrets.map { SymmetricKey(data: $0) }
        self.lifetime = lifetime
        self.clockSkewTolerance = clockSkewTolerance
    }

    private static let timestampBytes = 8
    private static let macBytes = 32

    /// A new nonce for `realm`, dated `now`.
    public func nonce(realm: String, at now: Date) -> String {
        let timestamp = Self.timestamp(now)
        let mac = HMAC<SHA256>.authenticationCode(for: Self.message(timestamp: timestamp, realm: realm), using: key)
        return Base64URL.encode(timestamp + Array(mac))
    }

    /// Checks a nonce a client echoed for `realm` at `now`.
    public func status(of nonce: String, realm: String, at now: Date) -> Status {
        guard nonce.utf8.count <= 128, let bytes = Base64URL.decode(nonce),
              bytes.count == Self.timestampBytes + Self.macBytes else { return .invalid }
        let timestamp = Array(bytes[..<Self.timestampBytes])
        let mac = bytes[Self.timestampBytes...]
        let message = Self.message(timestamp: timestamp, realm: realm)
        var authentic = false
        for candidate in [key] + previousKeys {
            // Check every key, so the time taken does not tell which one matched.
            authentic = HMAC<SHA256>.isValidAuthenticationCode(mac, authenticating: message, using: candidate) || authentic
        }
        guard authentic else { return .invalid }
        let issued = timestamp.reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
        let age = now.timeIntervalSince1970.rounded(.down) - Double(issued)
        if age < -clockSkewTolerance { return .invalid }
        return age > lifetime ? .stale : .valid
    }

    private static func timestamp(_ date: Date) -> [UInt8] {
        let seconds = UInt64(max(0, date.timeIntervalSince1970.rounded(.down)))
        return (0..<timestampBytes).map { UInt8(truncatingIfNeeded: seconds >> (8 * (timestampBytes - 1 - $0))) }
    }

    private static func message(timestamp: [UInt8], realm: String) -> [UInt8] {
        timestamp + Array("|".utf8) + Array(realm.utf8)
    }
}

/// Base64 with the URL-safe alphabet (RFC 4648 §5) and no padding.
enum Base64URL {
    static func encode(_ bytes: [UInt8]) -> String {
        var text = Data(bytes).base64EncodedString()
        text = text.replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
        while text.hasSuffix("=") { text.removeLast() }
        return text
    }

    /// Decodes canonical unpadded base64url; nil for anything else, so that two different
    /// strings never decode to the same bytes.
    static func decode(_ text: String) -> [UInt8]? {
        let alphabet = text.utf8.allSatisfy { byte in
            (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte) || (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte)
                || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) || byte == UInt8(ascii: "-") || byte == UInt8(ascii: "_")
        }
        guard alphabet else { return nil }
        var standard = text.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        while standard.utf8.count % 4 != 0 { standard += "=" }
        guard let bytes = Data(base64Encoded: standard).map(Array.init), encode(bytes) == text else { return nil }
        return bytes
    }
}
