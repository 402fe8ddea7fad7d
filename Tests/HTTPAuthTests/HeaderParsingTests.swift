import HTTPAuth
import Testing

/// The RFC 9110 §11 grammar as devices actually write it: accepted variants and refused input.
@Suite struct HeaderParsingTests {
    static let validTail = #"realm="r", nonce="n", uri="/acs", response="0123abcd""#

    func digest(_ header: String) throws -> DigestCredentials {
        guard case .digest(let digest) = try AuthorizationHeader(parsing: header) else {
            throw HTTPAuthError(.unsupportedScheme, "expected Digest in test")
        }
        return digest
    }

    @Test func schemeAndParameterNamesAreCaseInsensitive() throws {
        let digest = try digest(#"dIgEsT UserName="cpe-1", REALM="r", Nonce="n", URI="/acs", Response="0123ABCD", QOP=AUTH, NC=0000000a, CNonce="c""#)
        #expect(digest.username == "cpe-1")
        #expect(digest.realm == "r")
        #expect(digest.uri == "/acs")
        #expect(digest.response == "0123abcd")
        #expect(digest.qop == "auth")
        #expect(digest.nc == "0000000a")
    }

    @Test func quotedStringsKeepCommasAndUnescapeQuotes() throws {
        let digest = try digest(#"Digest username="Doe, \"J\" \\ x", realm="a,b", nonce="n=,=", uri="/p?a=1,b=2", response="00""#)
        #expect(digest.username == #"Doe, "J" \ x"#)
        #expect(digest.realm == "a,b")
        #expect(digest.nonce == "n=,=")
        #expect(digest.uri == "/p?a=1,b=2")
    }

    @Test func whitespaceUnquotedValuesAndEmptyListElements() throws {
        let digest = try digest("  Digest \t username = cpe ,, realm=\"r\" ,\tnonce=abc==, uri=/acs?x=1 , response = 00ff ,algorithm=\"sha-256\", qop=\"auth\", nc=00000001, cnonce=\"c\"  ")
        #expect(digest.username == "cpe")
        #expect(digest.nonce == "abc==")
        #expect(digest.uri == "/acs?x=1")
        #expect(digest.algorithm == .sha256)
        #expect(digest.qop == "auth")
    }

    @Test func basicCredentials() throws {
        guard case .basic(let basic) = try AuthorizationHeader(parsing: "basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==") else {
            Issue.record("not Basic")
            return
        }
        #expect(basic.username == "Aladdin")
        #expect(basic.password == "open sesame")
        #expect(!basic.description.contains("sesame"))
        // Unpadded base64, and a password with colons in it.
        let made = BasicCredentials(username: "cpe", password: "a:b:c").headerValue
        let unpadded = String(made.drop(while: { $0 != " " }).dropFirst().prefix { $0 != "=" })
        guard case .basic(let again) = try AuthorizationHeader(parsing: "Basic " + unpadded) else {
            Issue.record("not Basic")
            return
        }
        #expect(again == BasicCredentials(username: "cpe", password: "a:b:c"))
    }

    @Test func credentialsRoundTripThroughTheWriter() throws {
        let original = DigestCredentials(
            username: #"we"ird\ user, x"#, realm: "r\"ealm", nonce: "n", uri: "/acs?q=\"1\"", response: "ABCDEF01",
            algorithmToken: "SHA-256", qop: "auth", nc: "00000002", cnonce: "c,\\", opaque: "o", userhash: false)
        #expect(try digest(original.headerValue) == original)
    }

    @Test func severalChallengesInOneHeader() throws {
        // RFC 9110 §11.6.1's example, plus a token68 scheme and a Digest challenge.
        let challenges = try AuthenticationChallenge.parse([
            #"Newauth realm="apps", type=1, title="Login to \"apps\"", Basic realm="simple""#,
            #"Negotiate abc==, Digest realm="r", nonce="n", qop="auth-int,auth", stale=TRUE"#,
        ])
        #expect(challenges.count == 4)
        #expect(challenges[0] == .other(scheme: "newauth"))
        #expect(challenges[1] == .basic(realm: "simple"))
        #expect(challenges[2] == .other(scheme: "negotiate"))
        guard case .digest(let digest) = challenges[3] else {
            Issue.record("fourth challenge is not Digest")
            return
        }
        #expect(digest.qopOptions == ["auth-int", "auth"])
        #expect(digest.stale)
        #expect(digest.algorithm == .md5)
    }

    /// Refused `Authorization` values and the code each must get.
    static let refused: [(String, HTTPAuthError.Code)] = [
        ("", .empty),
        (" \t ", .empty),
        ("Digest", .missingParameter),
        (#"Digest username="Mufasa, "# + validTail, .malformed),
        (#"Digest username="a", USERNAME="b", "# + validTail, .duplicateParameter),
        (#"Digest username=, "# + validTail, .malformed),
        (#"Digest username "a", "# + validTail, .malformed),
        (#"Digest username="a" "# + validTail, .malformed),
        ("Digest username=\"a\u{0}b\", " + validTail, .malformed),
        ("Digest username=\"a\",\r\n " + validTail, .malformed),
        (#"Digest username="a", qop=auth, nc=0000001g, cnonce="c", "# + validTail, .invalidParameter),
        (#"Digest username="a", qop=auth, nc=00000001, "# + validTail, .missingParameter),
        (#"Digest username="a", qop="auth,auth-int", nc=00000001, cnonce="c", "# + validTail, .invalidParameter),
        (#"Digest username="a", realm="r", nonce="n", uri="/", response="xyz""#, .invalidParameter),
        (#"Digest username="a", userhash=maybe, "# + validTail, .invalidParameter),
        (#"Digest username*=UTF-8''a, "# + validTail, .missingParameter),
        ("Digest abc==", .malformed),
        ("Bearer abc", .unsupportedScheme),
        (#"Basic YTpi, Digest username="a", "# + validTail, .unsupportedScheme),
        ("Basic YWJj", .invalidParameter),
        ("Basic a-b_c", .invalidEncoding),
        ("Basic /w==", .invalidEncoding),
        (#"Basic realm="x""#, .malformed),
        ("=abc", .malformed),
        ("Digest username=\"" + String(repeating: "a", count: 9000) + "\"", .tooLarge),
        ("Digest " + (0..<40).map { "p\($0)=1" }.joined(separator: ", "), .tooLarge),
    ]

    @Test(arguments: refused)
    func malformedHeadersAreRefused(header: String, code: HTTPAuthError.Code) {
        let error = #expect(throws: HTTPAuthError.self) { try AuthorizationHeader(parsing: header) }
        #expect(error?.code == code, "\(error.map(String.init(describing:)) ?? "no error")")
    }

    @Test func errorsNeverQuoteHeaderValues() {
        let headers = [
            #"Digest username="s3cr3t-user", response="s3cr3t"#,
            "Basic " + BasicCredentials(username: "u", password: "s3cr3t").headerValue.dropFirst(6) + "!",
            #"Digest username="a" s3cr3t"#,
        ]
        for header in headers {
            let error = #expect(throws: HTTPAuthError.self) { try AuthorizationHeader(parsing: header) }
            #expect(error.map { !String(describing: $0).contains("s3cr3t") } == true)
        }
    }

    @Test func limitsAreConfigurable() throws {
        let header = #"Digest username="a", "# + Self.validTail
        #expect(throws: HTTPAuthError.self) { try AuthorizationHeader(parsing: header, limits: AuthHeaderLimits(maxBytes: 20)) }
        #expect(throws: HTTPAuthError.self) { try AuthorizationHeader(parsing: header, limits: AuthHeaderLimits(maxParameters: 4)) }
        #expect(try AuthorizationHeader(parsing: header, limits: AuthHeaderLimits(maxBytes: header.utf8.count, maxParameters: 5)).username == "a")
    }
}
