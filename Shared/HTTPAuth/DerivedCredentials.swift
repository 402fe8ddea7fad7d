import Crypto
import Foundation

/// Per-device passwords derived from one secret: `password(username)` is the first 24
/// characters of base64url(HMAC-SHA256(secret, username)). The operator provisions every CPE with
/// its own username (its serial number, say) and that password, at the factory or in a first
/// session; the ACS stores nothing per device and any replica can check any CPE, yet one CPE's
/// leaked password opens no other. Rotating the secret means re-provisioning, so the previous
/// secrets keep working (in order) until that is done.
public struct DerivedCredentials: Sendable {
    private let secrets: [SymmetricKey]

    /// `secret` first, then any older secrets still accepted. Each must be 16 bytes or more.
    public init(secret: [UInt8], previous: [[UInt8]] = []) throws(HTTPAuthError) {
        for key in [secret] + previous where key.count < 16 {
            throw HTTPAuthError(.invalidConfiguration, "a credential secret needs at least 16 bytes, got \(key.count)")
        }
        secrets = ([secret] + previous).map { SymmetricKey(data: $0) }
    }

    /// The current password of `username`.
    public func password(for username: String) -> String {
        Self.derive(secrets[0], username)
    }

    /// Every accepted password of `username` (current first), as stored credentials.
    public func credentials(for username: String) -> [StoredCredential] {
        secrets.map { .password(Self.derive($0, username)) }
    }

    private static func derive(_ key: SymmetricKey, _ username: String) -> String {
        let mac = HMAC<SHA256>.authenticationCode(for: Array(username.utf8), using: key)
        let text = Data(mac).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
        return String(text.prefix(24))
    }
}
