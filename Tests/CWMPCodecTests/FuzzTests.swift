import CWMPCodec
import Testing

/// Random damage to real envelopes never crashes the decoder, and whatever still decodes
/// survives a build → parse round trip.
@Suite struct FuzzTests {
    /// SplitMix64: small, deterministic, good enough to spread mutations.
    struct Random {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        mutating func below(_ bound: Int) -> Int { Int(next() % UInt64(max(bound, 1))) }
    }

    static let interesting = Array("<>&;/\"'=!?[]#x:-\u{0} ".utf8) + [0x80, 0xC3, 0xFF, 0xEF, 0xBB, 0xBF]

    static func mutate(_ input: [UInt8], _ random: inout Random) -> [UInt8] {
        var bytes = input
        for _ in 0...random.below(4) {
            guard !bytes.isEmpty else { break }
            switch random.below(6) {
            case 0: bytes = Array(bytes.prefix(random.below(bytes.count)))
            case 1: bytes[random.below(bytes.count)] ^= UInt8(1 << random.below(8))
            case 2: bytes[random.below(bytes.count)] = interesting[random.below(interesting.count)]
            case 3: bytes.insert(interesting[random.below(interesting.count)], at: random.below(bytes.count))
            case 4: bytes.remove(at: random.below(bytes.count))
            default:
                let start = random.below(bytes.count)
                let end = min(bytes.count, start + random.below(64))
                bytes.insert(contentsOf: bytes[start..<end], at: random.below(bytes.count))
            }
        }
        return bytes
    }

    @Test func mutatedVectorsNeverCrash() throws {
        let vectors = try Fixtures.names.map { try Fixtures.bytes($0) }
        #expect(vectors.count >= 33)
        let decoder = CWMPDecoder()
        let encoder = CWMPEncoder()
        var random = Random(state: 0x5EED_CAFE)
        var decoded = 0, refused = 0
        for _ in 0..<5000 {
            let input = Self.mutate(vectors[random.below(vectors.count)], &random)
            do {
                let envelope = try decoder.decode(input)
                decoded += 1
                #expect(try decoder.decode(encoder.encode(envelope)) == envelope)
            } catch {
                refused += 1
                #expect(!error.message.isEmpty)
            }
        }
        // Both outcomes must occur, or the mutations are too weak (or too strong) to test anything.
        #expect(decoded > 100)
        #expect(refused > 100)
    }
}
