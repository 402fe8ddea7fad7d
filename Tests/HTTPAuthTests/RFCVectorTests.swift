import HTTPAuth
import Testing

/// The worked examples of RFC 7616 §3.9.1 and RFC 2617 §3.5, on both sides; values the RFCs do
/// not print were computed independently with Python's hashlib.
@Suite struct RFCVectorTests {
    // RFC 7616 §3.9.1: user "Mufasa", password "Circle of Life", GET /dir/index.html.
    static let realm7616 = "http-auth@example.org"
    static let nonce7616 = "7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v"
    static let opaque7616 = "FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS"
    static let cnonce7616 = "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ"
    static let md5Response7616 = "8ca523f5e9506fed4657c9700eebdbec"
    static let sha256Response7616 = "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1"

    static func challenge7616(_ algorithm: String) -> String {
        "Digest realm=\"\(realm7616)\", qop=\"auth, auth-int\", algorithm=\(algorithm), nonce=\"\(nonce7616)\", opaque=\"\(opaque7616)\""
    }

    /// The RFC's Authorization header, with its line folding turned back into spaces and tabs.
    static func authorization7616(_ algorithm: String, response: String) -> String {
        "Digest username=\"Mufasa\","
            + "\trealm=\"\(realm7616)\", uri=\"/dir/index.html\", algorithm=\(algorithm),"
            + "  nonce=\"\(nonce7616)\", nc=00000001, cnonce=\"\(cnonce7616)\", qop=auth,"
            + " response=\"\(response)\", opaque=\"\(opaque7616)\""
    }

    @Test(arguments: [("MD5", md5Response7616), ("SHA-256", sha256Response7616)])
    func rfc7616ServerVerifiesTheExample(algorithm: String, response: String) throws {
        let header = try AuthorizationHeader(parsing: Self.authorization7616(algorithm, response: response))
        guard case .digest(let digest) = header else {
            Issue.record("not parsed as Digest: \(header)")
            return
        }
        #expect(digest.username == "Mufasa")
        #expect(digest.algorithm?.token == algorithm)
        #expect(digest.nc == "00000001")
        #expect(digest.isResponseValid(for: .password("Circle of Life"), method: "GET"))
        #expect(!digest.isResponseValid(for: .password("Circle Of Life"), method: "GET"))
        #expect(!digest.isResponseValid(for: .password("Circle of Life"), method: "POST"))
        // A store that keeps only HA1 reaches the same verdict.
        let hash = try #require(digest.algorithm?.hash)
        let ha1 = DigestAlgorithm.ha1(hash: hash, username: "Mufasa", realm: Self.realm7616, password: "Circle of Life")
        #expect(digest.isResponseValid(for: .ha1([hash: ha1]), method: "GET"))
        #expect(!digest.isResponseValid(for: .ha1([hash: String(repeating: "0", count: hash.hexLength)]), method: "GET"))
    }

    @Test func rfc7616ClientAnswersTheExampleWithTheStrongestAlgorithm() throws {
        // The RFC's 401 offers SHA-256 first, then MD5.
        let headers = [Self.challenge7616("SHA-256"), Self.challenge7616("MD5")]
        let answer = try ClientAuthorizer.authorization(
            answering: headers, username: "Mufasa", password: "Circle of Life", method: "GET",
            uri: "/dir/index.html", cnonce: Self.cnonce7616, allowBasic: false)
        #expect(answer.scheme == .digest(.sha256, qop: "auth"))
        let sent = try AuthorizationHeader(parsing: answer.headerValue)
        guard case .digest(let digest) = sent else {
            Issue.record("client did not send Digest")
            return
        }
        #expect(digest.response == Self.sha256Response7616)
        #expect(digest.opaque == Self.opaque7616)
        #expect(digest.cnonce == Self.cnonce7616)
        #expect(digest.nc == "00000001")
        #expect(digest.uri == "/dir/index.html")
    }

    @Test func rfc7616ClientMD5WhenOnlyMD5IsOffered() throws {
        let answer = try ClientAuthorizer.authorization(
            answering: [Self.challenge7616("MD5")], username: "Mufasa", password: "Circle of Life",
            uri: "/dir/index.html", cnonce: Self.cnonce7616, allowBasic: false)
        #expect(answer.scheme == .digest(.md5, qop: "auth"))
        #expect(answer.headerValue.contains("response=\"\(Self.md5Response7616)\""))
        #expect(answer.headerValue.contains("algorithm=MD5"))
    }

