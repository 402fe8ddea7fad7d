#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import SwiftProtobuf

/// Reads the USP Msgs agents send to this controller (the payload of a NoSessionContext record)
/// into typed values, refusing with a ``USPMessageError`` everything a controller cannot act on:
/// undecodable bytes, a header that does not match the body, requests only a controller or broker
/// serves, malformed notifications and responses. Never traps on any input.
public struct USPMessageDecoder: Sendable {
    /// Size and nesting limits.
    public var limits: USPLimits

    /// Creates a decoder.
    public init(limits: USPLimits = .default) {
        self.limits = limits
    }

    /// Decodes one serialized Msg.
    public func decode(_ payload: Data) throws(USPMessageError) -> USPAgentMessage {
        try decodeBytes(payload, count: payload.count)
    }

    /// Decodes one serialized Msg from bytes.
    public func decode(_ payload: [UInt8]) throws(USPMessageError) -> USPAgentMessage {
        try decodeBytes(payload, count: payload.count)
    }

    private func decodeBytes(_ bytes: some SwiftProtobufContiguousBytes, count: Int) throws(USPMessageError) -> USPAgentMessage {
        guard count <= limits.maxRecordBytes else {
            throw USPMessageError(.tooLarge, "Msg of \(count) bytes exceeds the limit of \(limits.maxRecordBytes)")
        }
        let message: Usp_Msg
        do {
            var options = BinaryDecodingOptions()
            options.messageDepthLimit = limits.maxNestingDepth
            message = try Usp_Msg(serializedBytes: bytes, options: options)
        } catch {
            throw USPMessageError(.notProtobuf, "not a USP Msg: \(error)")
        }
        return try decode(message)
    }

    /// Checks and types an already parsed Msg.
    public func decode(_ message: Usp_Msg) throws(USPMessageError) -> USPAgentMessage {
        let isRequest: Bool = if case .request? = message.body.msgBody { true } else { false }
        guard message.hasHeader else {
            throw USPMessageError(.missingHeader, "Msg has no header", isRequest: isRequest)
        }
        let msgID = message.header.msgID
        let type = message.header.msgType
        guard !msgID.isEmpty else {
            throw USPMessageError(.missingMsgID, "Msg header has no msg_id", isRequest: isRequest)
        }
        func mismatch(_ body: Usp_Header.MsgType) -> USPMessageError {
            USPMessageError(.typeMismatch, "header msg_type \(Self.name(type)) does not match a \(Self.name(body)) body", msgID: msgID, isRequest: isRequest)
        }
        guard message.hasBody, let body = message.body.msgBody else {
            throw USPMessageError(.missingBody, "Msg of type \(Self.name(type)) has no body", msgID: msgID, isRequest: isRequest)
        }
        switch body {
        case .error(let error):
            guard type == .error else { throw mismatch(.error) }
            return USPAgentMessage(msgID: msgID, body: .error(USPErrorMessage(error)))
        case .request(let request):
            guard let kind = request.reqType else {
                throw USPMessageError(.unsupportedRequest, "a request this version does not know (msg_type \(Self.name(type)))", msgID: msgID, isRequest: true)
            }
            let bodyType = Self.type(of: kind)
            guard type == bodyType else { throw mismatch(bodyType) }
            guard case .notify(let notify) = kind else {
                throw USPMessageError(.unsupportedRequest, "\(Self.name(bodyType)) is not a request a controller serves", msgID: msgID, isRequest: true)
            }
            return USPAgentMessage(msgID: msgID, body: .notify(try USPNotify(notify, msgID: msgID)))
        case .response(let response):
            guard let kind = response.respType else {
                throw USPMessageError(.unexpectedResponse, "a response this version does not know (msg_type \(Self.name(type)))", msgID: msgID)
            }
            let bodyType = Self.type(of: kind)
            guard type == bodyType else { throw mismatch(bodyType) }
            let typed: USPResponse
            switch kind {
            case .getResp(let resp): typed = .get(USPGetResponse(resp))
            case .setResp(let resp): typed = .set(try USPSetResponse(resp, msgID: msgID))
            case .addResp(let resp): typed = .add(try USPAddResponse(resp, msgID: msgID))
            case .deleteResp(let resp): typed = .delete(try USPDeleteResponse(resp, msgID: msgID))
            case .operateResp(let resp): typed = .operate(try USPOperateResponse(resp, msgID: msgID))
            case .getSupportedDmResp(let resp): typed = .getSupportedDM(USPSupportedDataModel(resp))
            case .getInstancesResp(let resp): typed = .getInstances(USPInstancesResponse(resp))
            case .getSupportedProtocolResp(let resp): typed = .getSupportedProtocol(agentSupportedProtocolVersions: resp.agentSupportedProtocolVersions)
            case .notifyResp, .registerResp, .deregisterResp:
                throw USPMessageError(.unexpectedResponse, "\(Self.name(bodyType)) is not a response an agent sends a controller", msgID: msgID)
            }
            return USPAgentMessage(msgID: msgID, body: .response(typed))
        }
    }

    static func type(of request: Usp_Request.OneOf_ReqType) -> Usp_Header.MsgType {
        switch request {
        case .get: .get
        case .getSupportedDm: .getSupportedDm
        case .getInstances: .getInstances
        case .set: .set
        case .add: .add
        case .delete: .delete
        case .operate: .operate
        case .notify: .notify
        case .getSupportedProtocol: .getSupportedProto
        case .register: .register
        case .deregister: .deregister
        }
    }

    static func type(of response: Usp_Response.OneOf_RespType) -> Usp_Header.MsgType {
        switch response {
        case .getResp: .getResp
        case .getSupportedDmResp: .getSupportedDmResp
        case .getInstancesResp: .getInstancesResp
        case .setResp: .setResp
        case .addResp: .addResp
        case .deleteResp: .deleteResp
        case .operateResp: .operateResp
        case .notifyResp: .notifyResp
        case .getSupportedProtocolResp: .getSupportedProtoResp
        case .registerResp: .registerResp
        case .deregisterResp: .deregisterResp
        }
    }

    /// The proto name of a message type, e.g. `GET_RESP`, or its number when unknown.
    static func name(_ type: Usp_Header.MsgType) -> String {
        switch type {
        case .error: "ERROR"
        case .get: "GET"
        case .getResp: "GET_RESP"
        case .notify: "NOTIFY"
        case .set: "SET"
        case .setResp: "SET_RESP"
        case .operate: "OPERATE"
        case .operateResp: "OPERATE_RESP"
        case .add: "ADD"
        case .addResp: "ADD_RESP"
        case .delete: "DELETE"
        case .deleteResp: "DELETE_RESP"
        case .getSupportedDm: "GET_SUPPORTED_DM"
        case .getSupportedDmResp: "GET_SUPPORTED_DM_RESP"
        case .getInstances: "GET_INSTANCES"
        case .getInstancesResp: "GET_INSTANCES_RESP"
        case .notifyResp: "NOTIFY_RESP"
        case .getSupportedProto: "GET_SUPPORTED_PROTO"
        case .getSupportedProtoResp: "GET_SUPPORTED_PROTO_RESP"
        case .register: "REGISTER"
        case .registerResp: "REGISTER_RESP"
        case .deregister: "DEREGISTER"
        case .deregisterResp: "DEREGISTER_RESP"
        case .UNRECOGNIZED(let number): "msg_type \(number)"
        }
    }
}
