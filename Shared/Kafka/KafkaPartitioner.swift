/// Kafka's default partitioner: `toPositive(murmur2(key)) % partitionCount`.
///
/// This equals the Java client's `DefaultPartitioner` for keyed records and librdkafka's
/// `murmur2` / `murmur2_random` partitioners, so every component agrees on where a device lives.
public enum KafkaPartitioner {
    /// The partition Kafka chooses for `key` among `partitionCount` partitions.
    public static func partition(forKey key: some Collection<UInt8>, partitionCount: Int32) -> Int32 {
        precondition(partitionCount > 0, "partition count must be positive")
        return Int32(bitPattern: murmur2(key) & 0x7fff_ffff) % partitionCount
    }

    /// The partition for a string key (UTF-8 bytes), e.g. a device ID.
    public static func partition(forKey key: String, partitionCount: Int32) -> Int32 {
        partition(forKey: Array(key.utf8), partitionCount: partitionCount)
    }

    /// Kafka's 32-bit murmur2 (seed 0x9747b28c), as in `org.apache.kafka.common.utils.Utils.murmur2`.
    public static func murmur2(_ key: some Collection<UInt8>) -> UInt32 {
        let data = Array(key)
        let length = data.count
        let seed: UInt32 = 0x9747_b28c
        let m: UInt32 = 0x5bd1_e995
        let r: UInt32 = 24
        var h: UInt32 = seed ^ UInt32(truncatingIfNeeded: length)
        let blocks = length / 4
        for i in 0..<blocks {
            let base = i * 4
            var k = UInt32(data[base]) | UInt32(data[base + 1]) << 8 | UInt32(data[base + 2]) << 16
                | UInt32(data[base + 3]) << 24
            k = k &* m
            k ^= k >> r
            k = k &* m
            h = h &* m
            h ^= k
        }
        let tail = blocks * 4
        switch length % 4 {
        case 3:
            h ^= UInt32(data[tail + 2]) << 16
            h ^= UInt32(data[tail + 1]) << 8
            h ^= UInt32(data[tail])
            h = h &* m
        case 2:
            h ^= UInt32(data[tail + 1]) << 8
            h ^= UInt32(data[tail])
            h = h &* m
        case 1:
            h ^= UInt32(data[tail])
            h = h &* m
        default:
            break
        }
        h ^= h >> 13
        h = h &* m
        h ^= h >> 15
        return h
    }
}
