import Crypto
import Foundation

/// API keys: `tfk_<id>_<secret>`. The ID (16 hex digits) finds the row; the secret (43
/// base64url characters, 256 random bits) is stored only as its SHA-256, so a stolen database
/// reveals no key. A salted slow hash would add nothing for secrets of this entropy.
public struct APIKey: Sendable, Equatable {
    /// The public part, shown in lists and the audit log.
    public var id: String
    /// The secret part; shown once, when the key is created.
    public var secret: String

    public static let prefix = "tfk_"

    public init(id: String, secret: String) {
        self.id = id
        self.secret = secret
    }

    /// A new random key.
    public static func generate() -> APIKey {
        var generator = SystemRandomNumberGenerator()
        let id = (0..<8).map { _ in String(format: "%02x", UInt8.random(in: 0...255, using: &generator)) }.joined()
        let secret = Data((0..<32).map { _ in UInt8.random(in: 0...255, using: &generator) }).base64URLEncoded
        return APIKey(id: id, secret: secret)
    }

    /// Parses the text a client sends; nil when it is not shaped like a key.
    public init?(parsing text: String) {
        guard text.hasPrefix(Self.prefix) else { return nil }
        let rest = text.dropFirst(Self.prefix.count)
        guard let underscore = rest.firstIndex(of: "_") else { return nil }
        let id = String(rest[..<underscore]), secret = String(rest[rest.index(after: underscore)...])
        guard id.count == 16, id.allSatisfy(\.isHexDigit), secret.count >= 32, secret.count <= 128,
              secret.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == "_") }) else { return nil }
        self.init(id: id, secret: secret)
    }

    /// The text clients send (`X-API-Key` or `Authorization: Bearer`).
    public var text: String { "\(Self.prefix)\(id)_\(secret)" }

    /// What the database stores.
    public var secretHash: [UInt8] { Array(SHA256.hash(data: Data(secret.utf8))) }

    /// Whether `secret` hashes to `stored` (constant time).
    public func matches(storedHash stored: [UInt8]) -> Bool { constantTimeEqual(secretHash, stored) }
}

/// Compares without an early exit, so timing reveals nothing about where bytes differ.
func constantTimeEqual(_ lhs: [UInt8], _ rhs: [UInt8]) -> Bool {
    guard lhs.count == rhs.count else { return false }
    var difference: UInt8 = 0
    for index in lhs.indices { difference |= lhs[index] ^ rhs[index] }
    return difference == 0
}

extension Data {
    /// RFC 4648 §5 base64url without padding.
    var base64URLEncoded: String {
        base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }

    /// Decodes base64url with or without padding.
    init?(base64URLEncoded text: String) {
        guard text.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == "_") }) else { return nil }
        var base64 = text.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        while base64.count % 4 != 0 { base64 += "=" }
        self.init(base64Encoded: base64)
    }
}
