import BusContracts
import TwinfleetModel

/// The envelope fields of a device event, which the caller owns (IDs and time are passed in, not
/// made here).
public struct USPEventEnvelope: Hashable, Sendable {
    /// A unique ID for the event (a UUID).
    public var eventID: String
    /// The device: the agent's endpoint ID.
    public var deviceID: String
    /// The tenant that owns the device.
    public var tenantID: String
    /// When the ingress received the notification, in microseconds since the epoch.
    public var occurredAtUs: Int64
    /// The ingress instance, e.g. `usp-ingress-0`.
    public var sourceInstance: String
    /// The USP connection ID, or empty.
    public var sessionID: String

    /// Creates an envelope.
    public init(eventID: String, deviceID: String, tenantID: String, occurredAtUs: Int64, sourceInstance: String, sessionID: String = "") {
        self.eventID = eventID
        self.deviceID = deviceID
        self.tenantID = tenantID
        self.occurredAtUs = occurredAtUs
        self.sourceInstance = sourceInstance
        self.sessionID = sessionID
    }
}

/// Turns agent notifications and read values into Twinfleet device events:
///
/// | notification | device event |
/// |---|---|
/// | Event `Device.Boot!` | Boot (cause, command key, firmware updated, ParameterMap as typed parameters) |
/// | Event `Device.LocalAgent.TransferComplete!` | TransferComplete |
/// | ValueChange | ValueChange with one typed parameter |
/// | ObjectCreation | ObjectCreated (path with its trailing dot, unique keys) |
/// | ObjectDeletion | ObjectDeleted |
/// | OperationComplete | OperationComplete (the command's result comes from ``USPCommandResults``' `result(for:command:context:)` with the completion) |
/// | other events, OnBoardRequest | none (nil): the bus has no form for them |
public enum USPDeviceEvents {
    /// The event body a notification becomes; nil when the bus has no form for it.
    public static func body(for notify: USPNotify, typeLookup: USPTypeLookup = USPParameterTyping.untyped) throws(USPNotificationError) -> Twinfleet_Bus_V1_DeviceEvent.OneOf_Body? {
        switch notify.notification {
        case .event(let event):
            if let boot = try USPBootEvent(event) {
                var proto = Twinfleet_Bus_V1_Boot()
                proto.cause = boot.cause
                proto.commandKey = boot.commandKey
                proto.firmwareUpdated = boot.firmwareUpdated
                proto.parameters = try typed(boot.parameters, typeLookup: typeLookup, what: "Boot! ParameterMap")
                return .boot(proto)
            }
            if let transfer = try USPTransferCompleteEvent(event) {
                return .transferComplete(transferComplete(transfer))
            }
            return nil
        case .valueChange(let change):
            var proto = Twinfleet_Bus_V1_ValueChange()
            proto.parameters = try typed([change], typeLookup: typeLookup, what: "ValueChange")
            return .valueChange(proto)
        case .objectCreation(let path, let uniqueKeys):
            var proto = Twinfleet_Bus_V1_ObjectCreated()
            proto.path = try instancePath(path, what: "ObjectCreation")
            proto.uniqueKeys = uniqueKeys
            return .objectCreated(proto)
        case .objectDeletion(let path):
            var proto = Twinfleet_Bus_V1_ObjectDeleted()
            proto.path = try instancePath(path, what: "ObjectDeletion")
            return .objectDeleted(proto)
        case .operationComplete(let completion):
            var proto = Twinfleet_Bus_V1_OperationComplete()
            proto.commandPath = completion.commandPath
            proto.commandKey = completion.commandKey
            switch completion.outcome {
            case .completed(let arguments):
                var output = Twinfleet_Bus_V1_OperationComplete.OutputArgs()
                output.args = arguments
                proto.outputArgs = output
            case .failure(let failure):
                var output = Twinfleet_Bus_V1_OperationComplete.OperationFailure()
                output.code = failure.code.rawValue
                output.message = failure.message
                proto.failure = output
            }
            return .operationComplete(proto)
        case .onBoardRequest:
            return nil
        }
    }

