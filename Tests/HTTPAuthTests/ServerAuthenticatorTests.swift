import Foundation
import HTTPAuth
import Testing

/// The ACS checking CPEs: challenge, answer with ``ClientAuthorizer``, verify — and every way a
/// request can go wrong.
@Suite struct ServerAuthenticatorTests {
    static let secret = Array("0123456789abcdef0123456789abcdef".utf8)
    static let t0 = Date(timeIntervalSince1970: 1_700_000_000)
    let server = ServerAuthenticator(configuration: .init(realm: "twinfleet-acs", nonceSecret: Self.secret, opaque: "op"))
    let store: [String: StoredCredential] = ["cpe-1": .password("s3cret"), "cpe-2": .password("other")]

    /// A client's answer to `server`'s challenges issued at `issued`.
    func answer(
        from server: ServerAuthenticator? = nil, issued: Date = t0, password: String = "s3cret", uri: String = "/acs",
        method: String = "POST", challenges: [String]? = nil
    ) throws -> ClientAuthorizer.Authorization {
        let headers = challenges ?? (server ?? self.server).challengeHeaderValues(at: issued)
        return try ClientAuthorizer.authorization(
            answering: headers, username: "cpe-1", password: password, method: method, uri: uri,
            cnonce: "a1b2c3d4e5f60718", allowBasic: false)
    }

    func verify(_ header: String?, uri: String = "/acs", at now: Date = t0.addingTimeInterval(5), basicAllowed: Bool = false) async -> AuthenticationResult {
        await server.authenticate(authorization: header, method: "POST", requestURI: uri, basicAllowed: basicAllowed, at: now) { store[$0] }
    }

    @Test func offersSHA256ThenMD5WithOneSignedNonce() throws {
        let values = server.challengeHeaderValues(at: Self.t0)
        #expect(values.count == 2)
        #expect(values[0].hasPrefix("Digest realm=\"twinfleet-acs\", qop=\"auth\", algorithm=SHA-256, nonce=\""))
        #expect(values[1].contains("algorithm=MD5,"))
        #expect(values.allSatisfy { $0.contains("opaque=\"op\"") && !$0.contains("stale") })
        let challenges = try AuthenticationChallenge.parse(values)
        let nonces = challenges.compactMap { if case .digest(let d) = $0 { d.nonce } else { nil } }
        #expect(nonces.count == 2 && nonces[0] == nonces[1])
        #expect(server.challengeHeaderValues(at: Self.t0, stale: true).allSatisfy { $0.hasSuffix(", stale=true") })
        #expect(server.challengeHeaderValues(at: Self.t0, offerBasic: true).last == #"Basic realm="twinfleet-acs""#)
    }

    @Test func roundTripAuthenticatesWithEachAlgorithm() async throws {
        let sha = try answer()
        #expect(sha.scheme == .digest(.sha256, qop: "auth"))
        #expect(await verify(sha.headerValue) == .authenticated(username: "cpe-1"))

        let md5Only = ServerAuthenticator(configuration: .init(realm: "twinfleet-acs", nonceSecret: Self.secret, algorithms: [.md5]))
        let md5 = try answer(from: md5Only)
        #expect(md5.scheme == .digest(.md5, qop: "auth"))
        let result = await md5Only.authenticate(
            authorization: md5.headerValue, method: "POST", requestURI: "/acs", basicAllowed: false, at: Self.t0) { store[$0] }
        #expect(result == .authenticated(username: "cpe-1"))
    }

    @Test func anotherPodWithTheSameSecretAccepts() async throws {
        let otherPod = ServerAuthenticator(configuration: .init(realm: "twinfleet-acs", nonceSecret: Self.secret, opaque: "op"))
        let header = try answer(from: otherPod).headerValue
        #expect(await verify(header) == .authenticated(username: "cpe-1"))
    }

    @Test func noHeaderAsksForAChallenge() async {
        let result = await verify(nil)
        #expect(result == .challenge(stale: false))
        #expect(server.challengeHeaderValues(for: result, at: Self.t0).allSatisfy { !$0.contains("stale") })
    }

    @Test func wrongPasswordIsRejected() async throws {
        #expect(await verify(try answer(password: "guess").headerValue) == .rejected(.wrongCredentials))
    }

