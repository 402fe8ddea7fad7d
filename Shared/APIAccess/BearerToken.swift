import Crypto
import Foundation

/// Why a bearer token was refused (the response says only "invalid token"; logs say which).
public struct TokenError: Error, Sendable, Equatable, CustomStringConvertible {
    public var reason: String
    public init(_ reason: String) { self.reason = reason }
    public var description: String { reason }
}

/// Verifies JWT bearer tokens (RFC 7519) signed with HS256 by an identity provider that shares
/// the secret. The token names the user (`sub`), the tenant (`tenant`) and the role (`role`,
/// one of ``Role``); `exp` is required, `nbf`, `iss` and `aud` are checked when configured or
/// present. Only HS256 is accepted: `alg: none` and algorithm confusion are refused by
/// construction.
public struct BearerTokenVerifier: Sendable {
    let key: SymmetricKey
    /// Required `iss`, if any.
    public var issuer: String?
    /// Required `aud` (a string or one of an array), if any.
    public var audience: String?
    /// Allowed clock skew.
    public var leeway: TimeInterval

    /// A verifier for `secret` (at least 32 bytes, as RFC 7518 §3.2 asks for HS256).
    public init?(secret: String, issuer: String? = nil, audience: String? = nil, leeway: TimeInterval = 30) {
        guard secret.utf8.count >= 32 else { return nil }
        key = SymmetricKey(data: Data(secret.utf8))
        self.issuer = issuer
        self.audience = audience
        self.leeway = leeway
    }

    /// The caller a token stands for.
    public func verify(_ token: String, now: Date = Date()) throws(TokenError) -> Caller {
        let parts = token.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3 else { throw TokenError("not a compact JWS (three dot-separated parts)") }
        guard let headerData = Data(base64URLEncoded: String(parts[0])),
              let header = try? JSONSerialization.jsonObject(with: headerData) as? [String: Any] else {
            throw TokenError("the header is not base64url JSON")
        }
        guard header["alg"] as? String == "HS256" else { throw TokenError("alg must be HS256") }
        if let crit = header["crit"], !(crit is NSNull) { throw TokenError("critical header parameters are not supported") }
        guard let signature = Data(base64URLEncoded: String(parts[2])) else { throw TokenError("the signature is not base64url") }
        let signed = Data("\(parts[0]).\(parts[1])".utf8)
        guard HMAC<SHA256>.isValidAuthenticationCode(signature, authenticating: signed, using: key) else {
            throw TokenError("bad signature")
        }
        guard let payloadData = Data(base64URLEncoded: String(parts[1])),
              let claims = try? JSONSerialization.jsonObject(with: payloadData) as? [String: Any] else {
            throw TokenError("the payload is not base64url JSON")
        }
        let seconds = now.timeIntervalSince1970
        guard let exp = (claims["exp"] as? NSNumber)?.doubleValue else { throw TokenError("exp is required") }
        guard seconds < exp + leeway else { throw TokenError("expired") }
        if let nbf = (claims["nbf"] as? NSNumber)?.doubleValue, seconds + leeway < nbf { throw TokenError("not yet valid (nbf)") }
        if let issuer, claims["iss"] as? String != issuer { throw TokenError("wrong issuer") }
        if let audience {
            let audiences = (claims["aud"] as? [String]) ?? (claims["aud"] as? String).map { [$0] } ?? []
            guard audiences.contains(audience) else { throw TokenError("wrong audience") }
        }
        guard let subject = claims["sub"] as? String, !subject.isEmpty else { throw TokenError("sub is required") }
        guard let tenant = claims["tenant"] as? String, !tenant.isEmpty else { throw TokenError("tenant is required") }
        guard let roleName = claims["role"] as? String, let role = Role(rawValue: roleName) else {
            throw TokenError("role must be one of \(Role.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        return Caller(userID: subject, tenantID: tenant, role: role)
    }

    /// Signs claims as an identity provider would (for tests, the dev tool and the docs).
    public func sign(claims: [String: Any]) -> String {
        let header = Data(#"{"alg":"HS256","typ":"JWT"}"#.utf8).base64URLEncoded
        let payload = ((try? JSONSerialization.data(withJSONObject: claims, options: [.sortedKeys])) ?? Data()).base64URLEncoded
        let mac = HMAC<SHA256>.authenticationCode(for: Data("\(header).\(payload)".utf8), using: key)
        return "\(header).\(payload).\(Data(mac).base64URLEncoded)"
    }
}

/// Webhook signatures: `X-Twinfleet-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "t.body">`,
/// so a receiver can check both origin and freshness (replays of old deliveries fail the time check).
public enum WebhookSignature {
    /// The header value for `body` sent at `time`.
    public static func header(body: [UInt8], secret: String, time: Date) -> String {
        let timestamp = Int(time.timeIntervalSince1970)
        return "t=\(timestamp),v1=\(hex(mac(body: body, secret: secret, timestamp: timestamp)))"
    }

    /// Whether `header` is a valid signature of `body` no older than `tolerance`.
    public static func verify(header: String, body: [UInt8], secret: String, now: Date = Date(), tolerance: TimeInterval = 300) -> Bool {
        var timestamp: Int?
        var signatures: [String] = []
        for part in header.split(separator: ",") {
            let pair = part.split(separator: "=", maxSplits: 1).map(String.init)
            guard pair.count == 2 else { continue }
            if pair[0] == "t" { timestamp = Int(pair[1]) } else if pair[0] == "v1" { signatures.append(pair[1].lowercased()) }
        }
        guard let timestamp, abs(now.timeIntervalSince1970 - Double(timestamp)) <= tolerance else { return false }
        let expected = Array(hex(mac(body: body, secret: secret, timestamp: timestamp)).utf8)
        return signatures.contains { constantTimeEqual(Array($0.utf8), expected) }
    }

    static func mac(body: [UInt8], secret: String, timestamp: Int) -> [UInt8] {
        var message = Array("\(timestamp).".utf8)
        message.append(contentsOf: body)
        return Array(HMAC<SHA256>.authenticationCode(for: message, using: SymmetricKey(data: Data(secret.utf8))))
    }

    static func hex(_ bytes: [UInt8]) -> String { bytes.map { String(format: "%02x", $0) }.joined() }
}
