/// A topic and partition.
public struct TopicPartition: Hashable, Sendable, CustomStringConvertible {
    /// The topic name.
    public var topic: String
    /// The partition number.
    public var partition: Int32
    /// Creates a topic-partition.
    public init(topic: String, partition: Int32) {
        self.topic = topic
        self.partition = partition
    }
    public var description: String { "\(topic)[\(partition)]" }
}

/// One Kafka record header.
public struct KafkaHeader: Hashable, Sendable {
    /// Header name.
    public var key: String
    /// Header value (may be empty).
    public var value: [UInt8]
    /// Creates a header.
    public init(key: String, value: [UInt8]) {
        self.key = key
        self.value = value
    }
    /// Creates a header with a UTF-8 string value.
    public init(key: String, string: String) {
        self.init(key: key, value: Array(string.utf8))
    }
}

/// A record to produce. The key is the device ID on every Twinfleet topic.
public struct OutgoingRecord: Sendable {
    /// Destination topic.
    public var topic: String
    /// Record key; its murmur2 hash chooses the partition.
    public var key: [UInt8]?
    /// Record value.
    public var value: [UInt8]
    /// Headers.
    public var headers: [KafkaHeader]
    /// An explicit partition, bypassing the partitioner (nil: partition by key).
    public var partition: Int32?

    /// Creates a record.
    public init(topic: String, key: [UInt8]?, value: [UInt8], headers: [KafkaHeader] = [], partition: Int32? = nil) {
        self.topic = topic
        self.key = key
        self.value = value
        self.headers = headers
        self.partition = partition
    }

    /// Creates a record keyed by a string (the device ID).
    public init(topic: String, key: String, value: [UInt8], headers: [KafkaHeader] = []) {
        self.init(topic: topic, key: Array(key.utf8), value: value, headers: headers)
    }
}

/// Where a produced record was stored.
public struct DeliveryReport: Hashable, Sendable {
    /// The topic and partition the record went to.
    public var topicPartition: TopicPartition
    /// The record's offset in that partition.
    public var offset: Int64
}

/// A record read from Kafka.
public struct ConsumedRecord: Sendable {
    /// Topic the record came from.
    public var topic: String
    /// Partition the record came from.
    public var partition: Int32
    /// Offset of the record in its partition.
    public var offset: Int64
    /// Key (the device ID on Twinfleet topics).
    public var key: [UInt8]?
    /// Value.
    public var value: [UInt8]
    /// Headers.
    public var headers: [KafkaHeader]
    /// Broker or producer timestamp, milliseconds since the epoch, when known.
    public var timestampMilliseconds: Int64?

    /// Creates a record (tests and in-memory adapters use this).
    public init(
        topic: String, partition: Int32, offset: Int64, key: [UInt8]?, value: [UInt8],
        headers: [KafkaHeader] = [], timestampMilliseconds: Int64? = nil
    ) {
        self.topic = topic
        self.partition = partition
        self.offset = offset
        self.key = key
        self.value = value
        self.headers = headers
        self.timestampMilliseconds = timestampMilliseconds
    }

    /// The topic-partition of this record.
    public var topicPartition: TopicPartition { TopicPartition(topic: topic, partition: partition) }
    /// The key decoded as UTF-8, if any.
    public var keyString: String? { key.map { String(decoding: $0, as: UTF8.self) } }
    /// The first header with this name.
    public func header(_ name: String) -> [UInt8]? { headers.first { $0.key == name }?.value }
}

extension Sequence where Element == ConsumedRecord {
    /// Per partition, the offset after the last record: what to commit once they are processed.
    public var nextOffsets: [TopicPartition: Int64] {
        var next: [TopicPartition: Int64] = [:]
        for record in self { next[record.topicPartition] = Swift.max(next[record.topicPartition] ?? 0, record.offset + 1) }
        return next
    }
}
