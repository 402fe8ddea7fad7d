#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import SwiftProtobuf

/// Writes the USP Records this controller sends: NoSessionContext records around USP Msgs, the
/// WebSocketConnect / MQTTConnect / STOMPConnect records announcing a connection, and
/// DisconnectRecords. Payload security is always PLAINTEXT (the transport is TLS).
public struct USPRecordEncoder: Sendable {
    /// This controller's endpoint ID, written as every record's `from_id`.
    public var controllerEndpointID: String
    /// The `version` written in every record.
    public var version: USPProtocolVersion

    /// Creates an encoder for the controller `controllerEndpointID`.
    public init(controllerEndpointID: String, version: USPProtocolVersion = .default) {
        self.controllerEndpointID = controllerEndpointID
        self.version = version
    }

    /// A NoSessionContext record carrying `message` to the agent `agentID`.
    public func encode(_ message: Usp_Msg, to agentID: String) throws(USPRecordError) -> [UInt8] {
        let payload: Data
        do {
            payload = try message.serializedBytes()
        } catch {
            throw USPRecordError(.encodingFailed, "USP Msg \(quoted(message.header.msgID)) could not be serialized: \(error)")
        }
        return try noSessionContext(payload: payload, to: agentID)
    }

    /// A NoSessionContext record carrying an already serialized USP Msg.
    public func noSessionContext(payload: Data, to agentID: String) throws(USPRecordError) -> [UInt8] {
        var body = UspRecord_NoSessionContextRecord()
        body.payload = payload
        return try serialize(.noSessionContext(body), to: agentID)
    }

    /// A WebSocketConnect record, sent when a controller opens a WebSocket to an agent.
    public func webSocketConnect(to agentID: String) throws(USPRecordError) -> [UInt8] {
        try serialize(.websocketConnect(UspRecord_WebSocketConnectRecord()), to: agentID)
    }

    /// An MQTTConnect record announcing the topic this controller listens on.
    public func mqttConnect(to agentID: String, version: USPMQTTVersion, subscribedTopic: String) throws(USPRecordError) -> [UInt8] {
        var body = UspRecord_MQTTConnectRecord()
        body.version = version == .v5 ? .v5 : .v311
        body.subscribedTopic = subscribedTopic
        return try serialize(.mqttConnect(body), to: agentID)
    }

    /// A STOMPConnect record announcing the destination this controller listens on.
    public func stompConnect(to agentID: String, subscribedDestination: String) throws(USPRecordError) -> [UInt8] {
        var body = UspRecord_STOMPConnectRecord()
        body.subscribedDestination = subscribedDestination
        return try serialize(.stompConnect(body), to: agentID)
    }

    /// A DisconnectRecord telling the agent why this controller is closing the connection.
    public func disconnect(to agentID: String, code: USPErrorCode, reason: String) throws(USPRecordError) -> [UInt8] {
        var body = UspRecord_DisconnectRecord()
        body.reasonCode = code.rawValue
        body.reason = reason
        return try serialize(.disconnect(body), to: agentID)
    }

    /// The DisconnectRecord a refused record calls for, or nil when its action is to ignore it.
    public func disconnect(answering error: USPRecordError) throws(USPRecordError) -> [UInt8]? {
        guard case .disconnect(let code) = error.action, let agentID = error.fromID else { return nil }
        return try disconnect(to: agentID, code: code, reason: error.message)
    }

    private func serialize(_ type: UspRecord_Record.OneOf_RecordType, to agentID: String) throws(USPRecordError) -> [UInt8] {
        var record = UspRecord_Record()
        record.version = version.description
        record.toID = agentID
        record.fromID = controllerEndpointID
        record.payloadSecurity = .plaintext
        record.recordType = type
        do {
            return try record.serializedBytes()
        } catch {
            throw USPRecordError(.encodingFailed, "USP Record to \(quoted(agentID)) could not be serialized: \(error)")
        }
    }
}
