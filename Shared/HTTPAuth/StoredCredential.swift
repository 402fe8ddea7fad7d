/// What a credential store keeps for a user: the password, or only the Digest HA1 values
/// (`H(username:realm:password)`, lowercase hex, for the server's realm), one per hash function.
///
/// With HA1 only, a Digest response can be checked only for the hash functions whose HA1 is
/// stored, so configure ``ServerAuthenticator/Configuration/algorithms`` to match; Basic still
/// works, by hashing the password the client sent. ``description`` never shows the secret.
public enum StoredCredential: Sendable, Hashable, CustomStringConvertible {
    /// The clear password.
    case password(String)
    /// HA1 values by hash function.
    case ha1([DigestHash: String])

    /// A store that holds only the MD5 HA1, as most CWMP deployments have.
    public static func md5HA1(_ hex: String) -> StoredCredential { .ha1([.md5: hex]) }

    /// The HA1 to use for `hash`, computed from the password or looked up.
    public func ha1(for hash: DigestHash, username: String, realm: String) -> String? {
        switch self {
        case .password(let password): DigestAlgorithm.ha1(hash: hash, username: username, realm: realm, password: password)
        case .ha1(let values): values[hash]?.lowercased()
        }
    }

    /// Whether `candidate` is this credential's password: compared in constant time, directly or
    /// through the HA1 (strongest stored hash first) when only HA1 is kept.
    public func matches(password candidate: String, username: String, realm: String) -> Bool {
        switch self {
        case .password(let password):
            return ConstantTime.equalSecrets(password, candidate)
        case .ha1(let values):
            guard let hash = values.keys.max(by: { $0.strength < $1.strength }), let stored = values[hash] else { return false }
            let computed = DigestAlgorithm.ha1(hash: hash, username: username, realm: realm, password: candidate)
            return ConstantTime.equal(Array(computed.utf8), Array(stored.lowercased().utf8))
        }
    }

    /// `password(…)` or `ha1(MD5, SHA-256)`, never the secret itself.
    public var description: String {
        switch self {
        case .password: "password(redacted)"
        case .ha1(let values): "ha1(\(values.keys.map(\.rawValue).sorted().joined(separator: ", ")))"
        }
    }
}
