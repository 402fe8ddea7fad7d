import Foundation
import HTTPAuth
import Testing

/// Signed nonces: what any pod sharing the secret accepts, and what nobody accepts.
@Suite struct StatelessNonceTests {
    static let t0 = Date(timeIntervalSince1970: 1_700_000_000.75)
    let issuer = StatelessNonceIssuer(secret: Array("pod secret".utf8), lifetime: 300, clockSkewTolerance: 30)

    @Test func shapeAndLifetime() {
        let nonce = issuer.nonce(realm: "r", at: Self.t0)
        #expect(nonce.utf8.count == 54)
        #expect(nonce.utf8.allSatisfy { $0 == UInt8(ascii: "-") || $0 == UInt8(ascii: "_") || (0x30...0x39).contains($0) || (0x41...0x5A).contains($0) || (0x61...0x7A).contains($0) })
        #expect(issuer.status(of: nonce, realm: "r", at: Self.t0) == .valid)
        #expect(issuer.status(of: nonce, realm: "r", at: Self.t0.addingTimeInterval(300)) == .valid)
        #expect(issuer.status(of: nonce, realm: "r", at: Self.t0.addingTimeInterval(301)) == .stale)
        #expect(issuer.status(of: nonce, realm: "r", at: Self.t0.addingTimeInterval(-30)) == .valid)
        #expect(issuer.status(of: nonce, realm: "r", at: Self.t0.addingTimeInterval(-31)) == .invalid)
        // Nonces change with time and realm, and only with them.
        #expect(issuer.nonce(realm: "r", at: Self.t0.addingTimeInterval(1)) != nonce)
        #expect(issuer.nonce(realm: "r2", at: Self.t0) != nonce)
        #expect(StatelessNonceIssuer(secret: Array("pod secret".utf8)).nonce(realm: "r", at: Self.t0) == nonce)
    }

    @Test func onlyTheRightSecretAndRealmAccept() {
        let nonce = issuer.nonce(realm: "r", at: Self.t0)
        #expect(issuer.status(of: nonce, realm: "other", at: Self.t0) == .invalid)
        #expect(StatelessNonceIssuer(secret: Array("other".utf8)).status(of: nonce, realm: "r", at: Self.t0) == .invalid)
        let rotated = StatelessNonceIssuer(secret: Array("new".utf8), previousSecrets: [Array("pod secret".utf8)])
        #expect(rotated.status(of: nonce, realm: "r", at: Self.t0) == .valid)
    }

    @Test func everySingleCharacterChangeIsRefused() {
        let nonce = Array(issuer.nonce(realm: "r", at: Self.t0).utf8)
        for index in nonce.indices {
            var tampered = nonce
            tampered[index] = tampered[index] == UInt8(ascii: "x") ? UInt8(ascii: "y") : UInt8(ascii: "x")
            let text = String(decoding: tampered, as: UTF8.self)
            #expect(issuer.status(of: text, realm: "r", at: Self.t0) == .invalid, "changed character \(index)")
        }
        for garbage in ["", "AAAA", String(decoding: nonce.dropLast(), as: UTF8.self), String(decoding: nonce, as: UTF8.self) + "A",
                        String(decoding: nonce, as: UTF8.self) + "==", String(repeating: "A", count: 10_000)] {
            #expect(issuer.status(of: garbage, realm: "r", at: Self.t0) == .invalid)
        }
    }
}