    // RFC 2617 §3.5: password "Circle Of Life", realm testrealm@host.com, no algorithm parameter.
    static let challenge2617 = """
        Digest realm="testrealm@host.com", qop="auth,auth-int", nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093", \
        opaque="5ccc069c403ebaf9f0171e9517f40e41"
        """

    @Test func rfc2617ClientProducesTheRFCResponse() throws {
        let answer = try ClientAuthorizer.authorization(
            answering: [Self.challenge2617], username: "Mufasa", password: "Circle Of Life",
            uri: "/dir/index.html", cnonce: "0a4f113b", allowBasic: false)
        #expect(answer.scheme == .digest(.md5, qop: "auth"))
        #expect(answer.headerValue.contains("response=\"6629fae49393a05397450978507c4ef1\""))
        #expect(answer.headerValue.contains("opaque=\"5ccc069c403ebaf9f0171e9517f40e41\""))
        // No algorithm in the challenge: none in the answer either, as RFC 2617 clients do.
        #expect(!answer.headerValue.contains("algorithm="))
    }

    @Test func rfc2617ServerVerifiesTheRFCHeader() throws {
        let header = """
            digest USERNAME="Mufasa", Realm="testrealm@host.com", nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093", \
            uri="/dir/index.html", qop=auth, nc=00000001, cnonce="0a4f113b", \
            response="6629FAE49393A05397450978507C4EF1", opaque="5ccc069c403ebaf9f0171e9517f40e41"
            """
        guard case .digest(let digest) = try AuthorizationHeader(parsing: header) else {
            Issue.record("not parsed as Digest")
            return
        }
        #expect(digest.algorithm == .md5)
        #expect(DigestAlgorithm.ha1(hash: .md5, username: "Mufasa", realm: "testrealm@host.com", password: "Circle Of Life")
            == "939e7578ed9e3c518a452acee763bce9")
        #expect(digest.isResponseValid(for: .md5HA1("939e7578ed9e3c518a452acee763bce9"), method: "GET"))
        #expect(!digest.isResponseValid(for: .password("Circle of Life"), method: "GET"))
    }

    @Test func legacyRFC2069FormWithoutQop() throws {
        let challenge = #"Digest realm="testrealm@host.com", nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093""#
        let answer = try ClientAuthorizer.authorization(
            answering: [challenge], username: "Mufasa", password: "Circle Of Life",
            uri: "/dir/index.html", cnonce: "unused", allowBasic: false)
        #expect(answer.scheme == .digest(.md5, qop: nil))
        #expect(answer.headerValue.contains("response=\"670fd8c2df070c60b045671b8b24ff02\""))
        for absent in ["qop=", "nc=", "cnonce="] { #expect(!answer.headerValue.contains(absent)) }
        guard case .digest(let digest) = try AuthorizationHeader(parsing: answer.headerValue) else {
            Issue.record("not parsed as Digest")
            return
        }
        #expect(digest.qop == nil)
        #expect(digest.isResponseValid(for: .password("Circle Of Life"), method: "GET"))
    }

    @Test func sessionAndAuthIntVariants() throws {
        let sess = try ClientAuthorizer.authorization(
            answering: [#"Digest realm="testrealm@host.com", qop="auth", algorithm=MD5-sess, nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093""#],
            username: "Mufasa", password: "Circle Of Life", uri: "/dir/index.html", cnonce: "0a4f113b", allowBasic: false)
        #expect(sess.scheme == .digest(.md5Session, qop: "auth"))
        #expect(sess.headerValue.contains("response=\"8e3825c57e897f5a0dec6c2d4e5059d0\""))

        let authInt = try ClientAuthorizer.authorization(
            answering: [#"Digest realm="http-auth@example.org", qop="auth-int", algorithm=SHA-256, nonce="7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v""#],
            username: "Mufasa", password: "Circle of Life", uri: "/dir/index.html", cnonce: Self.cnonce7616, allowBasic: false)
        #expect(authInt.scheme == .digest(.sha256, qop: "auth-int"))
        #expect(authInt.headerValue.contains("response=\"8bdf6f15638e260831e905028de5450562816d093c9bfc5c13d3a46adcdde940\""))
    }
}
