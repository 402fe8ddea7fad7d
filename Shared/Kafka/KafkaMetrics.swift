import Metrics

/// Client metrics, labelled by topic (and partition for lag). Names follow Prometheus conventions.
struct KafkaMetrics: Sendable {
    static func produced(_ topic: String) -> Counter {
        Counter(label: "twinfleet_kafka_produced_total", dimensions: [("topic", topic)])
    }
    static func consumed(_ topic: String) -> Counter {
        Counter(label: "twinfleet_kafka_consumed_total", dimensions: [("topic", topic)])
    }
    static func errors(_ operation: String) -> Counter {
        Counter(label: "twinfleet_kafka_errors_total", dimensions: [("operation", operation)])
    }
    static func lag(_ tp: TopicPartition, group: String) -> Gauge {
        Gauge(
            label: "twinfleet_kafka_consumer_lag",
            dimensions: [("topic", tp.topic), ("partition", String(tp.partition)), ("group", group)])
    }
    static func deliveryLatency(_ topic: String) -> Timer {
        Timer(label: "twinfleet_kafka_delivery_seconds", dimensions: [("topic", topic)], preferredDisplayUnit: .seconds)
    }
}
