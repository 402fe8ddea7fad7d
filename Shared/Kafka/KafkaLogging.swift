import Logging

/// Logger metadata keys used by the Kafka client, in one place.
public enum KafkaLogKey {
    /// The topic of a record or subscription.
    public static let topic = "kafka.topic"
    /// A partition number.
    public static let partition = "kafka.partition"
    /// An offset.
    public static let offset = "kafka.offset"
    /// The consumer group.
    public static let group = "kafka.group"
    /// The librdkafka client name.
    public static let client = "kafka.client"
    /// An error description.
    public static let error = "error"
}
