/// One parameter to write in a Set or an Add.
public struct USPParameterSetting: Hashable, Sendable {
    /// The name relative to the object (`SSID`, or `Security.ModeEnabled` in an Add).
    public var name: String
    /// The value as text.
    public var value: String
    /// When true, the whole object fails if this parameter cannot be set.
    public var required: Bool

    /// Creates a setting; required by default.
    public init(name: String, value: String, required: Bool = true) {
        self.name = name
        self.value = value
        self.required = required
    }
}

/// The parameters to write in one object: an instance for a Set (`Device.WiFi.SSID.1.`), a
/// table for an Add (`Device.WiFi.SSID.`).
public struct USPObjectSettings: Hashable, Sendable {
    /// The object path.
    public var path: String
    /// The parameters, in order.
    public var parameters: [USPParameterSetting]

    /// Creates the settings of one object.
    public init(path: String, parameters: [USPParameterSetting]) {
        self.path = path
        self.parameters = parameters
    }
}

/// Builders of the USP Msgs a controller sends. Each returns a complete Msg (header with
/// `msg_id` and the matching `msg_type`, and body) ready for ``USPRecordEncoder/encode(_:to:)``.
public enum USPMessages {
    /// A Get of `paths`; `maxDepth` 0 means the whole subtree, 1 only an object's own parameters.
    public static func get(msgID: String, paths: [String], maxDepth: UInt32 = 0) -> Usp_Msg {
        var get = Usp_Get()
        get.paramPaths = paths
        get.maxDepth = maxDepth
        return request(msgID, .get, .get(get))
    }

    /// A Set; with `allowPartial` false (the default) the agent applies all objects or none.
    public static func set(msgID: String, objects: [USPObjectSettings], allowPartial: Bool = false) -> Usp_Msg {
        var set = Usp_Set()
        set.allowPartial = allowPartial
        set.updateObjs = objects.map { object in
            var update = Usp_Set.UpdateObject()
            update.objPath = object.path
            update.paramSettings = object.parameters.map { parameter in
                var setting = Usp_Set.UpdateParamSetting()
                setting.param = parameter.name
                setting.value = parameter.value
                setting.required = parameter.required
                return setting
            }
            return update
        }
        return request(msgID, .set, .set(set))
    }

    /// An Add creating one instance per entry of `objects` (paths are tables, `Device.WiFi.SSID.`).
    public static func add(msgID: String, objects: [USPObjectSettings], allowPartial: Bool = false) -> Usp_Msg {
        var add = Usp_Add()
        add.allowPartial = allowPartial
        add.createObjs = objects.map { object in
            var create = Usp_Add.CreateObject()
            create.objPath = object.path
            create.paramSettings = object.parameters.map { parameter in
                var setting = Usp_Add.CreateParamSetting()
                setting.param = parameter.name
                setting.value = parameter.value
                setting.required = parameter.required
                return setting
            }
            return create
        }
        return request(msgID, .add, .add(add))
    }

    /// A Delete of the instances `paths`.
    public static func delete(msgID: String, paths: [String], allowPartial: Bool = false) -> Usp_Msg {
        var delete = Usp_Delete()
        delete.allowPartial = allowPartial
        delete.objPaths = paths
        return request(msgID, .delete, .delete(delete))
    }

    /// An Operate of `command` (e.g. `Device.Reboot()`).
    public static func operate(msgID: String, command: String, commandKey: String, inputArguments: [String: String] = [:], sendResponse: Bool = true) -> Usp_Msg {
        var operate = Usp_Operate()
        operate.command = command
        operate.commandKey = commandKey
        operate.inputArgs = inputArguments
        operate.sendResp = sendResponse
        return request(msgID, .operate, .operate(operate))
    }

    /// A GetSupportedDM of `paths`; by default everything under them, with commands, events,
    /// parameters and unique keys.
    public static func getSupportedDM(msgID: String, paths: [String], firstLevelOnly: Bool = false, returnCommands: Bool = true,
                                      returnEvents: Bool = true, returnParameters: Bool = true, returnUniqueKeySets: Bool = true) -> Usp_Msg {
        var get = Usp_GetSupportedDM()
        get.objPaths = paths
        get.firstLevelOnly = firstLevelOnly
        get.returnCommands = returnCommands
        get.returnEvents = returnEvents
        get.returnParams = returnParameters
        get.returnUniqueKeySets = returnUniqueKeySets
        return request(msgID, .getSupportedDm, .getSupportedDm(get))
    }

    /// A GetInstances of `paths` (every level under them unless `firstLevelOnly`).
    public static func getInstances(msgID: String, paths: [String], firstLevelOnly: Bool = false) -> Usp_Msg {
        var get = Usp_GetInstances()
        get.objPaths = paths
        get.firstLevelOnly = firstLevelOnly
        return request(msgID, .getInstances, .getInstances(get))
    }

    /// A GetSupportedProtocol announcing the versions this controller speaks.
    public static func getSupportedProtocol(msgID: String, versions: [USPProtocolVersion] = USPProtocolVersion.supported) -> Usp_Msg {
        var get = Usp_GetSupportedProtocol()
        get.controllerSupportedProtocolVersions = versions.map(\.description).joined(separator: ",")
        return request(msgID, .getSupportedProto, .getSupportedProtocol(get))
    }

    /// An Add of `Device.LocalAgent.Subscription.{i}.` instances, one per subscription. With
    /// `allowPartial` true (the default) one refused subscription does not block the others.
    public static func subscribe(msgID: String, subscriptions: [USPSubscription], allowPartial: Bool = true) -> Usp_Msg {
        add(msgID: msgID, objects: subscriptions.map(\.objectSettings), allowPartial: allowPartial)
    }

    /// The NotifyResp a Notify asks for; nil when the message is not a Notify with `send_resp`.
    public static func notifyResponse(to message: USPAgentMessage) -> Usp_Msg? {
        guard case .notify(let notify) = message.body, notify.sendResponse else { return nil }
        return notifyResponse(msgID: message.msgID, subscriptionID: notify.subscriptionID)
    }

    /// A NotifyResp; `msgID` is the Notify's.
    public static func notifyResponse(msgID: String, subscriptionID: String) -> Usp_Msg {
        var response = Usp_NotifyResp()
        response.subscriptionID = subscriptionID
        var body = Usp_Response()
        body.respType = .notifyResp(response)
        return message(msgID, .notifyResp, .response(body))
    }

    /// An Error message answering the request `msgID`.
    public static func error(msgID: String, code: USPErrorCode, message text: String, parameterErrors: [USPParameterError] = []) -> Usp_Msg {
        var error = Usp_Error()
        error.errCode = code.rawValue
        error.errMsg = text
        error.paramErrs = parameterErrors.map { parameter in
            var paramError = Usp_Error.ParamError()
            paramError.paramPath = parameter.path
            paramError.errCode = parameter.code.rawValue
            paramError.errMsg = parameter.message
            return paramError
        }
        return message(msgID, .error, .error(error))
    }

    private static func request(_ msgID: String, _ type: Usp_Header.MsgType, _ kind: Usp_Request.OneOf_ReqType) -> Usp_Msg {
        var request = Usp_Request()
        request.reqType = kind
        return message(msgID, type, .request(request))
    }

    private static func message(_ msgID: String, _ type: Usp_Header.MsgType, _ body: Usp_Body.OneOf_MsgBody) -> Usp_Msg {
        var message = Usp_Msg()
        message.header.msgID = msgID
        message.header.msgType = type
        message.body.msgBody = body
        return message
    }
}
