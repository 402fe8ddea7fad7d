/// The client side: answers a `401`'s `WWW-Authenticate` challenges with an `Authorization` value.
/// The ACS uses it for Connection Requests (TR-069 §3.2.2: an HTTP GET to the CPE's
/// ConnectionRequestURL, which the CPE protects with Digest).
///
/// Among Digest challenges it picks the strongest hash it implements (SHA-256 over MD5, first
/// offered on a tie), preferring `qop=auth`, then `auth-int` (over an empty body, which is what a
/// GET has), then the RFC 2069 form when the challenge offers no `qop`. Basic is used only when no
/// Digest challenge is usable, and only if the caller allows it.
public enum ClientAuthorizer {
    /// An `Authorization` value and what it is.
    public struct Authorization: Sendable, Hashable, CustomStringConvertible {
        /// What answered the challenge.
        public enum Scheme: Sendable, Hashable {
            /// Digest with this algorithm and `qop` (nil: the RFC 2069 form).
            case digest(DigestAlgorithm, qop: String?)
            /// Basic: the password travels in the clear unless the connection is TLS.
            case basic
        }

        /// What answered the challenge.
        public var scheme: Scheme
        /// The `Authorization` header value.
        public var headerValue: String

        /// The scheme only; the header value may hold the password (Basic).
        public var description: String {
            switch scheme {
            case .digest(let algorithm, let qop): "Digest(\(algorithm.token), qop: \(qop ?? "none"))"
            case .basic: "Basic"
            }
        }
    }

    /// Builds the `Authorization` value answering `wwwAuthenticate` (the values of every
    /// `WWW-Authenticate` header of the 401).
    ///
    /// - Parameters:
    ///   - method: the request method; `GET` for a Connection Request.
    ///   - uri: the request target exactly as sent on the request line (path and query).
    ///   - cnonce: a fresh random client nonce (e.g. 16 random bytes in hex); unused by the
    ///     RFC 2069 form. `nc` is always `00000001`: every Connection Request is a new exchange.
    ///   - allowBasic: whether Basic may be used when it is all that is offered.
    /// - Throws: ``HTTPAuthError`` `noUsableChallenge` when nothing offered can be answered,
    ///   `basicNotAllowed` when only Basic could, and parse errors for a malformed header.
    public static func authorization(
        answering wwwAuthenticate: [String], username: String, password: String,
        method: String = "GET", uri: String, cnonce: String, allowBasic: Bool,
        limits: AuthHeaderLimits = .default
    ) throws(HTTPAuthError) -> Authorization {
        let challenges = try AuthenticationChallenge.parse(wwwAuthenticate, limits: limits)
        var best: (challenge: DigestChallenge, algorithm: DigestAlgorithm, qop: String?)?
        for case .digest(let challenge) in challenges {
            guard let algorithm = challenge.algorithm, let answer = answerForm(challenge, algorithm: algorithm) else { continue }
            if algorithm.hash.strength > best?.algorithm.hash.strength ?? 0 {
                best = (challenge, algorithm, answer.qop)
            }
        }
        if let best {
            let header = digest(
                answering: best.challenge, algorithm: best.algorithm, qop: best.qop, username: username,
                password: password, method: method, uri: uri, cnonce: cnonce)
            return Authorization(scheme: .digest(best.algorithm, qop: best.qop), headerValue: header.headerValue)
        }
        guard challenges.contains(where: { if case .basic = $0 { true } else { false } }) else {
            throw HTTPAuthError(.noUsableChallenge, "no Digest challenge with a supported algorithm and qop, and no Basic challenge")
        }
        guard allowBasic else {
            throw HTTPAuthError(.basicNotAllowed, "only Basic is offered and the caller did not allow it")
        }
        return Authorization(scheme: .basic, headerValue: BasicCredentials(username: username, password: password).headerValue)
    }

    /// The Digest credentials answering `challenge` with `algorithm` and `qop` (nil: the RFC 2069
    /// form), `nc=00000001` and the given `cnonce`.
    public static func digest(
        answering challenge: DigestChallenge, algorithm: DigestAlgorithm, qop: String?,
        username: String, password: String, method: String, uri: String, cnonce: String, body: [UInt8] = []
    ) -> DigestCredentials {
        let nc = qop == nil ? nil : "00000001"
        let cnonce = qop == nil ? nil : cnonce
        let ha1 = DigestAlgorithm.ha1(hash: algorithm.hash, username: username, realm: challenge.realm, password: password)
        let response = algorithm.response(
            ha1: ha1, nonce: challenge.nonce, method: method, uri: uri, qop: qop, nc: nc, cnonce: cnonce, body: body)
        return DigestCredentials(
            username: username, realm: challenge.realm, nonce: challenge.nonce, uri: uri, response: response,
            algorithmToken: challenge.algorithmToken == nil ? nil : algorithm.token, qop: qop, nc: nc, cnonce: cnonce,
            opaque: challenge.opaque)
    }

    /// How a challenge can be answered.
    private enum AnswerForm {
        case qop(String)
        case legacy

        var qop: String? {
            if case .qop(let value) = self { value } else { nil }
        }
    }

    /// The form to answer `challenge` in, or nil if it cannot be answered.
    private static func answerForm(_ challenge: DigestChallenge, algorithm: DigestAlgorithm) -> AnswerForm? {
        if challenge.qopOptions.contains("auth") { return .qop("auth") }
        if challenge.qopOptions.contains("auth-int") { return .qop("auth-int") }
        // Without qop there is no cnonce, which the -sess variants need.
        if challenge.qopOptions.isEmpty, !algorithm.isSession { return .legacy }
        return nil
    }
}
