#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import SwiftProtobuf

/// Reads the USP Records agents send to this controller (binary protobuf, one per WebSocket
/// message or MQTT publish) and refuses, with a typed ``USPRecordError``, every record the
/// controller cannot act on. Never traps on any input.
public struct USPRecordDecoder: Sendable {
    /// This controller's endpoint ID; records addressed elsewhere are refused.
    public var controllerEndpointID: String
    /// Size and nesting limits.
    public var limits: USPLimits

    /// Creates a decoder for the controller `controllerEndpointID` (e.g. `self::twinfleet`).
    public init(controllerEndpointID: String, limits: USPLimits = .default) {
        self.controllerEndpointID = controllerEndpointID
        self.limits = limits
    }

    /// Decodes one record. `expectedSender` is the agent endpoint ID the transport already
    /// authenticated (WebSocket `eid` extension, MQTT client certificate), when there is one; a
    /// record from anyone else is refused.
    public func decode(_ bytes: [UInt8], expectedSender: String? = nil) throws(USPRecordError) -> USPRecord {
        try decodeBytes(bytes, count: bytes.count, expectedSender: expectedSender)
    }

    /// Decodes one record from `Data`, as the `[UInt8]` overload does.
    public func decode(_ bytes: Data, expectedSender: String? = nil) throws(USPRecordError) -> USPRecord {
        try decodeBytes(bytes, count: bytes.count, expectedSender: expectedSender)
    }

    private func decodeBytes(_ bytes: some SwiftProtobufContiguousBytes, count: Int, expectedSender: String?) throws(USPRecordError) -> USPRecord {
        guard count <= limits.maxRecordBytes else {
            throw USPRecordError(.tooLarge, "record of \(count) bytes exceeds the limit of \(limits.maxRecordBytes)")
        }
        let record: UspRecord_Record
        do {
            var options = BinaryDecodingOptions()
            options.messageDepthLimit = limits.maxNestingDepth
            record = try UspRecord_Record(serializedBytes: bytes, options: options)
        } catch {
            throw USPRecordError(.notProtobuf, "not a USP Record: \(error)")
        }
        return try check(record, expectedSender: expectedSender)
    }

    /// Validates a parsed record and extracts its content.
    func check(_ record: UspRecord_Record, expectedSender: String?) throws(USPRecordError) -> USPRecord {
        let from = record.fromID
        guard !from.isEmpty else {
            throw USPRecordError(.missingFromID, "record has no from_id")
        }
        if let expectedSender, expectedSender != from {
            throw USPRecordError(.unexpectedSender, "record from_id \(quoted(from)) is not the connected agent \(quoted(expectedSender))", fromID: from)
        }
        guard !record.toID.isEmpty else {
            throw USPRecordError(.missingToID, "record from \(quoted(from)) has no to_id", fromID: from)
        }
        guard record.toID == controllerEndpointID else {
            throw USPRecordError(.wrongRecipient, "record to_id \(quoted(record.toID)) is not this controller \(quoted(controllerEndpointID))", fromID: from)
        }
        guard let version = USPProtocolVersion(parsing: record.version) else {
            let what = record.version.isEmpty ? "has no version" : "has version \(quoted(record.version)), not major.minor"
            throw USPRecordError(.unsupportedVersion, "record \(what)", fromID: from)
        }
        guard version.major == 1 else {
            throw USPRecordError(.unsupportedVersion, "record version \(version) is not USP 1.x", fromID: from)
        }
        let content: USPRecord.Content
        switch record.recordType {
        case .noSessionContext(let body)?:
            guard record.payloadSecurity == .plaintext else {
                throw USPRecordError(.payloadSecurityNotSupported, "payload_security \(record.payloadSecurity.rawValue) without a session context (only PLAINTEXT is valid)", fromID: from)
            }
            guard !body.payload.isEmpty else {
                throw USPRecordError(.emptyPayload, "NoSessionContext record without a payload", fromID: from)
            }
            content = .message(body.payload)
        case .sessionContext?:
            throw USPRecordError(.sessionContextNotSupported, "SessionContext records (E2E sessions) are not supported by this controller", fromID: from)
        case .websocketConnect?:
            content = .webSocketConnect
        case .mqttConnect(let body)?:
            switch body.version {
            case .v311: content = .mqttConnect(version: .v3_1_1, subscribedTopic: body.subscribedTopic)
            case .v5: content = .mqttConnect(version: .v5, subscribedTopic: body.subscribedTopic)
            case .UNRECOGNIZED(let number):
                throw USPRecordError(.unsupportedRecordType, "MQTTConnect record with unknown MQTT version \(number)", fromID: from)
            }
        case .stompConnect(let body)?:
            content = .stompConnect(subscribedDestination: body.subscribedDestination)
        case .disconnect(let body)?:
            content = .disconnect(reason: body.reason, code: USPErrorCode(body.reasonCode))
        case .udsConnect?:
            throw USPRecordError(.unsupportedRecordType, "UDSConnect records are for USP Brokers, not controllers", fromID: from)
        case nil:
            let unknown = record.unknownFields.data.count
            let detail = unknown == 0 ? "no record type set" : "a record type this version does not know (\(unknown) bytes of unknown fields)"
            throw USPRecordError(.unsupportedRecordType, "record has \(detail)", fromID: from)
        }
        return USPRecord(version: version, toID: record.toID, fromID: from, content: content)
    }
}
