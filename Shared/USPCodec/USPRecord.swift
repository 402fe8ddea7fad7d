#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// A USP Record an agent sent, checked and reduced to what a controller acts on (TR-369 "USP
/// Record Encapsulation"). ``USPRecordDecoder`` makes one; ``USPRecordEncoder`` writes the records
/// a controller sends.
public struct USPRecord: Hashable, Sendable {
    /// What the record carries.
    public enum Content: Hashable, Sendable {
        /// A NoSessionContext record: one serialized USP Msg (never empty), for
        /// ``USPMessageDecoder``.
        case message(Data)
        /// The agent opened a WebSocket connection (sent first on it, USP 1.1+).
        case webSocketConnect
        /// The agent connected to the MQTT broker and listens on `subscribedTopic`.
        case mqttConnect(version: USPMQTTVersion, subscribedTopic: String)
        /// The agent connected to the STOMP broker and listens on `subscribedDestination`.
        case stompConnect(subscribedDestination: String)
        /// The agent is closing the connection; the controller stops sending on it.
        case disconnect(reason: String, code: USPErrorCode)
    }

    /// The `version` field, e.g. `1.3`.
    public var version: USPProtocolVersion
    /// The recipient: the controller's endpoint ID.
    public var toID: String
    /// The sender: the agent's endpoint ID (Twinfleet's device ID for USP devices).
    public var fromID: String
    /// What the record carries.
    public var content: Content

    /// Creates a record.
    public init(version: USPProtocolVersion, toID: String, fromID: String, content: Content) {
        self.version = version
        self.toID = toID
        self.fromID = fromID
        self.content = content
    }
}

/// The MQTT version an agent announces in an MQTTConnectRecord.
public enum USPMQTTVersion: String, Hashable, Sendable, CaseIterable {
    /// MQTT 3.1.1 (protocol level 4).
    case v3_1_1 = "3.1.1"
    /// MQTT 5.0.
    case v5 = "5.0"
}

/// A USP protocol version `major.minor` as records and GetSupportedProtocol carry it (`1.3`).
public struct USPProtocolVersion: Hashable, Sendable, Comparable, CustomStringConvertible {
    /// The major version; this codec speaks 1.
    public var major: UInt32
    /// The minor version.
    public var minor: UInt32

    /// Creates a version.
    public init(major: UInt32, minor: UInt32) {
        self.major = major
        self.minor = minor
    }

    /// Reads `major.minor`: two decimal numbers without sign or spaces; nil for anything else.
    public init?(parsing text: String) {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 2,
              parts.allSatisfy({ !$0.isEmpty && $0.count <= 9 && $0.utf8.allSatisfy { $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") } }),
              let major = UInt32(parts[0]), let minor = UInt32(parts[1]) else {
            return nil
        }
        self.init(major: major, minor: minor)
    }

    /// USP 1.3.
    public static let v1_3 = USPProtocolVersion(major: 1, minor: 3)
    /// USP 1.4, the version of the protos this codec is generated from.
    public static let v1_4 = USPProtocolVersion(major: 1, minor: 4)

    /// The versions this controller speaks, oldest first (what GetSupportedProtocol announces).
    public static let supported: [USPProtocolVersion] = [.v1_3, .v1_4]

    /// What the controller writes in its records by default: the oldest version it speaks, so an
    /// agent that compares versions never meets one newer than it knows.
    public static let `default` = v1_3

    /// `1.3`.
    public var description: String { "\(major).\(minor)" }

    /// Orders by major, then minor.
    public static func < (lhs: USPProtocolVersion, rhs: USPProtocolVersion) -> Bool {
        (lhs.major, lhs.minor) < (rhs.major, rhs.minor)
    }
}

/// How much input the decoders accept.
public struct USPLimits: Hashable, Sendable {
    /// Largest accepted record, in bytes (default 4 MiB: a GetResp of a whole TR-181 tree is
    /// about 1 MiB). A larger record is ignored without being parsed.
    public var maxRecordBytes: Int
    /// Deepest accepted protobuf nesting (default 32; USP Msgs need 8).
    public var maxNestingDepth: Int

    /// Creates limits; every argument has the documented default.
    public init(maxRecordBytes: Int = 4 << 20, maxNestingDepth: Int = 32) {
        self.maxRecordBytes = maxRecordBytes
        self.maxNestingDepth = maxNestingDepth
    }

    /// The default limits.
    public static let `default` = USPLimits()
}
