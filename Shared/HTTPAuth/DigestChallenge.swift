/// A Digest challenge (RFC 7616 §3.3): what a server sends in `WWW-Authenticate`, and what a
/// client reads from one.
public struct DigestChallenge: Sendable, Hashable {
    /// `realm`.
    public var realm: String
    /// `nonce`.
    public var nonce: String
    /// `opaque`, to be echoed unchanged.
    public var opaque: String?
    /// `algorithm` as sent; nil when absent, which means MD5.
    public var algorithmToken: String?
    /// The `qop` options, lowercased (`auth`, `auth-int`); empty for an RFC 2069 challenge.
    public var qopOptions: [String]
    /// `stale=true`: the previous nonce expired but the credentials were right.
    public var stale: Bool

    /// Creates a challenge.
    public init(
        realm: String, nonce: String, opaque: String? = nil, algorithm: DigestAlgorithm? = nil,
        qopOptions: [String] = ["auth"], stale: Bool = false
    ) {
        self.realm = realm
        self.nonce = nonce
        self.opaque = opaque
        self.algorithmToken = algorithm?.token
        self.qopOptions = qopOptions.map { $0.lowercased() }
        self.stale = stale
    }

    init(_ item: AuthHeaderItem) throws(HTTPAuthError) {
        guard item.token68 == nil else {
            throw HTTPAuthError(.malformed, "a Digest challenge must be a parameter list, not a single token")
        }
        guard let realm = item["realm"] else { throw HTTPAuthError(.missingParameter, "Digest challenge lacks 'realm'") }
        guard let nonce = item["nonce"] else { throw HTTPAuthError(.missingParameter, "Digest challenge lacks 'nonce'") }
        let stale: Bool
        switch item["stale"]?.lowercased() {
        case nil, "false": stale = false
        case "true": stale = true
        default: throw HTTPAuthError(.invalidParameter, "'stale' must be true or false")
        }
        let options = (item["qop"] ?? "").split(separator: ",").map { $0.trimmingWhitespace().lowercased() }.filter { !$0.isEmpty }
        self.init(realm: realm, nonce: nonce, opaque: item["opaque"], qopOptions: options, stale: stale)
        algorithmToken = item["algorithm"]
    }

    /// The algorithm: MD5 when none was named, nil when the named one is not implemented.
    public var algorithm: DigestAlgorithm? {
        guard let algorithmToken else { return .md5 }
        return DigestAlgorithm(token: algorithmToken)
    }

    /// The `WWW-Authenticate` header value, in RFC 7616's parameter order (realm, qop, algorithm,
    /// nonce, opaque, then `stale=true` only when set).
    public var headerValue: String {
        var writer = AuthParameterWriter(scheme: "Digest")
        writer.quoted("realm", realm)
        if !qopOptions.isEmpty { writer.quoted("qop", qopOptions.joined(separator: ", ")) }
        if let algorithmToken { writer.token("algorithm", algorithmToken) }
        writer.quoted("nonce", nonce)
        if let opaque { writer.quoted("opaque", opaque) }
        if stale { writer.token("stale", "true") }
        return writer.text
    }
}

/// One challenge of a `WWW-Authenticate` header.
public enum AuthenticationChallenge: Sendable, Hashable {
    /// A Digest challenge.
    case digest(DigestChallenge)
    /// A Basic challenge, with its realm when given.
    case basic(realm: String?)
    /// Any other scheme (lowercased), which this library does not answer.
    case other(scheme: String)

    /// Reads every challenge of one or more `WWW-Authenticate` header values (a server may send
    /// several headers, and several challenges in one header, separated by commas).
    public static func parse(
        _ headerValues: [String], limits: AuthHeaderLimits = .default
    ) throws(HTTPAuthError) -> [AuthenticationChallenge] {
        var challenges: [AuthenticationChallenge] = []
        for value in headerValues {
            for item in try AuthHeaderParser.parse(value, limits: limits) {
                switch item.scheme {
                case "digest": challenges.append(.digest(try DigestChallenge(item)))
                case "basic": challenges.append(.basic(realm: item["realm"]))
                default: challenges.append(.other(scheme: item.scheme))
                }
            }
        }
        return challenges
    }
}

extension Substring {
    /// The text without leading and trailing spaces and tabs.
    func trimmingWhitespace() -> Substring {
        var text = self
        while let first = text.first, first == " " || first == "\t" { text.removeFirst() }
        while let last = text.last, last == " " || last == "\t" { text.removeLast() }
        return text
    }
}
