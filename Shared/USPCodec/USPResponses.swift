import BusContracts
import TwinfleetModel

/// A GetResp: per requested path, the objects it resolved to or why it failed.
public struct USPGetResponse: Hashable, Sendable {
    /// One requested path's result.
    public struct RequestedPath: Hashable, Sendable {
        /// The path as requested.
        public var requestedPath: String
        /// Why the path failed; nil on success.
        public var failure: USPFailure?
        /// The object instances the path resolved to, in the agent's order.
        public var resolvedObjects: [ResolvedObject]

        /// Creates a result.
        public init(requestedPath: String, failure: USPFailure?, resolvedObjects: [ResolvedObject]) {
            self.requestedPath = requestedPath
            self.failure = failure
            self.resolvedObjects = resolvedObjects
        }
    }

    /// One object instance and its parameters (names relative to it).
    public struct ResolvedObject: Hashable, Sendable {
        /// The object path, e.g. `Device.WiFi.SSID.1.`.
        public var path: String
        /// Parameter name (relative, e.g. `SSID` or `Stats.BytesSent`) → value.
        public var parameters: [String: String]

        /// Creates a resolved object.
        public init(path: String, parameters: [String: String]) {
            self.path = path
            self.parameters = parameters
        }
    }

    /// The results, in the order of the request's paths.
    public var results: [RequestedPath]

    /// Creates a response.
    public init(results: [RequestedPath]) {
        self.results = results
    }

    /// Every reported value with its full path, in the agent's object order and name order within
    /// an object; a path reported twice (overlapping requests) appears once.
    public var parameters: [USPReportedParameter] {
        var seen = Set<String>()
        var flat: [USPReportedParameter] = []
        for result in results {
            for object in result.resolvedObjects {
                for (name, text) in sortedEntries(object.parameters) {
                    let path = join(object.path, name)
                    if seen.insert(path).inserted { flat.append(USPReportedParameter(path: path, text: text)) }
                }
            }
        }
        return flat
    }

    /// The values typed for the bus (see ``USPParameterTyping/parameters(_:typeLookup:)``), and
    /// those whose paths cannot be represented, for the caller to count and log.
    public func typedParameters(typeLookup: USPTypeLookup = USPParameterTyping.untyped) -> (parameters: [Twinfleet_Bus_V1_Parameter], unrepresentable: [USPReportedParameter]) {
        USPParameterTyping.parameters(parameters, typeLookup: typeLookup)
    }

    /// The requested paths that failed, with why.
    public var failures: [USPParameterError] {
        results.compactMap { result in
            result.failure.map { USPParameterError(path: result.requestedPath, code: $0.code, message: $0.message) }
        }
    }

    init(_ proto: Usp_GetResp) {
        results = proto.reqPathResults.map { result in
            RequestedPath(
                requestedPath: result.requestedPath,
                failure: result.errCode == 0 ? nil : USPFailure(code: USPErrorCode(result.errCode), message: result.errMsg),
                resolvedObjects: result.resolvedPathResults.map { ResolvedObject(path: $0.resolvedPath, parameters: $0.resultParams) })
        }
    }
}

/// A SetResp: per updated object, the instances updated or why it failed.
public struct USPSetResponse: Hashable, Sendable {
    /// One object of the Set.
    public struct UpdatedObject: Hashable, Sendable {
        /// The object path as requested.
        public var requestedPath: String
        /// What happened to it.
        public var outcome: Outcome

        /// Creates a result.
        public init(requestedPath: String, outcome: Outcome) {
            self.requestedPath = requestedPath
            self.outcome = outcome
        }
    }

    /// What happened to one object of the Set.
    public enum Outcome: Hashable, Sendable {
        /// The instances were updated (some optional parameters may have failed).
        case success([UpdatedInstance])
        /// Nothing was updated; per-instance parameter errors say why, when the agent said.
        case failure(USPFailure, parameterErrors: [USPParameterError])
    }

