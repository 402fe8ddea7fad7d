import TwinfleetModel

/// A GetSupportedDMResp: the data model the agent supports under each requested object path.
public struct USPSupportedDataModel: Hashable, Sendable {
    /// One requested object path's result.
    public struct RequestedObject: Hashable, Sendable {
        /// The path as requested, e.g. `Device.`.
        public var requestedPath: String
        /// Why it failed; nil on success.
        public var failure: USPFailure?
        /// The data model the objects belong to, e.g. `urn:broadband-forum-org:tr-181-2-19-1-usp`.
        public var dataModelURI: String
        /// The supported objects, in the agent's order.
        public var objects: [SupportedObject]

        /// Creates a result.
        public init(requestedPath: String, failure: USPFailure?, dataModelURI: String, objects: [SupportedObject]) {
            self.requestedPath = requestedPath
            self.failure = failure
            self.dataModelURI = dataModelURI
            self.objects = objects
        }
    }

    /// One supported object (a schema path with `{i}`, e.g. `Device.WiFi.SSID.{i}.`).
    public struct SupportedObject: Hashable, Sendable {
        /// The schema path.
        public var path: String
        /// Whether the controller may add and delete instances.
        public var access: ObjectAccess
        /// Whether it is a table.
        public var isMultiInstance: Bool
        /// Its parameters.
        public var parameters: [SupportedParameter]
        /// Its commands.
        public var commands: [SupportedCommand]
        /// Its events.
        public var events: [SupportedEvent]
        /// Sub-paths whose schema differs between instances.
        public var divergentPaths: [String]
        /// Its unique key sets (parameter names).
        public var uniqueKeySets: [[String]]

        /// Creates a supported object.
        public init(path: String, access: ObjectAccess, isMultiInstance: Bool, parameters: [SupportedParameter],
                    commands: [SupportedCommand], events: [SupportedEvent], divergentPaths: [String], uniqueKeySets: [[String]]) {
            self.path = path
            self.access = access
            self.isMultiInstance = isMultiInstance
            self.parameters = parameters
            self.commands = commands
            self.events = events
            self.divergentPaths = divergentPaths
            self.uniqueKeySets = uniqueKeySets
        }

        /// The full schema path of each parameter mapped to its type, for typing reported
        /// values (parameters of unknown type are left out).
        public var parameterTypes: [String: ParameterType] {
            var types: [String: ParameterType] = [:]
            for parameter in parameters {
                if let type = parameter.type { types[join(path, parameter.name)] = type }
            }
            return types
        }
    }

    /// Access rights of an object.
    public enum ObjectAccess: String, Hashable, Sendable, CaseIterable {
        /// No adding or deleting.
        case readOnly
        /// Instances may be added and deleted.
        case addDelete
        /// Instances may only be added.
        case addOnly
        /// Instances may only be deleted.
        case deleteOnly
    }

    /// Access rights of a parameter.
    public enum ParameterAccess: String, Hashable, Sendable, CaseIterable {
        /// Read only.
        case readOnly
        /// Read and write.
        case readWrite
        /// Write only (e.g. passwords).
        case writeOnly
    }

    /// One supported parameter.
    public struct SupportedParameter: Hashable, Sendable {
        /// Its name relative to the object.
        public var name: String
        /// Its access rights.
        public var access: ParameterAccess
        /// Its TR-106 base type; nil when the agent said `PARAM_UNKNOWN`.
        public var type: ParameterType?
        /// Whether the agent honours ValueChange subscriptions on it; nil when unknown.
        public var valueChangeAllowed: Bool?

        /// Creates a supported parameter.
        public init(name: String, access: ParameterAccess, type: ParameterType?, valueChangeAllowed: Bool?) {
            self.name = name
            self.access = access
            self.type = type
            self.valueChangeAllowed = valueChangeAllowed
        }
    }

    /// One supported command.
    public struct SupportedCommand: Hashable, Sendable {
        /// Its name, e.g. `Download()`.
        public var name: String
        /// Its input argument names.
        public var inputArguments: [String]
        /// Its output argument names.
        public var outputArguments: [String]
        /// True for asynchronous commands, false for synchronous ones, nil when unknown.
        public var isAsync: Bool?

        /// Creates a supported command.
        public init(name: String, inputArguments: [String], outputArguments: [String], isAsync: Bool?) {
            self.name = name
            self.inputArguments = inputArguments
            self.outputArguments = outputArguments
            self.isAsync = isAsync
        }
    }

    /// One supported event.
    public struct SupportedEvent: Hashable, Sendable {
        /// Its name, e.g. `Boot!`.
        public var name: String
        /// Its argument names.
        public var arguments: [String]

