import Foundation

/// The server side: challenges CPEs and checks their `Authorization` headers, with Digest
/// (RFC 7616, RFC 2617 and the RFC 2069 form) and, where the caller allows it, Basic.
///
/// Stateless: nonces are signed, not stored (``StatelessNonceIssuer``), so any pod sharing the
/// secret can verify any request, and `nc` is not tracked — a captured response can be replayed
/// until its nonce expires (see ``StatelessNonceIssuer`` for why that is acceptable over TLS).
/// Time is always passed in.
///
/// Typical use in an HTTP handler:
///
///     let result = try await authenticator.authenticate(
///         authorization: request.headers["Authorization"], method: "POST", requestURI: request.uri,
///         basicAllowed: isTLS, at: .now) { username in try await store.credential(for: username) }
///     guard case .authenticated(let user) = result else {
///         return unauthorized(wwwAuthenticate: authenticator.challengeHeaderValues(for: result, at: .now))
///     }
public struct ServerAuthenticator: Sendable {
    /// Settings; the same on every pod.
    public struct Configuration: Sendable, CustomStringConvertible {
        /// The protection space, e.g. `twinfleet-acs`; part of every HA1.
        public var realm: String
        /// The key that signs nonces, shared by all pods (at least 32 random bytes recommended).
        public var nonceSecret: [UInt8]
        /// Former keys still accepted when verifying, during a rotation.
        public var previousNonceSecrets: [[UInt8]]
        /// Seconds a nonce stays valid (default 300); afterwards right credentials get `stale=true`.
        public var nonceLifetime: TimeInterval
        /// Seconds a nonce's timestamp may lie in the future, for clock differences (default 30).
        public var clockSkewTolerance: TimeInterval
        /// Algorithms offered, strongest first, one `WWW-Authenticate` header each (default
        /// SHA-256 then MD5). Clients that only know RFC 2617 may take the first Digest challenge
        /// whatever its algorithm: list only `.md5` for such a fleet, or when the credential store
        /// keeps only MD5 HA1 values.
        public var algorithms: [DigestAlgorithm]
        /// An `opaque` value to send; when set, a client that echoes a different one is refused
        /// (one that omits it is accepted, as many CPEs do). Default nil: not sent.
        public var opaque: String?
        /// Whether the RFC 2069 form (no `qop`, `nc`, `cnonce`) is accepted; many CPEs use it
        /// (default true). It is weaker: the client adds no randomness of its own.
        public var allowsLegacyDigest: Bool
        /// Parser limits for `Authorization` headers.
        public var limits: AuthHeaderLimits

        /// Creates a configuration; every argument but the realm and secret has the documented
        /// default.
        public init(
            realm: String, nonceSecret: [UInt8], previousNonceSecrets: [[UInt8]] = [],
            nonceLifetime: TimeInterval = 300, clockSkewTolerance: TimeInterval = 30,
            algorithms: [DigestAlgorithm] = [.sha256, .md5], opaque: String? = nil,
            allowsLegacyDigest: Bool = true, limits: AuthHeaderLimits = .default
        ) {
            self.realm = realm
            self.nonceSecret = nonceSecret
            self.previousNonceSecrets = previousNonceSecrets
            self.nonceLifetime = nonceLifetime
            self.clockSkewTolerance = clockSkewTolerance
            self.algorithms = algorithms
            self.opaque = opaque
            self.allowsLegacyDigest = allowsLegacyDigest
            self.limits = limits
        }

        /// The settings without the secrets.
        public var description: String {
            "ServerAuthenticator.Configuration(realm: \(realm), algorithms: \(algorithms.map(\.token)), "
                + "nonceLifetime: \(nonceLifetime)s, legacyDigest: \(allowsLegacyDigest), secrets: redacted)"
        }
    }

    /// The settings.
    public let configuration: Configuration
    private let nonces: StatelessNonceIssuer

    /// Creates an authenticator.
    public init(configuration: Configuration) {
        self.configuration = configuration
        nonces = StatelessNonceIssuer(
            secret: configuration.nonceSecret, previousSecrets: configuration.previousNonceSecrets,
            lifetime: configuration.nonceLifetime, clockSkewTolerance: configuration.clockSkewTolerance)
    }

    // MARK: Challenges

    /// One Digest challenge per configured algorithm, in order, with a nonce dated `now`.
    public func challenges(at now: Date, stale: Bool = false) -> [DigestChallenge] {
        let nonce = nonces.nonce(realm: configuration.realm, at: now)
        return configuration.algorithms.map { algorithm in
            DigestChallenge(
                realm: configuration.realm, nonce: nonce, opaque: configuration.opaque, algorithm: algorithm,
                qopOptions: ["auth"], stale: stale)
        }
    }

    /// The `WWW-Authenticate` header values to send with a 401, one per header: the Digest
    /// challenges, then `Basic realm="…"` when `offerBasic` (only over TLS).
    public func challengeHeaderValues(at now: Date, stale: Bool = false, offerBasic: Bool = false) -> [String] {
        var values = challenges(at: now, stale: stale).map(\.headerValue)
        if offerBasic {
            var basic = AuthParameterWriter(scheme: "Basic")
            basic.quoted("realm", configuration.realm)
            values.append(basic.text)
        }
        return values
    }

