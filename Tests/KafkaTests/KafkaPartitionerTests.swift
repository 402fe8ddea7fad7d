import Kafka
import Testing

@Suite struct KafkaPartitionerTests {
    /// Vectors from Apache Kafka's own murmur2 test (UtilsTest.testMurmur2).
    @Test func murmur2MatchesKafkaVectors() {
        let cases: [(String, Int32)] = [
            ("21", -973_932_308),
            ("foobar", -790_332_482),
            ("a-little-bit-long-string", -985_981_536),
            ("a-little-bit-longer-string", -1_486_304_829),
            ("lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8", -58_897_971),
            ("abc", 479_470_107),
        ]
        for (key, expected) in cases {
            #expect(Int32(bitPattern: KafkaPartitioner.murmur2(Array(key.utf8))) == expected, "murmur2(\(key))")
        }
    }

    @Test func partitionIsPositiveModulo() {
        // murmur2("21") is negative; Kafka masks the sign bit before the modulo.
        let hash = KafkaPartitioner.murmur2(Array("21".utf8))
        #expect(KafkaPartitioner.partition(forKey: "21", partitionCount: 12) == Int32(hash & 0x7fff_ffff) % 12)
        for count: Int32 in [1, 3, 12, 64] {
            for i in 0..<200 {
                let p = KafkaPartitioner.partition(forKey: "device-\(i)", partitionCount: count)
                #expect(p >= 0 && p < count)
            }
        }
    }
}
