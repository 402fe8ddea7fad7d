import CMosquitto
import Foundation
import Logging
import NIOConcurrencyHelpers

/// An MQTT client over libmosquitto (Debian's libmosquitto-dev): MQTT 5 or 3.1.1, TLS,
/// reconnection with exponential backoff, subscriptions renewed on every reconnection, and
/// the PUBLISH properties USP needs (Response Topic, Content Type). libmosquitto runs its own
/// network thread; what arrives is handed over through ``events``.
public final class MQTTClient: @unchecked Sendable {
    /// How to reach the broker.
    public struct Configuration: Sendable {
        public var host: String
        public var port: Int
        public var clientID: String
        public var username: String?
        public var password: String?
        public var keepAliveSeconds: Int32 = 30
        /// MQTT 5 (default) or 3.1.1.
        public var version5: Bool = true
        /// CA file for TLS; TLS is on when it is set.
        public var tlsCAFile: String?
        /// Client certificate and key, for brokers that authenticate clients by certificate.
        public var tlsCertFile: String?
        public var tlsKeyFile: String?
        /// Reconnection backoff: first delay and cap, in seconds (doubling in between).
        public var reconnectDelay: (first: UInt32, max: UInt32) = (1, 30)

        public init(host: String, port: Int, clientID: String) {
            self.host = host
            self.port = port
            self.clientID = clientID
        }
    }

    /// A received PUBLISH.
    public struct Message: Sendable {
        public var topic: String
        public var payload: [UInt8]
        /// The MQTT 5 Response Topic property, when present.
        public var responseTopic: String?
    }

    /// What the client reports.
    public enum Event: Sendable {
        /// Connected (again); subscriptions are renewed.
        case connected
        /// The connection dropped (libmosquitto reconnects by itself) or was closed.
        case disconnected(reason: String)
        /// A message arrived.
        case message(Message)
    }

    /// Everything the client reports, in order.
    public let events: AsyncStream<Event>
    private let continuation: AsyncStream<Event>.Continuation
    private let handle: OpaquePointer
    private let configuration: Configuration
    private let subscriptions = NIOLockedValueBox<[(topic: String, qos: Int32)]>([])
    private let state = NIOLockedValueBox<(started: Bool, stopped: Bool, connected: Bool)>((false, false, false))
    private let logger: Logger

    private static let initialised: Bool = { mosquitto_lib_init() == 0 }()

    /// Creates a client; ``start()`` connects it.
    public init(configuration: Configuration, logger: Logger) throws(MQTTError) {
        _ = Self.initialised
        self.configuration = configuration
        self.logger = logger
        (events, continuation) = AsyncStream.makeStream(of: Event.self)
        guard let handle = mosquitto_new(configuration.clientID, true, nil) else {
            throw MQTTError("cannot create an MQTT client")
        }
        self.handle = handle
        mosquitto_user_data_set(handle, Unmanaged.passUnretained(self).toOpaque())
        try check(mosquitto_int_option(handle, MOSQ_OPT_PROTOCOL_VERSION, configuration.version5 ? MQTT_PROTOCOL_V5 : MQTT_PROTOCOL_V311), "protocol version")
        if let username = configuration.username {
            try check(mosquitto_username_pw_set(handle, username, configuration.password), "credentials")
        }
        if let ca = configuration.tlsCAFile {
            try check(mosquitto_tls_set(handle, ca, nil, configuration.tlsCertFile, configuration.tlsKeyFile, nil), "TLS")
        }
        try check(mosquitto_reconnect_delay_set(handle, configuration.reconnectDelay.first, configuration.reconnectDelay.max, true), "reconnect delay")
        mosquitto_connect_v5_callback_set(handle) { _, context, code, _, _ in
            guard let context else { return }
            Unmanaged<MQTTClient>.fromOpaque(context).takeUnretainedValue().connected(code: code)
        }
        mosquitto_disconnect_v5_callback_set(handle) { _, context, code, _ in
            guard let context else { return }
            Unmanaged<MQTTClient>.fromOpaque(context).takeUnretainedValue().disconnected(code: code)
        }
        mosquitto_message_v5_callback_set(handle) { _, context, message, properties in
            guard let context, let message else { return }
            Unmanaged<MQTTClient>.fromOpaque(context).takeUnretainedValue().received(message.pointee, properties: properties)
        }
    }

    deinit {
        mosquitto_destroy(handle)
    }