        /// Creates a supported event.
        public init(name: String, arguments: [String]) {
            self.name = name
            self.arguments = arguments
        }
    }

    /// The results, in the request's order.
    public var results: [RequestedObject]

    /// Creates a response.
    public init(results: [RequestedObject]) {
        self.results = results
    }

    init(_ proto: Usp_GetSupportedDMResp) {
        results = proto.reqObjResults.map { result in
            RequestedObject(
                requestedPath: result.reqObjPath,
                failure: result.errCode == 0 ? nil : USPFailure(code: USPErrorCode(result.errCode), message: result.errMsg),
                dataModelURI: result.dataModelInstUri,
                objects: result.supportedObjs.map(Self.object))
        }
    }

    private static func object(_ proto: Usp_GetSupportedDMResp.SupportedObjectResult) -> SupportedObject {
        let access: ObjectAccess = switch proto.access {
        case .objAddDelete: .addDelete
        case .objAddOnly: .addOnly
        case .objDeleteOnly: .deleteOnly
        case .objReadOnly, .UNRECOGNIZED: .readOnly
        }
        return SupportedObject(
            path: proto.supportedObjPath, access: access, isMultiInstance: proto.isMultiInstance,
            parameters: proto.supportedParams.map { param in
                let access: ParameterAccess = switch param.access {
                case .paramReadWrite: .readWrite
                case .paramWriteOnly: .writeOnly
                case .paramReadOnly, .UNRECOGNIZED: .readOnly
                }
                let valueChange: Bool? = switch param.valueChange {
                case .valueChangeAllowed: true
                case .valueChangeWillIgnore: false
                case .valueChangeUnknown, .UNRECOGNIZED: nil
                }
                return SupportedParameter(name: param.paramName, access: access, type: type(param.valueType), valueChangeAllowed: valueChange)
            },
            commands: proto.supportedCommands.map { command in
                let isAsync: Bool? = switch command.commandType {
                case .cmdAsync: true
                case .cmdSync: false
                case .cmdUnknown, .UNRECOGNIZED: nil
                }
                return SupportedCommand(name: command.commandName, inputArguments: command.inputArgNames, outputArguments: command.outputArgNames, isAsync: isAsync)
            },
            events: proto.supportedEvents.map { SupportedEvent(name: $0.eventName, arguments: $0.argNames) },
            divergentPaths: proto.divergentPaths,
            uniqueKeySets: proto.uniqueKeySets.map(\.keyNames))
    }

    /// The TR-106 base type of a `ParamValueType`; nil for `PARAM_UNKNOWN` and unknown numbers.
    static func type(_ proto: Usp_GetSupportedDMResp.ParamValueType) -> ParameterType? {
        switch proto {
        case .paramBase64: .base64
        case .paramBoolean: .boolean
        case .paramDateTime: .dateTime
        case .paramDecimal: .decimal
        case .paramHexBinary: .hexBinary
        case .paramInt: .int
        case .paramLong: .long
        case .paramString: .string
        case .paramUnsignedInt: .unsignedInt
        case .paramUnsignedLong: .unsignedLong
        case .paramUnknown, .UNRECOGNIZED: nil
        }
    }
}

/// A GetInstancesResp: the object instances that exist under each requested path.
public struct USPInstancesResponse: Hashable, Sendable {
    /// One requested path's result.
    public struct RequestedPath: Hashable, Sendable {
        /// The path as requested.
        public var requestedPath: String
        /// Why it failed; nil on success.
        public var failure: USPFailure?
        /// The instances, in the agent's order.
        public var instances: [Instance]

        /// Creates a result.
        public init(requestedPath: String, failure: USPFailure?, instances: [Instance]) {
            self.requestedPath = requestedPath
            self.failure = failure
            self.instances = instances
        }
    }

    /// One object instance.
    public struct Instance: Hashable, Sendable {
        /// Its path, e.g. `Device.WiFi.SSID.3.`.
        public var path: String
        /// Its unique key parameters (relative name → value).
        public var uniqueKeys: [String: String]

        /// Creates an instance.
        public init(path: String, uniqueKeys: [String: String]) {
            self.path = path
            self.uniqueKeys = uniqueKeys
        }
    }

    /// The results, in the request's order.
    public var results: [RequestedPath]

    /// Creates a response.
    public init(results: [RequestedPath]) {
        self.results = results
    }

    init(_ proto: Usp_GetInstancesResp) {
        results = proto.reqPathResults.map { result in
            RequestedPath(
                requestedPath: result.requestedPath,
                failure: result.errCode == 0 ? nil : USPFailure(code: USPErrorCode(result.errCode), message: result.errMsg),
                instances: result.currInsts.map { Instance(path: $0.instantiatedObjPath, uniqueKeys: $0.uniqueKeys) })
        }
    }
}
