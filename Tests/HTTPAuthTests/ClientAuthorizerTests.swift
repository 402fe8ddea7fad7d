import HTTPAuth
import Testing

/// The ACS answering a CPE's 401 on a Connection Request.
@Suite struct ClientAuthorizerTests {
    func authorize(_ headers: [String], allowBasic: Bool = false) throws(HTTPAuthError) -> ClientAuthorizer.Authorization {
        try ClientAuthorizer.authorization(
            answering: headers, username: "acs", password: "pw", uri: "/cr?id=1", cnonce: "0badc0de", allowBasic: allowBasic)
    }

    @Test func strongestAlgorithmWinsWhateverTheOrder() throws {
        let md5 = #"Digest realm="cpe", qop="auth", algorithm=MD5, nonce="n1""#
        let sha = #"Digest realm="cpe", qop="auth", algorithm=sha-256, nonce="n2""#
        let unknown = #"Digest realm="cpe", qop="auth", algorithm=SHA-512-256, nonce="n3""#
        for headers in [[md5, sha, unknown], [unknown, sha, md5], [md5 + ", " + sha]] {
            let answer = try authorize(headers)
            #expect(answer.scheme == .digest(.sha256, qop: "auth"))
            #expect(answer.headerValue.contains(#"nonce="n2""#))
        }
        #expect(try authorize([unknown, md5]).scheme == .digest(.md5, qop: "auth"))
    }

    @Test func answerVerifiesWithTheChallengeParameters() throws {
        let answer = try authorize([#"Digest realm="cpe", qop="auth-int, auth", nonce="n", opaque="o""#])
        guard case .digest(let digest) = try AuthorizationHeader(parsing: answer.headerValue) else {
            Issue.record("not Digest")
            return
        }
        #expect(digest.qop == "auth")
        #expect(digest.uri == "/cr?id=1")
        #expect(digest.nc == "00000001")
        #expect(digest.cnonce == "0badc0de")
        #expect(digest.opaque == "o")
        #expect(digest.algorithmToken == nil)
        #expect(digest.isResponseValid(for: .password("pw"), method: "GET"))
        #expect(!digest.isResponseValid(for: .password("pW"), method: "GET"))
    }

    @Test func basicOnlyWhenNothingElseAndOnlyIfAllowed() throws {
        let basic = #"Basic realm="cpe""#
        let answer = try authorize([basic], allowBasic: true)
        #expect(answer.scheme == .basic)
        #expect(answer.headerValue == "Basic YWNzOnB3")
        #expect(answer.description == "Basic")
        let error = #expect(throws: HTTPAuthError.self) { try authorize([basic]) }
        #expect(error?.code == .basicNotAllowed)
        // Digest beats Basic even when Basic is allowed and offered first.
        let both = try authorize([basic, #"Digest realm="cpe", nonce="n""#], allowBasic: true)
        #expect(both.scheme == .digest(.md5, qop: nil))
    }

    @Test func nothingUsable() {
        let cases = [
            [#"Negotiate abc=="#],
            [#"Digest realm="cpe", qop="auth-conf", nonce="n""#],
            [#"Digest realm="cpe", algorithm=MD5-sess, nonce="n""#],
            [#"Digest realm="cpe", algorithm=SHA-512-256, qop="auth", nonce="n""#],
            [],
        ]
        for headers in cases {
            let error = #expect(throws: HTTPAuthError.self) { try authorize(headers, allowBasic: true) }
            #expect(error?.code == .noUsableChallenge, "\(headers)")
        }
    }

    @Test func malformedChallengesAreReported() {
        let cases: [(String, HTTPAuthError.Code)] = [
            (#"Digest realm="cpe""#, .missingParameter),
            (#"Digest nonce="n""#, .missingParameter),
            (#"Digest realm="cpe", nonce="n", stale=perhaps"#, .invalidParameter),
            (#"Digest realm="cpe, nonce="n""#, .malformed),
            ("Digest abc=", .malformed),
        ]
        for (header, code) in cases {
            let error = #expect(throws: HTTPAuthError.self) { try authorize([header]) }
            #expect(error?.code == code, "\(header)")
        }
    }

    @Test func quotesInCredentialsAreEscaped() throws {
        let answer = try ClientAuthorizer.authorization(
            answering: [#"Digest realm="a \"q\" realm", qop="auth", nonce="n""#], username: #"od"d\user"#, password: "pw",
            uri: "/", cnonce: "c", allowBasic: false)
        guard case .digest(let digest) = try AuthorizationHeader(parsing: answer.headerValue) else {
            Issue.record("not Digest")
            return
        }
        #expect(digest.username == #"od"d\user"#)
        #expect(digest.realm == #"a "q" realm"#)
        // The digest covers the unescaped values (RFC 7616 §3.4).
        #expect(digest.isResponseValid(for: .password("pw"), method: "GET"))
    }
}
