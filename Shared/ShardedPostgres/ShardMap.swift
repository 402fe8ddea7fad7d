import Kafka

/// Where each partition's rows live: `shard(device) = shardOf[partition(device)]`.
///
/// Partitions are virtual shards (Kafka's, `murmur2(deviceID) mod P`); databases are physical
/// shards. The default is `partition mod S`; moved partitions are recorded as overrides (kept in
/// the control database's `partition_shards` table), so moving a partition means copying its rows
/// and flipping one entry.
public struct ShardMap: Sendable, Equatable, CustomStringConvertible {
    /// P: partitions of every device-keyed topic.
    public let partitionCount: Int32
    /// S: number of physical shards.
    public let shardCount: Int
    /// Partitions whose shard differs from the default.
    public private(set) var overrides: [Int32: Int]

    /// A map; fails if a count is not positive or an override points outside the shards.
    public init(partitionCount: Int32, shardCount: Int, overrides: [Int32: Int] = [:]) throws(ShardMapError) {
        guard partitionCount > 0 else { throw ShardMapError("partition count must be positive, got \(partitionCount)") }
        guard shardCount > 0 else { throw ShardMapError("shard count must be positive, got \(shardCount)") }
        self.partitionCount = partitionCount
        self.shardCount = shardCount
        self.overrides = [:]
        for (partition, shard) in overrides { try setShard(shard, forPartition: partition) }
    }

    /// The shard holding a partition.
    public func shard(forPartition partition: Int32) -> Int {
        precondition(partition >= 0 && partition < partitionCount, "partition \(partition) outside 0..<\(partitionCount)")
        return overrides[partition] ?? Int(partition) % shardCount
    }

    /// The partition of a device (Kafka's partition for its ID as record key).
    public func partition(forDevice deviceID: String) -> Int32 {
        KafkaPartitioner.partition(forKey: deviceID, partitionCount: partitionCount)
    }

    /// The shard of a device.
    public func shard(forDevice deviceID: String) -> Int {
        shard(forPartition: partition(forDevice: deviceID))
    }

    /// The partitions stored on a shard.
    public func partitions(onShard shard: Int) -> [Int32] {
        (0..<partitionCount).filter { self.shard(forPartition: $0) == shard }
    }

    /// Records that a partition now lives on another shard.
    public mutating func setShard(_ shard: Int, forPartition partition: Int32) throws(ShardMapError) {
        guard partition >= 0 && partition < partitionCount else {
            throw ShardMapError("partition \(partition) outside 0..<\(partitionCount)")
        }
        guard shard >= 0 && shard < shardCount else { throw ShardMapError("shard \(shard) outside 0..<\(shardCount)") }
        overrides[partition] = shard == Int(partition) % shardCount ? nil : shard
    }

    public var description: String {
        "ShardMap(P=\(partitionCount), S=\(shardCount), moved=\(overrides.sorted { $0.key < $1.key }.map { "\($0.key)→\($0.value)" }))"
    }
}

/// An impossible shard map.
public struct ShardMapError: Error, Sendable, CustomStringConvertible {
    /// Why.
    public let message: String
    init(_ message: String) { self.message = message }
    public var description: String { "ShardMapError: \(message)" }
}