    /// One instance that was updated.
    public struct UpdatedInstance: Hashable, Sendable {
        /// The instance path, e.g. `Device.WiFi.SSID.1.`.
        public var affectedPath: String
        /// The values now set, with full paths.
        public var updatedParameters: [USPReportedParameter]
        /// Optional (non-required) parameters that failed, with full paths.
        public var parameterErrors: [USPParameterError]

        /// Creates an updated instance.
        public init(affectedPath: String, updatedParameters: [USPReportedParameter], parameterErrors: [USPParameterError]) {
            self.affectedPath = affectedPath
            self.updatedParameters = updatedParameters
            self.parameterErrors = parameterErrors
        }
    }

    /// The results, in the request's order.
    public var results: [UpdatedObject]

    /// Creates a response.
    public init(results: [UpdatedObject]) {
        self.results = results
    }

    init(_ proto: Usp_SetResp, msgID: String) throws(USPMessageError) {
        var results: [UpdatedObject] = []
        for result in proto.updatedObjResults {
            let outcome: Outcome
            switch result.operStatus.operStatus {
            case .operSuccess(let success)?:
                outcome = .success(success.updatedInstResults.map { instance in
                    UpdatedInstance(
                        affectedPath: instance.affectedPath,
                        updatedParameters: sortedEntries(instance.updatedParams).map { USPReportedParameter(path: join(instance.affectedPath, $0.key), text: $0.value) },
                        parameterErrors: instance.paramErrs.map { USPParameterError(path: join(instance.affectedPath, $0.param), code: USPErrorCode($0.errCode), message: $0.errMsg) })
                })
            case .operFailure(let failure)?:
                let errors = failure.updatedInstFailures.flatMap { instance in
                    instance.paramErrs.map { USPParameterError(path: join(instance.affectedPath, $0.param), code: USPErrorCode($0.errCode), message: $0.errMsg) }
                }
                outcome = .failure(USPFailure(code: USPErrorCode(failure.errCode), message: failure.errMsg), parameterErrors: errors)
            case nil:
                throw USPMessageError(.invalidResponse, "SetResp result for \(quoted(result.requestedPath)) has no oper_status", msgID: msgID)
            }
            results.append(UpdatedObject(requestedPath: result.requestedPath, outcome: outcome))
        }
        self.results = results
    }
}

/// An AddResp: per created object, the new instance or why it failed.
public struct USPAddResponse: Hashable, Sendable {
    /// One object of the Add.
    public struct CreatedObject: Hashable, Sendable {
        /// The multi-instance object path as requested, e.g. `Device.WiFi.SSID.`.
        public var requestedPath: String
        /// What happened.
        public var outcome: Outcome

        /// Creates a result.
        public init(requestedPath: String, outcome: Outcome) {
            self.requestedPath = requestedPath
            self.outcome = outcome
        }
    }

    /// What happened to one object of the Add.
    public enum Outcome: Hashable, Sendable {
        /// The instance was created.
        case success(instantiatedPath: String, uniqueKeys: [String: String], parameterErrors: [USPParameterError])
        /// It was not.
        case failure(USPFailure)
    }

    /// The results, in the request's order.
    public var results: [CreatedObject]

    /// Creates a response.
    public init(results: [CreatedObject]) {
        self.results = results
    }

    init(_ proto: Usp_AddResp, msgID: String) throws(USPMessageError) {
        var results: [CreatedObject] = []
        for result in proto.createdObjResults {
            let outcome: Outcome
            switch result.operStatus.operStatus {
            case .operSuccess(let success)?:
                let path = success.instantiatedPath
                outcome = .success(
                    instantiatedPath: path, uniqueKeys: success.uniqueKeys,
                    parameterErrors: success.paramErrs.map { USPParameterError(path: join(path, $0.param), code: USPErrorCode($0.errCode), message: $0.errMsg) })
            case .operFailure(let failure)?:
                outcome = .failure(USPFailure(code: USPErrorCode(failure.errCode), message: failure.errMsg))
            case nil:
                throw USPMessageError(.invalidResponse, "AddResp result for \(quoted(result.requestedPath)) has no oper_status", msgID: msgID)
            }
            results.append(CreatedObject(requestedPath: result.requestedPath, outcome: outcome))
        }
        self.results = results
    }
}

