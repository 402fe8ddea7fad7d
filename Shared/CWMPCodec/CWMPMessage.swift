/// One CWMP message: the single element inside a SOAP `Body`.
///
/// Requests and their responses of TR-069 Amendment 6 that the platform uses, in both directions
/// (the codec serves the ACS and the device simulator alike). Not supported, and refused as
/// ``CWMPCodecError/Code/unknownMethod`` (fault 8000): GetQueuedTransfers,
/// GetAllQueuedTransfers, SetVouchers, GetOptions, ChangeDUState, DUStateChangeComplete,
/// AutonomousDUStateChangeComplete.
public enum CWMPMessage: Hashable, Sendable {
    // CPE → ACS requests and the ACS's responses.
    /// `Inform`.
    case inform(Inform)
    /// `InformResponse`.
    case informResponse(InformResponse)
    /// `TransferComplete`.
    case transferComplete(TransferComplete)
    /// `TransferCompleteResponse`.
    case transferCompleteResponse
    /// `AutonomousTransferComplete`.
    case autonomousTransferComplete(AutonomousTransferComplete)
    /// `AutonomousTransferCompleteResponse`.
    case autonomousTransferCompleteResponse
    /// `RequestDownload`.
    case requestDownload(RequestDownload)
    /// `RequestDownloadResponse`.
    case requestDownloadResponse
    /// `Kicked`.
    case kicked(Kicked)
    /// `KickedResponse`.
    case kickedResponse(KickedResponse)

    // Either direction.
    /// `GetRPCMethods`.
    case getRPCMethods
    /// `GetRPCMethodsResponse`.
    case getRPCMethodsResponse(GetRPCMethodsResponse)

    // ACS → CPE requests and the CPE's responses.
    /// `GetParameterValues`.
    case getParameterValues(GetParameterValues)
    /// `GetParameterValuesResponse`.
    case getParameterValuesResponse(GetParameterValuesResponse)
    /// `SetParameterValues`.
    case setParameterValues(SetParameterValues)
    /// `SetParameterValuesResponse`.
    case setParameterValuesResponse(SetParameterValuesResponse)
    /// `GetParameterNames`.
    case getParameterNames(GetParameterNames)
    /// `GetParameterNamesResponse`.
    case getParameterNamesResponse(GetParameterNamesResponse)
    /// `GetParameterAttributes`.
    case getParameterAttributes(GetParameterAttributes)
    /// `GetParameterAttributesResponse`.
    case getParameterAttributesResponse(GetParameterAttributesResponse)
    /// `SetParameterAttributes`.
    case setParameterAttributes(SetParameterAttributes)
    /// `SetParameterAttributesResponse`.
    case setParameterAttributesResponse
    /// `AddObject`.
    case addObject(AddObject)
    /// `AddObjectResponse`.
    case addObjectResponse(AddObjectResponse)
    /// `DeleteObject`.
    case deleteObject(DeleteObject)
    /// `DeleteObjectResponse`.
    case deleteObjectResponse(DeleteObjectResponse)
    /// `Reboot`.
    case reboot(Reboot)
    /// `RebootResponse`.
    case rebootResponse
    /// `FactoryReset`.
    case factoryReset
    /// `FactoryResetResponse`.
    case factoryResetResponse
    /// `Download`.
    case download(Download)
    /// `DownloadResponse`.
    case downloadResponse(TransferResponse)
    /// `Upload`.
    case upload(Upload)
    /// `UploadResponse`.
    case uploadResponse(TransferResponse)
    /// `ScheduleInform`.
    case scheduleInform(ScheduleInform)
    /// `ScheduleInformResponse`.
    case scheduleInformResponse
    /// `ScheduleDownload`.
    case scheduleDownload(ScheduleDownload)
    /// `ScheduleDownloadResponse`.
    case scheduleDownloadResponse
    /// `CancelTransfer`.
    case cancelTransfer(CancelTransfer)
    /// `CancelTransferResponse`.
    case cancelTransferResponse

    /// A SOAP fault with a CWMP fault code, from either side.
    case fault(CWMPFault)

    /// The element name on the wire (`Inform`, `GetParameterValuesResponse`, `Fault`).
    public var methodName: String {
        switch self {
        case .inform: "Inform"
        case .informResponse: "InformResponse"
        case .transferComplete: "TransferComplete"
        case .transferCompleteResponse: "TransferCompleteResponse"
        case .autonomousTransferComplete: "AutonomousTransferComplete"
        case .autonomousTransferCompleteResponse: "AutonomousTransferCompleteResponse"
        case .requestDownload: "RequestDownload"
        case .requestDownloadResponse: "RequestDownloadResponse"
        case .kicked: "Kicked"
        case .kickedResponse: "KickedResponse"
        case .getRPCMethods: "GetRPCMethods"
        case .getRPCMethodsResponse: "GetRPCMethodsResponse"
        case .getParameterValues: "GetParameterValues"
        case .getParameterValuesResponse: "GetParameterValuesResponse"
        case .setParameterValues: "SetParameterValues"
        case .setParameterValuesResponse: "SetParameterValuesResponse"
        case .getParameterNames: "GetParameterNames"
        case .getParameterNamesResponse: "GetParameterNamesResponse"
        case .getParameterAttributes: "GetParameterAttributes"
        case .getParameterAttributesResponse: "GetParameterAttributesResponse"
        case .setParameterAttributes: "SetParameterAttributes"
        case .setParameterAttributesResponse: "SetParameterAttributesResponse"
        case .addObject: "AddObject"
        case .addObjectResponse: "AddObjectResponse"
        case .deleteObject: "DeleteObject"
        case .deleteObjectResponse: "DeleteObjectResponse"
        case .reboot: "Reboot"
        case .rebootResponse: "RebootResponse"
        case .factoryReset: "FactoryReset"
        case .factoryResetResponse: "FactoryResetResponse"
        case .download: "Download"
        case .downloadResponse: "DownloadResponse"
        case .upload: "Upload"
        case .uploadResponse: "UploadResponse"
        case .scheduleInform: "ScheduleInform"
        case .scheduleInformResponse: "ScheduleInformResponse"
        case .scheduleDownload: "ScheduleDownload"
        case .scheduleDownloadResponse: "ScheduleDownloadResponse"
        case .cancelTransfer: "CancelTransfer"
        case .cancelTransferResponse: "CancelTransferResponse"
        case .fault: "Fault"
        }
    }

    /// True for a SOAP fault.
    public var isFault: Bool {
        if case .fault = self { return true }
        return false
    }

    /// True for a response (or a fault, which stands in for one); false for a request.
    public var isResponse: Bool {
        isFault || methodName.hasSuffix("Response")
    }
}
