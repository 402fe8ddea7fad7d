import Crypto

/// The hash function under a Digest algorithm.
public enum DigestHash: String, Sendable, Hashable, CaseIterable, CustomStringConvertible {
    /// MD5 (RFC 2617; still what most CPEs speak).
    case md5 = "MD5"
    /// SHA-256 (RFC 7616).
    case sha256 = "SHA-256"

    /// Lowercase hex of the hash of `text`'s UTF-8 bytes.
    public func hex(_ text: String) -> String {
        switch self {
        case .md5: Hex.encode(Insecure.MD5.hash(data: Array(text.utf8)))
        case .sha256: Hex.encode(SHA256.hash(data: Array(text.utf8)))
        }
    }

    /// Length of a lowercase hex digest, in characters.
    public var hexLength: Int {
        switch self {
        case .md5: 32
        case .sha256: 64
        }
    }

    /// Relative strength, for choosing among offered challenges (higher is stronger).
    var strength: Int {
        switch self {
        case .md5: 1
        case .sha256: 2
        }
    }

    /// `MD5` or `SHA-256`.
    public var description: String { rawValue }
}

/// A Digest `algorithm` value: a hash, optionally in its `-sess` variant (RFC 7616 §3.4.2).
public struct DigestAlgorithm: Sendable, Hashable, CustomStringConvertible {
    /// The hash function.
    public var hash: DigestHash
    /// Whether this is the `-sess` variant, whose HA1 also covers the nonce and cnonce.
    public var isSession: Bool

    /// Creates an algorithm.
    public init(hash: DigestHash, isSession: Bool = false) {
        self.hash = hash
        self.isSession = isSession
    }

    /// `MD5`, the default when a challenge or response names no algorithm.
    public static let md5 = DigestAlgorithm(hash: .md5)
    /// `MD5-sess`.
    public static let md5Session = DigestAlgorithm(hash: .md5, isSession: true)
    /// `SHA-256`.
    public static let sha256 = DigestAlgorithm(hash: .sha256)
    /// `SHA-256-sess`.
    public static let sha256Session = DigestAlgorithm(hash: .sha256, isSession: true)

    /// Reads an `algorithm` token, case-insensitively; nil for algorithms this library does not
    /// implement (e.g. `SHA-512-256`).
    public init?(token: String) {
        let upper = token.uppercased()
        let isSession = upper.hasSuffix("-SESS")
        let base = isSession ? String(upper.dropLast(5)) : upper
        guard let hash = DigestHash(rawValue: base) else { return nil }
        self.init(hash: hash, isSession: isSession)
    }

    /// The token as written in headers, e.g. `SHA-256` or `MD5-sess`.
    public var token: String { isSession ? "\(hash.rawValue)-sess" : hash.rawValue }

    /// The token.
    public var description: String { token }

    /// The HA1 a credential store may keep instead of the password: `H(username:realm:password)`.
    /// It is the same for an algorithm and its `-sess` variant.
    public static func ha1(hash: DigestHash, username: String, realm: String, password: String) -> String {
        hash.hex("\(username):\(realm):\(password)")
    }

    /// The `response` value of RFC 7616 §3.4.1 for the given stored HA1 (lowercase hex of
    /// `H(username:realm:password)`).
    ///
    /// - `qop` nil is the RFC 2069 form `H(HA1:nonce:HA2)`; `nc` and `cnonce` are then unused.
    /// - `qop` `auth-int` covers `H(body)`; pass the body's bytes as `body` (empty for a GET).
    public func response(
        ha1: String, nonce: String, method: String, uri: String,
        qop: String?, nc: String?, cnonce: String?, body: [UInt8] = []
    ) -> String {
        let sessionHA1 = isSession ? hash.hex("\(ha1.lowercased()):\(nonce):\(cnonce ?? "")") : ha1.lowercased()
        let ha2: String
        if qop?.lowercased() == "auth-int" {
            let bodyHash = switch hash {
            case .md5: Hex.encode(Insecure.MD5.hash(data: body))
            case .sha256: Hex.encode(SHA256.hash(data: body))
            }
            ha2 = hash.hex("\(method):\(uri):\(bodyHash)")
        } else {
            ha2 = hash.hex("\(method):\(uri)")
        }
        guard let qop else { return hash.hex("\(sessionHA1):\(nonce):\(ha2)") }
        return hash.hex("\(sessionHA1):\(nonce):\(nc ?? ""):\(cnonce ?? ""):\(qop):\(ha2)")
    }
}

/// Lowercase hexadecimal.
enum Hex {
    static func encode(_ bytes: some Sequence<UInt8>) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var out: [UInt8] = []
        for byte in bytes {
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 0x0F)])
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Whether `text` is exactly `count` hex digits (either case).
    static func isHex(_ text: String, count: Int) -> Bool {
        text.utf8.count == count && text.utf8.allSatisfy { byte in
            (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte)
                || (UInt8(ascii: "a")...UInt8(ascii: "f")).contains(byte)
                || (UInt8(ascii: "A")...UInt8(ascii: "F")).contains(byte)
        }
    }
}

/// Comparisons whose time depends only on the lengths of their inputs, never on where they differ.
enum ConstantTime {
    /// Whether `lhs` and `rhs` hold the same bytes. The lengths are not secret (a digest's length
    /// follows from its algorithm), so a length mismatch returns at once.
    static func equal(_ lhs: some Collection<UInt8>, _ rhs: some Collection<UInt8>) -> Bool {
        guard lhs.count == rhs.count else { return false }
        var difference: UInt8 = 0
        for (left, right) in zip(lhs, rhs) { difference |= left ^ right }
        return difference == 0
    }

    /// Whether two secrets of possibly different lengths are equal, comparing their SHA-256
    /// hashes so that neither the content nor the length of the stored one leaks through timing.
    static func equalSecrets(_ lhs: String, _ rhs: String) -> Bool {
        equal(Array(SHA256.hash(data: Array(lhs.utf8))), Array(SHA256.hash(data: Array(rhs.utf8))))
    }
}
