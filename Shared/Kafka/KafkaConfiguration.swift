import CRdKafka
import Foundation

/// librdkafka properties for one client, with the defaults Twinfleet relies on.
///
/// Every client uses `partitioner=murmur2_random` so that our partition numbers equal those of
/// Kafka's Java clients and of `KafkaPartitioner` (the shard router depends on that).
public struct KafkaConfiguration: Sendable {
    /// Raw librdkafka properties; later assignments win.
    public var properties: [String: String]

    /// A configuration for the given bootstrap servers (`host:port,host:port`).
    public init(brokers: String, clientID: String = "twinfleet") {
        properties = [
            "bootstrap.servers": brokers,
            "client.id": clientID,
            "partitioner": "murmur2_random",
            // The mock cluster and small dev setups have fewer than 3 brokers.
            "topic.metadata.refresh.interval.ms": "10000",
            // Records are small and latency counts (commands, session answers): no Nagle delay,
            // as Kafka's own clients do (TCP_NODELAY).
            "socket.nagle.disable": "true",
        ]
    }

    /// Sets one property.
    public subscript(key: String) -> String? {
        get { properties[key] }
        set { properties[key] = newValue }
    }

    /// Builds a librdkafka configuration object; the caller owns it until `rd_kafka_new` takes it.
    func makeConf() throws(KafkaError) -> OpaquePointer {
        guard let conf = rd_kafka_conf_new() else {
            throw KafkaError(.configuration, message: "rd_kafka_conf_new returned NULL")
        }
        var errstr = [CChar](repeating: 0, count: 512)
        for (key, value) in properties.sorted(by: { $0.key < $1.key }) {
            if rd_kafka_conf_set(conf, key, value, &errstr, errstr.count) != RD_KAFKA_CONF_OK {
                rd_kafka_conf_destroy(conf)
                // The value is left out on purpose: it may be a credential.
                let reason = String(decoding: errstr.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
                throw KafkaError(.configuration, message: "property \(key) refused: \(reason)")
            }
        }
        routeLogs(conf)
        return conf
    }
}

/// Creates a librdkafka client handle, turning failures into `KafkaError`.
func makeClient(type: rd_kafka_type_t, conf: OpaquePointer) throws(KafkaError) -> OpaquePointer {
    var errstr = [CChar](repeating: 0, count: 512)
    guard let handle = rd_kafka_new(type, conf, &errstr, errstr.count) else {
        rd_kafka_conf_destroy(conf)
        let reason = String(decoding: errstr.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        throw KafkaError(.clientCreation, message: reason)
    }
    return handle
}

import TwinfleetConfig

extension ConfigKey {
    /// Bootstrap servers.
    public static let kafkaBrokers = ConfigKey("kafka.brokers", default: "127.0.0.1:9092", "Kafka bootstrap servers, `host:port` comma-separated")
    /// Partition count for topics we create.
    public static let kafkaPartitions = ConfigKey("kafka.partitions", default: "12", "Partitions per device-keyed topic (P in `murmur2(device) mod P`); must equal the topics' real partition count")
    /// Extra librdkafka properties.
    public static let kafkaProperties = ConfigKey("kafka.properties", default: "", "Extra librdkafka properties, `key=value;key=value` (e.g. security.protocol=ssl)")
    /// The keys of this module, for the documented table.
    public static let kafkaKeys: [ConfigKey] = [.kafkaBrokers, .kafkaPartitions, .kafkaProperties]
}

extension KafkaConfiguration {
    /// A configuration from `kafka.*` keys.
    public init(config: ServiceConfig, clientID: String) throws(ConfigError) {
        self.init(brokers: try config.string(.kafkaBrokers), clientID: clientID)
        for pair in try config.string(.kafkaProperties).split(separator: ";") {
            let parts = pair.split(separator: "=", maxSplits: 1).map { String($0).trimmingCharacters(in: .whitespaces) }
            guard parts.count == 2, !parts[0].isEmpty else {
                throw ConfigError(key: .kafkaProperties, reason: "entry without key=value")
            }
            properties[parts[0]] = parts[1]
        }
    }
}

import Logging

/// librdkafka's own log lines, routed into swift-log (structured, with the client name).
let librdkafkaLogger = Logger(label: "librdkafka")

/// Installs the log callback on a configuration.
func routeLogs(_ conf: OpaquePointer) {
    rd_kafka_conf_set_log_cb(conf) { handle, level, facility, message in
        let client = handle.map { String(cString: rd_kafka_name($0)) } ?? "?"
        let text = message.map { String(cString: $0) } ?? ""
        let metadata: Logger.Metadata = [KafkaLogKey.client: "\(client)", "kafka.facility": "\(facility.map { String(cString: $0) } ?? "")"]
        // syslog levels: 0-3 error, 4 warning, 5-6 info/notice, 7 debug.
        switch level {
        case ...3: librdkafkaLogger.error("\(text)", metadata: metadata)
        case 4: librdkafkaLogger.warning("\(text)", metadata: metadata)
        case 5...6: librdkafkaLogger.info("\(text)", metadata: metadata)
        default: librdkafkaLogger.debug("\(text)", metadata: metadata)
        }
    }
}
