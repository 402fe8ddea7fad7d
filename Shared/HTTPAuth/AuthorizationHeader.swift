import Foundation

/// The credentials of an `Authorization` request header: Basic (RFC 7617) or Digest (RFC 7616,
/// RFC 2617 and the RFC 2069 form without `qop`).
public enum AuthorizationHeader: Sendable, Hashable {
    /// `Basic <base64(user:password)>`.
    case basic(BasicCredentials)
    /// `Digest username="…", realm="…", …`.
    case digest(DigestCredentials)

    /// Parses a header value. Scheme and parameter names are case-insensitive; values may be
    /// quoted (with `\` escapes) or plain; a duplicated parameter, a second credentials, an
    /// unknown scheme or a value larger than `limits` is refused with a precise error.
    public init(parsing value: String, limits: AuthHeaderLimits = .default) throws(HTTPAuthError) {
        let items = try AuthHeaderParser.parse(value, limits: limits)
        guard items.count == 1, let item = items.first else {
            throw HTTPAuthError(.unsupportedScheme, "an Authorization header carries one credentials, found \(items.count)")
        }
        switch item.scheme {
        case "basic":
            self = .basic(try BasicCredentials(item))
        case "digest":
            self = .digest(try DigestCredentials(item))
        default:
            throw HTTPAuthError(.unsupportedScheme, "scheme \(HTTPAuthError.name(item.scheme)) is neither Basic nor Digest")
        }
    }

    /// The user name the client claims, before any verification.
    public var username: String {
        switch self {
        case .basic(let basic): basic.username
        case .digest(let digest): digest.username
        }
    }
}

/// Basic credentials (RFC 7617). The password never appears in ``description``.
public struct BasicCredentials: Sendable, Hashable, CustomStringConvertible {
    /// The user ID (it cannot contain `:`).
    public var username: String
    /// The password.
    public var password: String

    /// Creates credentials.
    public init(username: String, password: String) {
        self.username = username
        self.password = password
    }

    init(_ item: AuthHeaderItem) throws(HTTPAuthError) {
        guard let token = item.token68 else {
            throw HTTPAuthError(.malformed, "Basic credentials must be a single base64 token")
        }
        // Base64 padding is optional in practice; restore it before decoding.
        var padded = token
        while padded.utf8.count % 4 != 0 { padded += "=" }
        guard let data = Data(base64Encoded: padded) else {
            throw HTTPAuthError(.invalidEncoding, "Basic credentials are not valid base64")
        }
        guard let decoded = String(validating: Array(data), as: UTF8.self) else {
            throw HTTPAuthError(.invalidEncoding, "Basic credentials are not valid UTF-8")
        }
        guard let colon = decoded.firstIndex(of: ":") else {
            throw HTTPAuthError(.invalidParameter, "Basic credentials have no ':' between user and password")
        }
        guard !decoded.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F }) else {
            throw HTTPAuthError(.invalidParameter, "Basic credentials contain a control character")
        }
        self.init(username: String(decoded[..<colon]), password: String(decoded[decoded.index(after: colon)...]))
    }

    /// The `Authorization` header value, `Basic <base64(user:password)>`.
    public var headerValue: String {
        "Basic " + Data("\(username):\(password)".utf8).base64EncodedString()
    }

    /// `Basic(username: …)`, without the password.
    public var description: String { "Basic(username: \(username))" }
}
