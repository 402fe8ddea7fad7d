import CRdKafka

/// An error from the Kafka client: a librdkafka error code, a message, and where it was raised.
///
/// `description` never contains configuration values, so passwords in `sasl.password` cannot leak.
public struct KafkaError: Error, Sendable, CustomStringConvertible {
    /// What went wrong, in terms a caller can act on.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        fileprivate enum Base: String, Hashable, Sendable {
            case configuration, clientCreation, produce, delivery, subscribe, poll, commit,
                 assignment, admin, shutdown, timeout
        }
        fileprivate let base: Base
        /// A configuration property was refused by librdkafka.
        public static let configuration = Code(base: .configuration)
        /// `rd_kafka_new` failed.
        public static let clientCreation = Code(base: .clientCreation)
        /// A message could not be enqueued.
        public static let produce = Code(base: .produce)
        /// The broker did not acknowledge a message (delivery report carried an error).
        public static let delivery = Code(base: .delivery)
        /// Subscribing to topics failed.
        public static let subscribe = Code(base: .subscribe)
        /// Polling for messages returned an error.
        public static let poll = Code(base: .poll)
        /// Committing offsets failed.
        public static let commit = Code(base: .commit)
        /// Assigning, seeking, pausing or resuming partitions failed.
        public static let assignment = Code(base: .assignment)
        /// An admin operation (topic creation) failed.
        public static let admin = Code(base: .admin)
        /// The client is shut down.
        public static let shutdown = Code(base: .shutdown)
        /// An operation did not complete in time.
        public static let timeout = Code(base: .timeout)
        public var description: String { base.rawValue }
    }

    /// The category of the failure.
    public var code: Code
    /// librdkafka's error code, when there is one.
    public var librdkafkaCode: Int32?
    /// A human-readable explanation.
    public var message: String
    /// Whether retrying the same operation may succeed (librdkafka's own judgement where it gives one).
    public var isRetriable: Bool
    /// Where the error was raised.
    public var file: String
    /// Where the error was raised.
    public var line: Int

    /// Creates an error.
    public init(
        _ code: Code, message: String, librdkafkaCode: Int32? = nil, isRetriable: Bool = false,
        file: String = #fileID, line: Int = #line
    ) {
        self.code = code
        self.message = message
        self.librdkafkaCode = librdkafkaCode
        self.isRetriable = isRetriable
        self.file = file
        self.line = line
    }

    /// An error from a librdkafka response code.
    static func from(
        _ err: rd_kafka_resp_err_t, _ code: Code, context: String, file: String = #fileID, line: Int = #line
    ) -> KafkaError {
        let text = String(cString: rd_kafka_err2str(err))
        return KafkaError(
            code, message: "\(context): \(text)", librdkafkaCode: err.rawValue,
            isRetriable: Self.retriableCodes.contains(err), file: file, line: line)
    }

    /// An error from a librdkafka error object; destroys the object.
    static func consuming(
        _ error: OpaquePointer, _ code: Code, context: String, file: String = #fileID, line: Int = #line
    ) -> KafkaError {
        defer { rd_kafka_error_destroy(error) }
        let text = String(cString: rd_kafka_error_string(error))
        return KafkaError(
            code, message: "\(context): \(text)", librdkafkaCode: rd_kafka_error_code(error).rawValue,
            isRetriable: rd_kafka_error_is_retriable(error) != 0, file: file, line: line)
    }

    /// Response codes after which the same request may succeed.
    private static let retriableCodes: Set<rd_kafka_resp_err_t> = [
        RD_KAFKA_RESP_ERR__QUEUE_FULL, RD_KAFKA_RESP_ERR__TIMED_OUT, RD_KAFKA_RESP_ERR__MSG_TIMED_OUT,
        RD_KAFKA_RESP_ERR__TRANSPORT, RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN,
        RD_KAFKA_RESP_ERR_LEADER_NOT_AVAILABLE, RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION,
        RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT, RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS,
        RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS_AFTER_APPEND, RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART,
        RD_KAFKA_RESP_ERR_REBALANCE_IN_PROGRESS, RD_KAFKA_RESP_ERR_COORDINATOR_NOT_AVAILABLE,
        RD_KAFKA_RESP_ERR_NOT_COORDINATOR,
    ]

    public var description: String {
        "KafkaError(\(code), \(message)\(isRetriable ? ", retriable" : ""), at \(file):\(line))"
    }
}
