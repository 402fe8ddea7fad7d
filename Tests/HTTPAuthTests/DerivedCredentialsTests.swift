import HTTPAuth
import Testing

@Suite struct DerivedCredentialsTests {
    @Test func passwordsAreStablePerUsernameDistinctAcrossUsernamesAndRotate() throws {
        let secret = Array("a-credential-secret-of-32-bytes!".utf8)
        let credentials = try DerivedCredentials(secret: secret)
        let first = credentials.password(for: "S0001")
        #expect(first.count == 24)
        #expect(first == (try DerivedCredentials(secret: secret)).password(for: "S0001"))
        #expect(first != credentials.password(for: "S0002"))
        #expect(first.allSatisfy { $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" })
        // A new secret changes every password; the old one is still accepted while rotating.
        let rotated = try DerivedCredentials(secret: Array("another-secret-of-enough-bytes!!".utf8), previous: [secret])
        #expect(rotated.password(for: "S0001") != first)
        #expect(rotated.credentials(for: "S0001").contains(.password(first)))
        #expect(throws: HTTPAuthError.self) { try DerivedCredentials(secret: Array("short".utf8)) }
    }
}
