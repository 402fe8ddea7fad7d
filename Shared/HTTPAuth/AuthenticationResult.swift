/// What the server concluded about a request's credentials.
///
/// Both ``challenge(stale:)`` and ``rejected(_:)`` are answered with `401 Unauthorized` and fresh
/// challenges (``ServerAuthenticator/challengeHeaderValues(for:at:offerBasic:)``), so the client
/// can try again; the reason of a rejection is for logs and metrics, never for the client.
public enum AuthenticationResult: Sendable, Hashable {
    /// The credentials are right; the request comes from `username`.
    case authenticated(username: String)
    /// No credentials yet (`stale` false), or right credentials on an expired nonce (`stale`
    /// true: the client retries with the new nonce without asking for the password again).
    case challenge(stale: Bool)
    /// The credentials were refused.
    case rejected(RejectionReason)

    /// The authenticated user name, if any.
    public var username: String? {
        if case .authenticated(let username) = self { username } else { nil }
    }
}

/// Why credentials were refused.
public enum RejectionReason: Sendable, Hashable, CustomStringConvertible {
    /// The `Authorization` header could not be read (a caller may answer 400 instead of 401).
    case malformedHeader(HTTPAuthError)
    /// Basic credentials where Basic is not allowed (e.g. over plain HTTP; TR-069 §3.4.4 allows
    /// Basic only over TLS).
    case basicNotAllowed
    /// A Digest algorithm the server did not offer or does not implement.
    case unsupportedAlgorithm
    /// A `qop` other than `auth`, or none while the RFC 2069 form is disabled.
    case unsupportedQop
    /// `userhash=true`, which the server does not support.
    case unsupportedUserhash
    /// A realm other than the server's.
    case realmMismatch
    /// The `uri` parameter is not the request's target.
    case uriMismatch
    /// The `opaque` parameter differs from the one the server sends.
    case opaqueMismatch
    /// The nonce was not issued by this realm's secret (forged, tampered, another realm or secret).
    case invalidNonce
    /// The credential store has no such user.
    case unknownUser
    /// The store keeps only HA1 values, none for the algorithm the client chose.
    case noHA1ForAlgorithm
    /// Wrong password (or digest).
    case wrongCredentials

    /// A short stable name, fit for a metric label: `wrong_credentials`, `invalid_nonce`, …
    public var description: String {
        switch self {
        case .malformedHeader: "malformed_header"
        case .basicNotAllowed: "basic_not_allowed"
        case .unsupportedAlgorithm: "unsupported_algorithm"
        case .unsupportedQop: "unsupported_qop"
        case .unsupportedUserhash: "unsupported_userhash"
        case .realmMismatch: "realm_mismatch"
        case .uriMismatch: "uri_mismatch"
        case .opaqueMismatch: "opaque_mismatch"
        case .invalidNonce: "invalid_nonce"
        case .unknownUser: "unknown_user"
        case .noHA1ForAlgorithm: "no_ha1_for_algorithm"
        case .wrongCredentials: "wrong_credentials"
        }
    }
}