    @Test func unknownUserIsRejectedWithoutLookupOnForgedNonce() async throws {
        let header = try answer().headerValue.replacingOccurrences(of: "cpe-1", with: "nobody")
        #expect(await verify(header) == .rejected(.unknownUser))
        // A forged nonce is refused before the credential store is asked.
        var looked = false
        let forged = try answer(challenges: [#"Digest realm="twinfleet-acs", qop="auth", nonce="AAAA", algorithm=SHA-256"#]).headerValue
        let result = await server.authenticate(authorization: forged, method: "POST", requestURI: "/acs", basicAllowed: false, at: Self.t0) { _ in
            looked = true
            return nil
        }
        #expect(result == .rejected(.invalidNonce))
        #expect(!looked)
    }

    @Test func uriMustMatchTheRequestTarget() async throws {
        let header = try answer(uri: "/acs").headerValue
        #expect(await verify(header, uri: "/other") == .rejected(.uriMismatch))
        #expect(await verify(header, uri: "/acs?x=1") == .rejected(.uriMismatch))
        // The absolute form of the same target is the same target.
        let absolute = try answer(uri: "http://acs.example:7547/acs").headerValue
        #expect(await verify(absolute, uri: "/acs") == .authenticated(username: "cpe-1"))
    }

    @Test func methodIsPartOfTheDigest() async throws {
        #expect(await verify(try answer(method: "GET").headerValue) == .rejected(.wrongCredentials))
    }

    @Test func tamperedNonceIsInvalid() async throws {
        let header = try answer().headerValue
        guard case .digest(let digest) = try AuthorizationHeader(parsing: header) else {
            Issue.record("not Digest")
            return
        }
        // Change one character, which spans the timestamp's last byte and the MAC's first.
        var bytes = Array(digest.nonce.utf8)
        bytes[10] = bytes[10] == UInt8(ascii: "A") ? UInt8(ascii: "B") : UInt8(ascii: "A")
        let tampered = String(decoding: bytes, as: UTF8.self)
        // Re-sign the response with the tampered nonce, as an attacker knowing the password could.
        let resigned = ClientAuthorizer.digest(
            answering: DigestChallenge(realm: "twinfleet-acs", nonce: tampered, opaque: "op", algorithm: .sha256),
            algorithm: .sha256, qop: "auth", username: "cpe-1", password: "s3cret", method: "POST", uri: "/acs", cnonce: "c")
        #expect(await verify(resigned.headerValue) == .rejected(.invalidNonce))
    }

    @Test func expiredNonceWithRightCredentialsIsStale() async throws {
        let header = try answer(issued: Self.t0).headerValue
        let later = Self.t0.addingTimeInterval(301)
        let result = await verify(header, at: later)
        #expect(result == .challenge(stale: true))
        #expect(server.challengeHeaderValues(for: result, at: later).allSatisfy { $0.contains("stale=true") })
        // Still inside the lifetime: fine.
        #expect(await verify(header, at: Self.t0.addingTimeInterval(299)) == .authenticated(username: "cpe-1"))
        // Expired and wrong: not stale, just wrong.
        #expect(await verify(try answer(password: "guess").headerValue, at: later) == .rejected(.wrongCredentials))
        // The client retries with the new nonce and gets in.
        let retry = try answer(challenges: server.challengeHeaderValues(for: result, at: later))
        #expect(await verify(retry.headerValue, at: later) == .authenticated(username: "cpe-1"))
    }

    @Test func nonceFromTheFutureIsInvalid() async throws {
        let header = try answer(issued: Self.t0.addingTimeInterval(120)).headerValue
        #expect(await verify(header, at: Self.t0) == .rejected(.invalidNonce))
    }

    @Test func nonceFromAnotherSecretOrRealmIsInvalid() async throws {
        let otherSecret = ServerAuthenticator(configuration: .init(realm: "twinfleet-acs", nonceSecret: Array("another secret".utf8)))
        #expect(await verify(try answer(from: otherSecret).headerValue) == .rejected(.invalidNonce))

        // Another realm sharing our secret: its nonce, answered as if for our realm, is refused.
        let otherRealm = ServerAuthenticator(configuration: .init(realm: "lab", nonceSecret: Self.secret))
        let foreign = try AuthenticationChallenge.parse(otherRealm.challengeHeaderValues(at: Self.t0))
        guard case .digest(var challenge) = foreign.first else {
            Issue.record("no Digest challenge")
            return
        }
        #expect(await verify(try answer(from: otherRealm).headerValue) == .rejected(.realmMismatch))
        challenge.realm = "twinfleet-acs"
        let replayed = ClientAuthorizer.digest(
            answering: challenge, algorithm: .sha256, qop: "auth", username: "cpe-1", password: "s3cret",
            method: "POST", uri: "/acs", cnonce: "c")
        #expect(await verify(replayed.headerValue) == .rejected(.invalidNonce))
    }

    @Test func rotatedSecretStillAcceptsRecentNonces() async throws {
        let old = ServerAuthenticator(configuration: .init(realm: "twinfleet-acs", nonceSecret: Array("old secret".utf8)))
        let rotated = ServerAuthenticator(configuration: .init(
            realm: "twinfleet-acs", nonceSecret: Self.secret, previousNonceSecrets: [Array("old secret".utf8)]))
        let header = try answer(from: old).headerValue
        let result = await rotated.authenticate(authorization: header, method: "POST", requestURI: "/acs", basicAllowed: false, at: Self.t0) { store[$0] }
        #expect(result == .authenticated(username: "cpe-1"))
    }

    @Test func ha1OnlyStore() async throws {
        let md5HA1 = DigestAlgorithm.ha1(hash: .md5, username: "cpe-1", realm: "twinfleet-acs", password: "s3cret")
        let ha1Store: [String: StoredCredential] = ["cpe-1": .md5HA1(md5HA1.uppercased())]
        func check(_ server: ServerAuthenticator, _ header: String, basic: Bool = false) async -> AuthenticationResult {
            await server.authenticate(authorization: header, method: "POST", requestURI: "/acs", basicAllowed: basic, at: Self.t0) { ha1Store[$0] }
        }
        // SHA-256 chosen by the client, but only the MD5 HA1 is stored.
        #expect(await check(server, try answer().headerValue) == .rejected(.noHA1ForAlgorithm))
        let md5Server = ServerAuthenticator(configuration: .init(realm: "twinfleet-acs", nonceSecret: Self.secret, algorithms: [.md5]))
        #expect(await check(md5Server, try answer(from: md5Server).headerValue) == .authenticated(username: "cpe-1"))
        #expect(await check(md5Server, try answer(from: md5Server, password: "nope").headerValue) == .rejected(.wrongCredentials))
        // Basic against an HA1-only store: the sent password is hashed and compared.
        let basicGood = BasicCredentials(username: "cpe-1", password: "s3cret").headerValue
        let basicBad = BasicCredentials(username: "cpe-1", password: "s3cre").headerValue
        #expect(await check(md5Server, basicGood, basic: true) == .authenticated(username: "cpe-1"))
        #expect(await check(md5Server, basicBad, basic: true) == .rejected(.wrongCredentials))
    }

    @Test func legacyDigestWithoutQop() async throws {
        let legacyChallenge = try #require(server.challenges(at: Self.t0).first.map {
            DigestChallenge(realm: $0.realm, nonce: $0.nonce, algorithm: nil, qopOptions: [])
        })
        let answer = try answer(challenges: [legacyChallenge.headerValue])
        #expect(answer.scheme == .digest(.md5, qop: nil))
        #expect(await verify(answer.headerValue) == .authenticated(username: "cpe-1"))

        let strict = ServerAuthenticator(configuration: .init(realm: "twinfleet-acs", nonceSecret: Self.secret, allowsLegacyDigest: false))
        let result = await strict.authenticate(authorization: answer.headerValue, method: "POST", requestURI: "/acs", basicAllowed: false, at: Self.t0) { store[$0] }
        #expect(result == .rejected(.unsupportedQop))
    }

