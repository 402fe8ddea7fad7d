import Foundation
import Testing
@testable import APIAccess

@Suite struct RoleTests {
    @Test func fieldTechnicianWorksOneDeviceAtATime() {
        let role = Role.fieldTechnician
        #expect(role.allows(.devicesRead) && role.allows(.commandsWrite))
        #expect(!role.allows(.fleetRead) && !role.allows(.bulkWrite) && !role.allows(.bulkRead) && !role.allows(.accessWrite))
    }

    @Test func auditorChangesNothing() {
        let writes: Set<Permission> = [.devicesWrite, .commandsWrite, .bulkWrite, .accessWrite, .webhooksWrite]
        #expect(Role.auditor.permissions.isDisjoint(with: writes))
        #expect(Role.auditor.allows(.auditRead))
    }

    @Test func nobodyGrantsMoreThanTheyHave() {
        for granter in Role.allCases {
            for granted in Role.allCases {
                let expected = granter.allows(.accessWrite) && granted.permissions.isSubset(of: granter.permissions)
                #expect(granter.mayGrant(granted) == expected, "\(granter) → \(granted)")
            }
        }
        #expect(Role.tenantAdmin.mayGrant(.tenantAdmin))
        #expect(!Role.nocOperator.mayGrant(.fieldTechnician), "operators cannot manage access at all")
    }
}

@Suite struct APIKeyTests {
    @Test func roundTripAndHash() throws {
        let key = APIKey.generate()
        let parsed = try #require(APIKey(parsing: key.text))
        #expect(parsed == key)
        #expect(parsed.matches(storedHash: key.secretHash))
        var other = key
        other.secret = APIKey.generate().secret
        #expect(!other.matches(storedHash: key.secretHash))
        #expect(key.id.count == 16 && key.secret.count == 43)
    }

    @Test func malformedKeysAreRefused() {
        for text in ["", "tfk_", "tfk_abc_def", "xyz_0123456789abcdef_" + String(repeating: "a", count: 43),
                     "tfk_0123456789ABCDEG_" + String(repeating: "a", count: 43), "tfk_0123456789abcdef_short",
                     "tfk_0123456789abcdef_" + String(repeating: "a", count: 40) + "+/="] {
            #expect(APIKey(parsing: text) == nil, "\(text)")
        }
    }

    @Test func generatedKeysDiffer() {
        let keys = Set((0..<200).map { _ in APIKey.generate().text })
        #expect(keys.count == 200)
    }
}

@Suite struct BearerTokenTests {
    let secret = "a-shared-secret-of-at-least-32-bytes!"
    var verifier: BearerTokenVerifier { BearerTokenVerifier(secret: secret, issuer: "idp", audience: "twinfleet")! }
    let now = Date(timeIntervalSince1970: 1_800_000_000)

    func claims(_ extra: [String: Any] = [:]) -> [String: Any] {
        var claims: [String: Any] = ["sub": "alice", "tenant": "acme", "role": "noc-operator", "iss": "idp", "aud": "twinfleet",
                                     "exp": 1_800_000_600, "nbf": 1_799_999_000]
        for (key, value) in extra { claims[key] = value }
        return claims
    }

    @Test func validTokenNamesTheCaller() throws {
        let caller = try verifier.verify(verifier.sign(claims: claims()), now: now)
        #expect(caller == Caller(userID: "alice", tenantID: "acme", role: .nocOperator))
        #expect(caller.rateLimitKey == "user:alice")
    }

    @Test func refusals() {
        let cases: [(String, String)] = [
            (verifier.sign(claims: claims(["exp": 1_799_999_000])), "expired"),
            (verifier.sign(claims: claims(["nbf": 1_800_001_000])), "not yet valid"),
            (verifier.sign(claims: claims(["iss": "other"])), "issuer"),
            (verifier.sign(claims: claims(["aud": ["x", "y"]])), "audience"),
            (verifier.sign(claims: claims(["role": "root"])), "role"),
            (verifier.sign(claims: claims(["tenant": ""])), "tenant"),
            (BearerTokenVerifier(secret: "another-secret-of-at-least-32-bytes!!")!.sign(claims: claims()), "signature"),
            ("a.b", "three"),
        ]
        for (token, reason) in cases {
            #expect(throws: TokenError.self, "\(reason)") { try verifier.verify(token, now: now) }
            do { _ = try verifier.verify(token, now: now) } catch { #expect(error.reason.contains(reason), "\(error.reason) ≠ \(reason)") }
        }
    }

    @Test func algNoneAndOtherAlgorithmsAreRefused() throws {
        let signed = verifier.sign(claims: claims())
        let parts = signed.split(separator: ".")
        let none = Data(#"{"alg":"none","typ":"JWT"}"#.utf8).base64URLEncoded
        #expect(throws: TokenError.self) { try verifier.verify("\(none).\(parts[1]).", now: now) }
        let rs = Data(#"{"alg":"RS256","typ":"JWT"}"#.utf8).base64URLEncoded
        #expect(throws: TokenError.self) { try verifier.verify("\(rs).\(parts[1]).\(parts[2])", now: now) }
        // A tampered payload fails the signature.
        let tampered = Data(#"{"sub":"alice","tenant":"acme","role":"tenant-admin","exp":1800000600}"#.utf8).base64URLEncoded
        #expect(throws: TokenError.self) { try verifier.verify("\(parts[0]).\(tampered).\(parts[2])", now: now) }
    }

    @Test func shortSecretsAreRefused() {
        #expect(BearerTokenVerifier(secret: "too-short") == nil)
    }
}

@Suite struct WebhookSignatureTests {
    @Test func signAndVerify() {
        let body = Array(#"{"event":"device.online"}"#.utf8)
        let time = Date(timeIntervalSince1970: 1_800_000_000)
        let header = WebhookSignature.header(body: body, secret: "whsec", time: time)
        #expect(header.hasPrefix("t=1800000000,v1="))
        #expect(WebhookSignature.verify(header: header, body: body, secret: "whsec", now: time.addingTimeInterval(10)))
        #expect(!WebhookSignature.verify(header: header, body: body + [32], secret: "whsec", now: time))
        #expect(!WebhookSignature.verify(header: header, body: body, secret: "other", now: time))
        #expect(!WebhookSignature.verify(header: header, body: body, secret: "whsec", now: time.addingTimeInterval(3600)), "stale")
    }
}

@Suite struct RateLimiterTests {
    @Test func burstThenRate() {
        let limiter = RateLimiter(perSecond: 2, burst: 3)
        let t0 = Date(timeIntervalSince1970: 1_000)
        #expect((0..<3).allSatisfy { _ in limiter.acquire("k", now: t0) == nil })
        #expect(limiter.acquire("k", now: t0) == 1, "the fourth request waits")
        #expect(limiter.acquire("other", now: t0) == nil, "buckets are per caller")
        #expect(limiter.acquire("k", now: t0.addingTimeInterval(0.5)) == nil, "half a second refills one token")
        #expect(limiter.acquire("k", now: t0.addingTimeInterval(0.5)) != nil)
        let slow = RateLimiter(perSecond: 0.1, burst: 1)
        #expect(slow.acquire("k", now: t0) == nil)
        #expect(slow.acquire("k", now: t0) == 10, "Retry-After is the wait for the next token")
    }
}