/// A DeleteResp: per requested path, the instances deleted or why it failed.
public struct USPDeleteResponse: Hashable, Sendable {
    /// One path of the Delete.
    public struct DeletedObject: Hashable, Sendable {
        /// The path as requested.
        public var requestedPath: String
        /// What happened.
        public var outcome: Outcome

        /// Creates a result.
        public init(requestedPath: String, outcome: Outcome) {
            self.requestedPath = requestedPath
            self.outcome = outcome
        }
    }

    /// What happened to one path of the Delete.
    public enum Outcome: Hashable, Sendable {
        /// These instances were deleted (none when the object did not exist); the unaffected
        /// ones say why they were not.
        case success(affectedPaths: [String], unaffected: [USPParameterError])
        /// Nothing was deleted.
        case failure(USPFailure)
    }

    /// The results, in the request's order.
    public var results: [DeletedObject]

    /// Creates a response.
    public init(results: [DeletedObject]) {
        self.results = results
    }

    init(_ proto: Usp_DeleteResp, msgID: String) throws(USPMessageError) {
        var results: [DeletedObject] = []
        for result in proto.deletedObjResults {
            let outcome: Outcome
            switch result.operStatus.operStatus {
            case .operSuccess(let success)?:
                outcome = .success(
                    affectedPaths: success.affectedPaths,
                    unaffected: success.unaffectedPathErrs.map { USPParameterError(path: $0.unaffectedPath, code: USPErrorCode($0.errCode), message: $0.errMsg) })
            case .operFailure(let failure)?:
                outcome = .failure(USPFailure(code: USPErrorCode(failure.errCode), message: failure.errMsg))
            case nil:
                throw USPMessageError(.invalidResponse, "DeleteResp result for \(quoted(result.requestedPath)) has no oper_status", msgID: msgID)
            }
            results.append(DeletedObject(requestedPath: result.requestedPath, outcome: outcome))
        }
        self.results = results
    }
}

/// An OperateResp: per executed command, its outputs, the Request object of an asynchronous
/// command, or why it failed.
public struct USPOperateResponse: Hashable, Sendable {
    /// One executed command.
    public struct OperationResult: Hashable, Sendable {
        /// The command path, e.g. `Device.DeviceInfo.FirmwareImage.2.Download()`.
        public var executedCommand: String
        /// What happened.
        public var outcome: Outcome

        /// Creates a result.
        public init(executedCommand: String, outcome: Outcome) {
            self.executedCommand = executedCommand
            self.outcome = outcome
        }
    }

    /// What happened to one command.
    public enum Outcome: Hashable, Sendable {
        /// An asynchronous command started; its `Device.LocalAgent.Request.{i}.` path tracks it
        /// until the OperationComplete notification.
        case started(requestPath: String)
        /// A synchronous command completed with these output arguments.
        case completed(outputArguments: [String: String])
        /// The command failed.
        case failure(USPFailure)
    }

    /// The results, in the agent's order.
    public var results: [OperationResult]

    /// Creates a response.
    public init(results: [OperationResult]) {
        self.results = results
    }

    init(_ proto: Usp_OperateResp, msgID: String) throws(USPMessageError) {
        var results: [OperationResult] = []
        for result in proto.operationResults {
            let outcome: Outcome
            switch result.operationResp {
            case .reqObjPath(let path)?: outcome = .started(requestPath: path)
            case .reqOutputArgs(let output)?: outcome = .completed(outputArguments: output.outputArgs)
            case .cmdFailure(let failure)?: outcome = .failure(USPFailure(code: USPErrorCode(failure.errCode), message: failure.errMsg))
            case nil:
                throw USPMessageError(.invalidResponse, "OperateResp result for \(quoted(result.executedCommand)) has no operation_resp", msgID: msgID)
            }
            results.append(OperationResult(executedCommand: result.executedCommand, outcome: outcome))
        }
        self.results = results
    }
}