    @Test func policyRejections() async throws {
        let nonce = try #require(server.challenges(at: Self.t0).first?.nonce)
        func header(algorithm: DigestAlgorithm = .sha256, qop: String? = "auth", opaque: String? = "op") -> String {
            ClientAuthorizer.digest(
                answering: DigestChallenge(realm: "twinfleet-acs", nonce: nonce, opaque: opaque, algorithm: algorithm),
                algorithm: algorithm, qop: qop, username: "cpe-1", password: "s3cret", method: "POST", uri: "/acs", cnonce: "c"
            ).headerValue
        }
        #expect(await verify(header()) == .authenticated(username: "cpe-1"))
        #expect(await verify(header(opaque: nil)) == .authenticated(username: "cpe-1"))
        #expect(await verify(header(opaque: "changed")) == .rejected(.opaqueMismatch))
        #expect(await verify(header(algorithm: .sha256Session)) == .rejected(.unsupportedAlgorithm))
        #expect(await verify(header(qop: "auth-int")) == .rejected(.unsupportedQop))
        #expect(await verify(header().replacingOccurrences(of: "algorithm=SHA-256", with: "algorithm=SHA-512-256")) == .rejected(.unsupportedAlgorithm))
        #expect(await verify(header() + ", userhash=true") == .rejected(.unsupportedUserhash))
        guard case .rejected(.malformedHeader(let error)) = await verify(#"Digest username="cpe-1"#) else {
            Issue.record("malformed header not reported as such")
            return
        }
        #expect(error.code == .malformed)
    }

    @Test func basicGoodBadAndNotAllowed() async {
        let good = BasicCredentials(username: "cpe-1", password: "s3cret").headerValue
        #expect(await verify(good, basicAllowed: true) == .authenticated(username: "cpe-1"))
        #expect(await verify(good, basicAllowed: false) == .rejected(.basicNotAllowed))
        #expect(await verify(BasicCredentials(username: "cpe-1", password: "s3cret ").headerValue, basicAllowed: true) == .rejected(.wrongCredentials))
        #expect(await verify(BasicCredentials(username: "cpe-1", password: "").headerValue, basicAllowed: true) == .rejected(.wrongCredentials))
        #expect(await verify(BasicCredentials(username: "cpe-2", password: "s3cret").headerValue, basicAllowed: true) == .rejected(.wrongCredentials))
        #expect(await verify(BasicCredentials(username: "nobody", password: "s3cret").headerValue, basicAllowed: true) == .rejected(.unknownUser))
    }

    @Test func configurationAndCredentialsDoNotPrintSecrets() {
        #expect(!String(describing: server.configuration).contains("0123456789abcdef"))
        #expect(!String(describing: StoredCredential.password("s3cret")).contains("s3cret"))
        #expect(!String(describing: StoredCredential.md5HA1("939e7578ed9e3c518a452acee763bce9")).contains("939e"))
    }
}
