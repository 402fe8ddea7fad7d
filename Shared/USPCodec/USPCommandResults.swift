import BusContracts
import TwinfleetModel

/// Who reports a command result, and when (no clock is read here).
public struct USPResultContext: Hashable, Sendable {
    /// The ingress instance producing the result, e.g. `usp-ingress-0`.
    public var instanceID: String
    /// The delivery attempt the result belongs to (1 for the first).
    public var attempt: UInt32
    /// When the answer was received, in microseconds since the epoch.
    public var occurredAtUs: Int64

    /// Creates a context.
    public init(instanceID: String, attempt: UInt32, occurredAtUs: Int64) {
        self.instanceID = instanceID
        self.attempt = attempt
        self.occurredAtUs = occurredAtUs
    }
}

/// Turns an agent's answer to a command's request into the command's `CommandResult`:
///
/// - An Error message: FAILED with its code (7000 when the agent sent 0), message and parameter
///   errors as parameter faults; retriable for 7003 and 7005.
/// - GetResp (GetParameters, Refresh): SUCCEEDED; GetParameters carries the typed values in
///   `outputs.parameters` (Refresh's values go out as ParameterReport events instead, see
///   ``USPDeviceEvents/parameterReports(_:fullSyncRoot:reportID:commandID:maxParametersPerChunk:)``).
///   Any failed requested path makes it FAILED with one fault per failed path; the values that
///   were read stay in the outputs.
/// - SetResp: SUCCEEDED with the updated values, FAILED with every object and parameter error.
/// - AddResp: SUCCEEDED with `object_path`, `instance_number` and the unique keys as
///   `output_args`; FAILED when the object was not created, or when it was but some parameter
///   errors were reported (the outputs then still name the new instance).
/// - DeleteResp: SUCCEEDED (also when there was nothing to delete), FAILED on errors.
/// - OperateResp: FAILED if a command failed, IN_PROGRESS if one started asynchronously
///   (`outputs.object_path` = its Request object), SUCCEEDED with the output arguments otherwise.
/// - An answer of another kind than the request: FAILED with 1003.
public enum USPCommandResults {
    /// The result of `message` for `command`; nil for a Notify, which answers nothing.
    public static func result(for message: USPAgentMessage, command: Twinfleet_Bus_V1_Command, context: USPResultContext,
                              typeLookup: USPTypeLookup = USPParameterTyping.untyped) -> Twinfleet_Bus_V1_CommandResult? {
        switch message.body {
        case .notify: nil
        case .error(let error): result(for: error, command: command, context: context)
        case .response(let response): result(for: response, command: command, context: context, typeLookup: typeLookup)
        }
    }

    /// FAILED with the agent's Error message.
    public static func result(for error: USPErrorMessage, command: Twinfleet_Bus_V1_Command, context: USPResultContext) -> Twinfleet_Bus_V1_CommandResult {
        let code = error.code.rawValue == 0 ? USPErrorCode.messageFailed : error.code
        return failed(command, context, code: Int32(clamping: code.rawValue), message: error.message.isEmpty ? code.meaning : error.message,
                      retriable: code.isRetriable, faults: error.parameterErrors)
    }

    /// FAILED with 1007: the answer to the command's request could not be read.
    public static func result(for error: USPMessageError, command: Twinfleet_Bus_V1_Command, context: USPResultContext) -> Twinfleet_Bus_V1_CommandResult {
        failed(command, context, code: TwinfleetErrorCode.malformedResponse.rawValue, message: "\(error.code): \(error.message)", retriable: false)
    }

    /// FAILED with 1001 or 1004: the command could not be turned into a request.
    public static func result(for error: USPCommandError, command: Twinfleet_Bus_V1_Command, context: USPResultContext) -> Twinfleet_Bus_V1_CommandResult {
        var result = base(command, context, .failed)
        result.error = error.commandError
        return result
    }