    /// The device event a notification becomes; nil when the bus has no form for it.
    public static func event(for notify: USPNotify, envelope: USPEventEnvelope, typeLookup: USPTypeLookup = USPParameterTyping.untyped) throws(USPNotificationError) -> Twinfleet_Bus_V1_DeviceEvent? {
        try body(for: notify, typeLookup: typeLookup).map { event($0, envelope: envelope) }
    }

    /// A USP device event with `body`.
    public static func event(_ body: Twinfleet_Bus_V1_DeviceEvent.OneOf_Body, envelope: USPEventEnvelope) -> Twinfleet_Bus_V1_DeviceEvent {
        var event = Twinfleet_Bus_V1_DeviceEvent()
        event.eventID = envelope.eventID
        event.deviceID = envelope.deviceID
        event.tenantID = envelope.tenantID
        event.protocol = .usp
        event.occurredAtUs = envelope.occurredAtUs
        event.sourceInstance = envelope.sourceInstance
        event.sessionID = envelope.sessionID
        event.body = body
        return event
    }

    /// Values read from the device as ParameterReport chunks of at most
    /// `maxParametersPerChunk` parameters; there is always at least one (an empty report with a
    /// `fullSyncRoot` still tells the twin the subtree is now empty). For a Refresh, pass its path
    /// as `fullSyncRoot`; for a GetParameters, pass an empty root (merge only).
    public static func parameterReports(_ parameters: [Twinfleet_Bus_V1_Parameter], fullSyncRoot: String, reportID: String, commandID: String,
                                        maxParametersPerChunk: Int = 1000) -> [Twinfleet_Bus_V1_ParameterReport] {
        let size = max(1, maxParametersPerChunk)
        let chunkCount = max(1, (parameters.count + size - 1) / size)
        return (0..<chunkCount).map { index in
            var report = Twinfleet_Bus_V1_ParameterReport()
            report.parameters = Array(parameters[min(index * size, parameters.count)..<min((index + 1) * size, parameters.count)])
            report.fullSyncRoot = fullSyncRoot
            report.chunkIndex = UInt32(index)
            report.finalChunk = index == chunkCount - 1
            report.reportID = reportID
            report.commandID = commandID
            return report
        }
    }

    /// The bus form of a `TransferComplete!` event.
    static func transferComplete(_ transfer: USPTransferCompleteEvent) -> Twinfleet_Bus_V1_TransferComplete {
        var proto = Twinfleet_Bus_V1_TransferComplete()
        proto.commandKey = transfer.commandKey
        proto.faultCode = transfer.faultCode
        proto.faultString = transfer.faultString
        proto.startTimeUs = transfer.startTimeUs
        proto.completeTimeUs = transfer.completeTimeUs
        proto.autonomous = transfer.command.isEmpty
        proto.fileType = transfer.fileType
        proto.transferURL = transfer.transferURL
        proto.isDownload = transfer.isDownload
        return proto
    }

    /// Typed parameters, refusing the whole notification for a path consumers would refuse.
    private static func typed(_ reported: [USPReportedParameter], typeLookup: USPTypeLookup, what: String) throws(USPNotificationError) -> [Twinfleet_Bus_V1_Parameter] {
        let (parameters, unrepresentable) = USPParameterTyping.parameters(reported, typeLookup: typeLookup)
        if let bad = unrepresentable.first {
            throw USPNotificationError(.invalidPath, "\(what): \(quoted(bad.path)) is not a valid parameter path")
        }
        return parameters
    }

    /// A valid instance path, with the trailing dot supplied when the agent left it out.
    private static func instancePath(_ text: String, what: String) throws(USPNotificationError) -> String {
        let withDot = text.hasSuffix(".") ? text : text + "."
        do {
            return try ParameterPath(validating: withDot).rawValue
        } catch {
            throw USPNotificationError(.invalidPath, "\(what) obj_path: \(error.message)")
        }
    }
}
