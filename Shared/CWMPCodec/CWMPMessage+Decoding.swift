extension CWMPMessage {
    /// Decodes the body element `node`, choosing the RPC by its local name (its namespace and
    /// prefix are not checked: CPEs get them wrong and the name is unambiguous).
    init(decoding node: XMLNode) throws(CWMPCodecError) {
        switch node.name {
        case "Inform": self = .inform(try Inform(decoding: node))
        case "InformResponse": self = .informResponse(try InformResponse(decoding: node))
        case "TransferComplete": self = .transferComplete(try TransferComplete(decoding: node))
        case "TransferCompleteResponse": self = .transferCompleteResponse
        case "AutonomousTransferComplete": self = .autonomousTransferComplete(try AutonomousTransferComplete(decoding: node))
        case "AutonomousTransferCompleteResponse": self = .autonomousTransferCompleteResponse
        case "RequestDownload": self = .requestDownload(RequestDownload(decoding: node))
        case "RequestDownloadResponse": self = .requestDownloadResponse
        case "Kicked": self = .kicked(Kicked(decoding: node))
        case "KickedResponse": self = .kickedResponse(KickedResponse(decoding: node))
        case "GetRPCMethods": self = .getRPCMethods
        case "GetRPCMethodsResponse": self = .getRPCMethodsResponse(GetRPCMethodsResponse(decoding: node))
        case "GetParameterValues": self = .getParameterValues(GetParameterValues(decoding: node))
        case "GetParameterValuesResponse": self = .getParameterValuesResponse(try GetParameterValuesResponse(decoding: node))
        case "SetParameterValues": self = .setParameterValues(try SetParameterValues(decoding: node))
        case "SetParameterValuesResponse": self = .setParameterValuesResponse(try SetParameterValuesResponse(decoding: node))
        case "GetParameterNames": self = .getParameterNames(try GetParameterNames(decoding: node))
        case "GetParameterNamesResponse": self = .getParameterNamesResponse(try GetParameterNamesResponse(decoding: node))
        case "GetParameterAttributes": self = .getParameterAttributes(GetParameterAttributes(decoding: node))
        case "GetParameterAttributesResponse": self = .getParameterAttributesResponse(try GetParameterAttributesResponse(decoding: node))
        case "SetParameterAttributes": self = .setParameterAttributes(try SetParameterAttributes(decoding: node))
        case "SetParameterAttributesResponse": self = .setParameterAttributesResponse
        case "AddObject": self = .addObject(AddObject(decoding: node))
        case "AddObjectResponse": self = .addObjectResponse(try AddObjectResponse(decoding: node))
        case "DeleteObject": self = .deleteObject(DeleteObject(decoding: node))
        case "DeleteObjectResponse": self = .deleteObjectResponse(try DeleteObjectResponse(decoding: node))
        case "Reboot": self = .reboot(Reboot(decoding: node))
        case "RebootResponse": self = .rebootResponse
        case "FactoryReset": self = .factoryReset
        case "FactoryResetResponse": self = .factoryResetResponse
        case "Download": self = .download(try Download(decoding: node))
        case "DownloadResponse": self = .downloadResponse(try TransferResponse(decoding: node))
        case "Upload": self = .upload(try Upload(decoding: node))
        case "UploadResponse": self = .uploadResponse(try TransferResponse(decoding: node))
        case "ScheduleInform": self = .scheduleInform(try ScheduleInform(decoding: node))
        case "ScheduleInformResponse": self = .scheduleInformResponse
        case "ScheduleDownload": self = .scheduleDownload(try ScheduleDownload(decoding: node))
        case "ScheduleDownloadResponse": self = .scheduleDownloadResponse
        case "CancelTransfer": self = .cancelTransfer(CancelTransfer(decoding: node))
        case "CancelTransferResponse": self = .cancelTransferResponse
        case "Fault": self = .fault(try CWMPFault(decoding: node))
        default:
            throw CWMPCodecError(.unknownMethod, "method \(CWMPCodecError.quote(node.name)) is not supported", offset: node.offset)
        }
    }

    /// Writes the body element: `<cwmp:Name>…</cwmp:Name>`, or the SOAP fault.
    func encode(into writer: inout XMLWriter) {
        if case .fault(let fault) = self {
            fault.encode(into: &writer)
            return
        }
        writer.raw("<cwmp:")
        writer.raw(methodName)
        writer.raw(">")
        switch self {
        case .inform(let message): message.encode(into: &writer)
        case .informResponse(let message): message.encode(into: &writer)
        case .transferComplete(let message): message.encode(into: &writer)
        case .autonomousTransferComplete(let message): message.encode(into: &writer)
        case .requestDownload(let message): message.encode(into: &writer)
        case .kicked(let message): message.encode(into: &writer)
        case .kickedResponse(let message): message.encode(into: &writer)
        case .getRPCMethodsResponse(let message): message.encode(into: &writer)
        case .getParameterValues(let message): message.encode(into: &writer)
        case .getParameterValuesResponse(let message): message.encode(into: &writer)
        case .setParameterValues(let message): message.encode(into: &writer)
        case .setParameterValuesResponse(let message): message.encode(into: &writer)
        case .getParameterNames(let message): message.encode(into: &writer)
        case .getParameterNamesResponse(let message): message.encode(into: &writer)
        case .getParameterAttributes(let message): message.encode(into: &writer)
        case .getParameterAttributesResponse(let message): message.encode(into: &writer)
        case .setParameterAttributes(let message): message.encode(into: &writer)
        case .addObject(let message): message.encode(into: &writer)
        case .addObjectResponse(let message): message.encode(into: &writer)
        case .deleteObject(let message): message.encode(into: &writer)
        case .deleteObjectResponse(let message): message.encode(into: &writer)
        case .reboot(let message): message.encode(into: &writer)
        case .download(let message): message.encode(into: &writer)
        case .downloadResponse(let message): message.encode(into: &writer)
        case .upload(let message): message.encode(into: &writer)
        case .uploadResponse(let message): message.encode(into: &writer)
        case .scheduleInform(let message): message.encode(into: &writer)
        case .scheduleDownload(let message): message.encode(into: &writer)
        case .cancelTransfer(let message): message.encode(into: &writer)
        case .transferCompleteResponse, .autonomousTransferCompleteResponse, .requestDownloadResponse,
             .getRPCMethods, .setParameterAttributesResponse, .rebootResponse, .factoryReset,
             .factoryResetResponse, .scheduleInformResponse, .scheduleDownloadResponse,
             .cancelTransferResponse, .fault:
            break
        }
        writer.raw("</cwmp:")
        writer.raw(methodName)
        writer.raw(">")
    }
}