    /// The result a response calls for (see the type's documentation).
    public static func result(for response: USPResponse, command: Twinfleet_Bus_V1_Command, context: USPResultContext,
                              typeLookup: USPTypeLookup = USPParameterTyping.untyped) -> Twinfleet_Bus_V1_CommandResult {
        switch (command.kind, response) {
        case (.getParameters?, .get(let get)):
            return getResult(get, command, context, includeValues: true, typeLookup: typeLookup)
        case (.refresh?, .get(let get)):
            return getResult(get, command, context, includeValues: false, typeLookup: typeLookup)
        case (.setParameters?, .set(let set)):
            return setResult(set, command, context, typeLookup: typeLookup)
        case (.addObject?, .add(let add)):
            return addResult(add, command, context)
        case (.deleteObject?, .delete(let delete)):
            return deleteResult(delete, command, context)
        case (.reboot?, .operate(let operate)), (.factoryReset?, .operate(let operate)), (.download?, .operate(let operate)),
             (.upload?, .operate(let operate)), (.operate?, .operate(let operate)):
            return operateResult(operate, command, context)
        default:
            return failed(command, context, code: TwinfleetErrorCode.protocolError.rawValue,
                          message: "\(expectedResponse(for: command)) expected, the agent sent a \(response.name)", retriable: false)
        }
    }

    /// The result an OperationComplete notification gives the command whose Operate started
    /// it: SUCCEEDED with the output arguments, or FAILED.
    public static func result(for completion: USPOperationComplete, command: Twinfleet_Bus_V1_Command, context: USPResultContext) -> Twinfleet_Bus_V1_CommandResult {
        switch completion.outcome {
        case .completed(let arguments):
            var result = base(command, context, .succeeded)
            result.outputs.outputArgs = arguments
            return result
        case .failure(let failure):
            return failed(command, context, code: Int32(clamping: failure.code.rawValue), message: failure.message.isEmpty ? failure.code.meaning : failure.message,
                          retriable: failure.code.isRetriable)
        }
    }

    /// The name of the response the command's request calls for, e.g. `GetResp`.
    public static func expectedResponse(for command: Twinfleet_Bus_V1_Command) -> String {
        switch command.kind {
        case .getParameters?, .refresh?: "GetResp"
        case .setParameters?: "SetResp"
        case .addObject?: "AddResp"
        case .deleteObject?: "DeleteResp"
        case .reboot?, .factoryReset?, .download?, .upload?, .operate?: "OperateResp"
        case .scheduleInform?, .setParameterAttributes?, nil: "no response"
        }
    }

    private static func getResult(_ get: USPGetResponse, _ command: Twinfleet_Bus_V1_Command, _ context: USPResultContext,
                                  includeValues: Bool, typeLookup: USPTypeLookup) -> Twinfleet_Bus_V1_CommandResult {
        let failures = get.failures
        var result = failures.isEmpty
            ? base(command, context, .succeeded)
            : failed(command, context, failures, summary: "\(failures.count) of \(get.results.count) requested paths failed")
        if includeValues {
            result.outputs.parameters = get.typedParameters(typeLookup: typeLookup).parameters
        }
        return result
    }

    private static func setResult(_ set: USPSetResponse, _ command: Twinfleet_Bus_V1_Command, _ context: USPResultContext,
                                  typeLookup: USPTypeLookup) -> Twinfleet_Bus_V1_CommandResult {
        var faults: [USPParameterError] = []
        var updated: [USPReportedParameter] = []
        for object in set.results {
            switch object.outcome {
            case .success(let instances):
                for instance in instances {
                    updated += instance.updatedParameters
                    faults += instance.parameterErrors
                }
            case .failure(let failure, let parameterErrors):
                faults.append(USPParameterError(path: object.requestedPath, code: failure.code, message: failure.message))
                faults += parameterErrors
            }
        }
        var result = faults.isEmpty ? base(command, context, .succeeded) : failed(command, context, faults, summary: "Set failed")
        result.outputs.parameters = USPParameterTyping.parameters(updated, typeLookup: typeLookup).parameters
        return result
    }

    private static func addResult(_ add: USPAddResponse, _ command: Twinfleet_Bus_V1_Command, _ context: USPResultContext) -> Twinfleet_Bus_V1_CommandResult {
        guard let created = add.results.first else {
            return failed(command, context, code: TwinfleetErrorCode.malformedResponse.rawValue, message: "AddResp without a result", retriable: false)
        }
        switch created.outcome {
        case .failure(let failure):
            return failed(command, context, [USPParameterError(path: created.requestedPath, code: failure.code, message: failure.message)], summary: "Add failed")
        case .success(let path, let uniqueKeys, let parameterErrors):
            var result = parameterErrors.isEmpty
                ? base(command, context, .succeeded)
                : failed(command, context, parameterErrors, summary: "object \(path) created, but some parameters were not set")
            result.outputs.objectPath = path.hasSuffix(".") || path.isEmpty ? path : path + "."
            result.outputs.instanceNumber = instanceNumber(of: path) ?? 0
            result.outputs.outputArgs = uniqueKeys
            return result
        }
    }