    /// The `WWW-Authenticate` values that answer `result`: `stale=true` after
    /// ``AuthenticationResult/challenge(stale:)`` with `stale` set, fresh challenges otherwise.
    public func challengeHeaderValues(for result: AuthenticationResult, at now: Date, offerBasic: Bool = false) -> [String] {
        challengeHeaderValues(at: now, stale: result == .challenge(stale: true), offerBasic: offerBasic)
    }

    // MARK: Verification

    /// Checks an `Authorization` header value, looking the user's credential up only once the
    /// cheap checks (syntax, realm, URI, nonce signature) have passed.
    ///
    /// - Parameters:
    ///   - authorization: the header value; nil asks for a challenge.
    ///   - method: the request method (`POST` for CWMP sessions).
    ///   - requestURI: the request target, to be matched by the `uri` parameter.
    ///   - basicAllowed: whether Basic is acceptable on this connection (TLS only, per TR-069).
    ///   - now: the current time.
    ///   - lookup: the stored credential for a user name, nil when there is no such user.
    public func authenticate(
        authorization: String?, method: String, requestURI: String, basicAllowed: Bool, at now: Date,
        credential lookup: (String) async throws -> StoredCredential?
    ) async rethrows -> AuthenticationResult {
        guard let authorization else { return .challenge(stale: false) }
        let header: AuthorizationHeader
        do {
            header = try AuthorizationHeader(parsing: authorization, limits: configuration.limits)
        } catch {
            return .rejected(.malformedHeader(error))
        }
        switch header {
        case .basic:
            guard basicAllowed else { return .rejected(.basicNotAllowed) }
        case .digest(let digest):
            if case .refused(let reason) = precheck(digest, requestURI: requestURI, at: now) { return .rejected(reason) }
        }
        let credential = try await lookup(header.username)
        return authenticate(header, credential: credential, method: method, requestURI: requestURI, basicAllowed: basicAllowed, at: now)
    }

    /// Checks parsed credentials against the `credential` stored for ``AuthorizationHeader/username``
    /// (nil when there is no such user).
    public func authenticate(
        _ header: AuthorizationHeader, credential: StoredCredential?, method: String, requestURI: String,
        basicAllowed: Bool, at now: Date
    ) -> AuthenticationResult {
        switch header {
        case .basic(let basic):
            guard basicAllowed else { return .rejected(.basicNotAllowed) }
            guard let credential else { return .rejected(.unknownUser) }
            guard credential.matches(password: basic.password, username: basic.username, realm: configuration.realm) else {
                return .rejected(.wrongCredentials)
            }
            return .authenticated(username: basic.username)
        case .digest(let digest):
            let nonceStatus: StatelessNonceIssuer.Status
            switch precheck(digest, requestURI: requestURI, at: now) {
            case .refused(let reason): return .rejected(reason)
            case .passed(let status): nonceStatus = status
            }
            guard let credential else { return .rejected(.unknownUser) }
            guard let algorithm = digest.algorithm,
                  credential.ha1(for: algorithm.hash, username: digest.username, realm: digest.realm) != nil else {
                return .rejected(.noHA1ForAlgorithm)
            }
            guard digest.isResponseValid(for: credential, method: method) else { return .rejected(.wrongCredentials) }
            // RFC 7616 §3.3: stale only when the nonce is the sole problem.
            return nonceStatus == .stale ? .challenge(stale: true) : .authenticated(username: digest.username)
        }
    }

    /// The outcome of the checks that need no credential.
    private enum Precheck {
        case passed(nonce: StatelessNonceIssuer.Status)
        case refused(RejectionReason)
    }

    /// Everything that does not need the user's credential, cheapest first.
    private func precheck(
        _ digest: DigestCredentials, requestURI: String, at now: Date
    ) -> Precheck {
        if digest.userhash { return .refused(.unsupportedUserhash) }
        guard let algorithm = digest.algorithm, configuration.algorithms.contains(algorithm) else {
            return .refused(.unsupportedAlgorithm)
        }
        switch digest.qop {
        case nil where !configuration.allowsLegacyDigest: return .refused(.unsupportedQop)
        case nil, "auth": break
        default: return .refused(.unsupportedQop)
        }
        guard digest.realm == configuration.realm else { return .refused(.realmMismatch) }
        guard Self.uri(digest.uri, matches: requestURI) else { return .refused(.uriMismatch) }
        if let expected = configuration.opaque, let opaque = digest.opaque, opaque != expected {
            return .refused(.opaqueMismatch)
        }
        let status = nonces.status(of: digest.nonce, realm: configuration.realm, at: now)
        return status == .invalid ? .refused(.invalidNonce) : .passed(nonce: status)
    }

    /// Whether the `uri` parameter names the request target. They must be equal, except that
    /// either may be in absolute form (`http://host:7547/acs`) while the other is a path, since
    /// some clients put the full URL in `uri`; then the paths and queries must be equal.
    static func uri(_ parameter: String, matches requestURI: String) -> Bool {
        parameter == requestURI || originForm(parameter) == originForm(requestURI)
    }

    /// The path-and-query of an absolute URI (`/` when it has no path), or the text unchanged.
    private static func originForm(_ uri: String) -> String {
        guard let schemeEnd = uri.range(of: "://"), !uri[..<schemeEnd.lowerBound].contains("/") else { return uri }
        let afterAuthority = uri[schemeEnd.upperBound...]
        guard let pathStart = afterAuthority.firstIndex(where: { $0 == "/" || $0 == "?" }) else { return "/" }
        let rest = String(afterAuthority[pathStart...])
        return rest.hasPrefix("?") ? "/" + rest : rest
    }
}