    /// Connects in the background; on failure it keeps retrying with backoff.
    public func start() throws(MQTTError) {
        let first = state.withLockedValue { state -> Bool in
            defer { state.started = true }
            return !state.started
        }
        guard first else { return }
        let code = mosquitto_connect_async(handle, configuration.host, Int32(configuration.port), configuration.keepAliveSeconds)
        if code != MOSQ_ERR_SUCCESS.rawValue {
            // The broker may come later: the network loop reconnects.
            logger.warning("MQTT broker not reachable yet", metadata: ["mqtt.error": "\(String(cString: mosquitto_strerror(code)))"])
        }
        try check(mosquitto_loop_start(handle), "network loop")
    }

    /// Subscribes now (when connected) and after every reconnection.
    public func subscribe(_ topic: String, qos: Int32 = 1) throws(MQTTError) {
        subscriptions.withLockedValue { $0.append((topic, qos)) }
        if state.withLockedValue({ $0.connected }) {
            try check(mosquitto_subscribe_v5(handle, nil, topic, qos, 0, nil), "subscribe \(topic)")
        }
    }

    /// Publishes `payload` to `topic`, with a Response Topic and Content Type (MQTT 5).
    public func publish(_ topic: String, payload: [UInt8], qos: Int32 = 1, responseTopic: String? = nil, contentType: String? = nil) throws(MQTTError) {
        var properties: OpaquePointer?
        defer { if properties != nil { mosquitto_property_free_all(&properties) } }
        if configuration.version5 {
            if let responseTopic { try check(mosquitto_property_add_string(&properties, Int32(MQTT_PROP_RESPONSE_TOPIC.rawValue), responseTopic), "response topic") }
            if let contentType { try check(mosquitto_property_add_string(&properties, Int32(MQTT_PROP_CONTENT_TYPE.rawValue), contentType), "content type") }
        }
        let code = payload.withUnsafeBytes { bytes in
            mosquitto_publish_v5(handle, nil, topic, Int32(bytes.count), bytes.baseAddress, qos, false, properties)
        }
        try check(code, "publish to \(topic)")
    }

    /// Disconnects and stops the network thread.
    public func stop() {
        let running = state.withLockedValue { state -> Bool in
            defer { state.stopped = true }
            return state.started && !state.stopped
        }
        guard running else { return }
        mosquitto_disconnect_v5(handle, 0, nil)
        mosquitto_loop_stop(handle, false)
        continuation.finish()
    }

    private func connected(code: Int32) {
        guard code == 0 else {
            logger.warning("MQTT connection refused", metadata: ["mqtt.reason": "\(code)"])
            return
        }
        state.withLockedValue { $0.connected = true }
        for (topic, qos) in subscriptions.withLockedValue({ $0 }) {
            let result = mosquitto_subscribe_v5(handle, nil, topic, qos, 0, nil)
            if result != MOSQ_ERR_SUCCESS.rawValue {
                logger.error("MQTT subscribe failed", metadata: ["mqtt.topic": "\(topic)", "mqtt.error": "\(String(cString: mosquitto_strerror(result)))"])
            }
        }
        continuation.yield(.connected)
    }

    private func disconnected(code: Int32) {
        state.withLockedValue { $0.connected = false }
        continuation.yield(.disconnected(reason: code == 0 ? "closed" : String(cString: mosquitto_strerror(code))))
    }

    private func received(_ message: mosquitto_message, properties: OpaquePointer?) {
        let topic = message.topic.map { String(cString: $0) } ?? ""
        let payload = message.payload.map { Array(UnsafeRawBufferPointer(start: $0, count: Int(message.payloadlen))) } ?? []
        var responseTopic: String?
        if let properties {
            var value: UnsafeMutablePointer<CChar>?
            if mosquitto_property_read_string(properties, Int32(MQTT_PROP_RESPONSE_TOPIC.rawValue), &value, false) != nil, let value {
                responseTopic = String(cString: value)
                free(value)
            }
        }
        continuation.yield(.message(Message(topic: topic, payload: payload, responseTopic: responseTopic)))
    }

    private func check(_ code: Int32, _ what: String) throws(MQTTError) {
        guard code == MOSQ_ERR_SUCCESS.rawValue else {
            throw MQTTError("\(what): \(String(cString: mosquitto_strerror(code)))")
        }
    }
}

/// An MQTT operation failed.
public struct MQTTError: Error, CustomStringConvertible {
    public let description: String
    init(_ description: String) { self.description = description }
}