    private static func deleteResult(_ delete: USPDeleteResponse, _ command: Twinfleet_Bus_V1_Command, _ context: USPResultContext) -> Twinfleet_Bus_V1_CommandResult {
        guard !delete.results.isEmpty else {
            return failed(command, context, code: TwinfleetErrorCode.malformedResponse.rawValue, message: "DeleteResp without a result", retriable: false)
        }
        var faults: [USPParameterError] = []
        for object in delete.results {
            switch object.outcome {
            case .success(_, let unaffected): faults += unaffected
            case .failure(let failure): faults.append(USPParameterError(path: object.requestedPath, code: failure.code, message: failure.message))
            }
        }
        var result = faults.isEmpty ? base(command, context, .succeeded) : failed(command, context, faults, summary: "Delete failed")
        result.outputs.objectPath = delete.results[0].requestedPath
        return result
    }

    private static func operateResult(_ operate: USPOperateResponse, _ command: Twinfleet_Bus_V1_Command, _ context: USPResultContext) -> Twinfleet_Bus_V1_CommandResult {
        var faults: [USPParameterError] = []
        var requestPath: String?
        var arguments: [String: String] = [:]
        for operation in operate.results {
            switch operation.outcome {
            case .failure(let failure): faults.append(USPParameterError(path: operation.executedCommand, code: failure.code, message: failure.message))
            case .started(let path): requestPath = requestPath ?? path
            case .completed(let output): arguments.merge(output) { first, _ in first }
            }
        }
        if !faults.isEmpty {
            return failed(command, context, faults, summary: "command failed")
        }
        if let requestPath {
            var result = base(command, context, .inProgress)
            result.outputs.objectPath = requestPath
            return result
        }
        var result = base(command, context, .succeeded)
        result.outputs.outputArgs = arguments
        return result
    }

    /// FAILED with the first fault's code and every fault listed; the message is the first
    /// fault's message (or its code's meaning) after `summary`.
    public static func failed(_ command: Twinfleet_Bus_V1_Command, _ context: USPResultContext, _ faults: [USPParameterError], summary: String) -> Twinfleet_Bus_V1_CommandResult {
        let first = faults[0]
        let code = first.code.rawValue == 0 ? USPErrorCode.messageFailed : first.code
        let detail = first.message.isEmpty ? code.meaning : first.message
        return failed(command, context, code: Int32(clamping: code.rawValue), message: "\(summary): \(first.path): \(detail)",
                      retriable: faults.allSatisfy { $0.code.isRetriable }, faults: faults)
    }

    /// FAILED with `code` and `message`.
    public static func failed(_ command: Twinfleet_Bus_V1_Command, _ context: USPResultContext, code: Int32, message: String,
                               retriable: Bool, faults: [USPParameterError] = []) -> Twinfleet_Bus_V1_CommandResult {
        var result = base(command, context, .failed)
        result.error.code = code
        result.error.message = message
        result.error.retriable = retriable
        result.error.parameterFaults = faults.map { fault in
            var proto = Twinfleet_Bus_V1_ParameterFault()
            proto.path = fault.path
            proto.code = Int32(clamping: fault.code.rawValue)
            proto.message = fault.message
            return proto
        }
        return result
    }

    /// A result of `command` with `status` and nothing else.
    public static func base(_ command: Twinfleet_Bus_V1_Command, _ context: USPResultContext, _ status: Twinfleet_Bus_V1_CommandStatus) -> Twinfleet_Bus_V1_CommandResult {
        var result = Twinfleet_Bus_V1_CommandResult()
        result.commandID = command.commandID
        result.deviceID = command.deviceID
        result.tenantID = command.tenantID
        result.instanceID = context.instanceID
        result.occurredAtUs = context.occurredAtUs
        result.attempt = context.attempt
        result.status = status
        return result
    }

    /// The instance number at the end of an instance path (`Device.WiFi.SSID.3.` → 3).
    static func instanceNumber(of path: String) -> UInt32? {
        path.split(separator: ".").last.flatMap { UInt32($0) }
    }
}
