/// The parameters of a Digest `Authorization` header (RFC 7616 §3.4, RFC 2617 §3.2.2, and the
/// RFC 2069 form without `qop`, `nc` and `cnonce`).
///
/// Parsing checks the shape only: required parameters present, `nc` eight hex digits, `response`
/// hex. Whether the algorithm, qop, realm, URI and nonce are acceptable is the server's call
/// (``ServerAuthenticator``), so that each gets its own ``RejectionReason``.
public struct DigestCredentials: Sendable, Hashable {
    /// `username` (the `username*` extended form is not supported).
    public var username: String
    /// `realm`, which must be the server's.
    public var realm: String
    /// `nonce`, echoed from the challenge.
    public var nonce: String
    /// `uri`, which must be the request target.
    public var uri: String
    /// `response`, lowercase hex.
    public var response: String
    /// `algorithm` as sent; nil when absent, which means MD5.
    public var algorithmToken: String?
    /// `qop` lowercased (`auth`, `auth-int`), nil for the RFC 2069 form.
    public var qop: String?
    /// `nc`, eight hex digits; present exactly when `qop` is.
    public var nc: String?
    /// `cnonce`; present when `qop` is.
    public var cnonce: String?
    /// `opaque`, echoed from the challenge.
    public var opaque: String?
    /// `userhash=true`: the username is hashed (not supported by the server).
    public var userhash: Bool

    /// Creates credentials from their parts.
    public init(
        username: String, realm: String, nonce: String, uri: String, response: String,
        algorithmToken: String? = nil, qop: String? = nil, nc: String? = nil, cnonce: String? = nil,
        opaque: String? = nil, userhash: Bool = false
    ) {
        self.username = username
        self.realm = realm
        self.nonce = nonce
        self.uri = uri
        self.response = response.lowercased()
        self.algorithmToken = algorithmToken
        self.qop = qop?.lowercased()
        self.nc = nc
        self.cnonce = cnonce
        self.opaque = opaque
        self.userhash = userhash
    }

    init(_ item: AuthHeaderItem) throws(HTTPAuthError) {
        guard item.token68 == nil else {
            throw HTTPAuthError(.malformed, "Digest credentials must be a parameter list, not a single token")
        }
        func required(_ name: String) throws(HTTPAuthError) -> String {
            guard let value = item[name] else {
                let hint = name == "username" && item["username*"] != nil ? " (username* is not supported)" : ""
                throw HTTPAuthError(.missingParameter, "Digest credentials lack \(HTTPAuthError.name(name))\(hint)")
            }
            return value
        }
        let response = try required("response")
        guard !response.isEmpty, Hex.isHex(response, count: response.utf8.count) else {
            throw HTTPAuthError(.invalidParameter, "'response' is not hexadecimal")
        }
        let qop = item["qop"]
        var nc: String?
        var cnonce: String?
        if let qop {
            guard !qop.isEmpty, !qop.contains(",") else {
                throw HTTPAuthError(.invalidParameter, "'qop' must name one quality of protection")
            }
            nc = try required("nc")
            cnonce = try required("cnonce")
            guard let nc, Hex.isHex(nc, count: 8) else {
                throw HTTPAuthError(.invalidParameter, "'nc' must be 8 hexadecimal digits")
            }
        }
        let userhash: Bool
        switch item["userhash"]?.lowercased() {
        case nil, "false": userhash = false
        case "true": userhash = true
        default: throw HTTPAuthError(.invalidParameter, "'userhash' must be true or false")
        }
        self.init(
            username: try required("username"), realm: try required("realm"), nonce: try required("nonce"),
            uri: try required("uri"), response: response, algorithmToken: item["algorithm"], qop: qop,
            nc: nc, cnonce: cnonce, opaque: item["opaque"], userhash: userhash)
    }

    /// The algorithm: MD5 when none was named, nil when the named one is not implemented.
    public var algorithm: DigestAlgorithm? {
        guard let algorithmToken else { return .md5 }
        return DigestAlgorithm(token: algorithmToken)
    }

    /// Whether ``response`` is right for `credential`, the request `method` and (for `auth-int`)
    /// `body`, compared in constant time. Only the digest is checked: realm, URI, nonce freshness
    /// and policy are ``ServerAuthenticator``'s job. False when the algorithm is not implemented
    /// or `credential` has no HA1 for its hash.
    public func isResponseValid(for credential: StoredCredential, method: String, body: [UInt8] = []) -> Bool {
        guard let algorithm, let ha1 = credential.ha1(for: algorithm.hash, username: username, realm: realm) else {
            return false
        }
        let expected = algorithm.response(
            ha1: ha1, nonce: nonce, method: method, uri: uri, qop: qop, nc: nc, cnonce: cnonce, body: body)
        return ConstantTime.equal(Array(expected.utf8), Array(response.utf8))
    }

    /// The `Authorization` header value, with parameters in RFC 7616's order; `algorithm`,
    /// `qop`/`nc`/`cnonce` and `opaque` appear only when set.
    public var headerValue: String {
        var writer = AuthParameterWriter(scheme: "Digest")
        writer.quoted("username", username)
        writer.quoted("realm", realm)
        writer.quoted("uri", uri)
        if let algorithmToken { writer.token("algorithm", algorithmToken) }
        writer.quoted("nonce", nonce)
        if let qop, let nc, let cnonce {
            writer.token("nc", nc)
            writer.quoted("cnonce", cnonce)
            writer.token("qop", qop)
        }
        writer.quoted("response", response)
        if let opaque { writer.quoted("opaque", opaque) }
        if userhash { writer.token("userhash", "true") }
        return writer.text
    }
}
