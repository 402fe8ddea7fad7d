/// A Notify request from an agent: one notification of a subscription (or an OnBoardRequest).
public struct USPNotify: Hashable, Sendable {
    /// What the agent notifies.
    public enum Notification: Hashable, Sendable {
        /// An event, e.g. `Device.Boot!` (``USPEvent``; ``USPBootEvent`` reads a Boot!).
        case event(USPEvent)
        /// A parameter changed its value.
        case valueChange(USPReportedParameter)
        /// An object instance was created.
        case objectCreation(path: String, uniqueKeys: [String: String])
        /// An object instance was deleted.
        case objectDeletion(path: String)
        /// An asynchronous command finished.
        case operationComplete(USPOperationComplete)
        /// The agent asks to be onboarded (its first contact with this controller).
        case onBoardRequest(USPOnBoardRequest)
    }

    /// The `ID` of the subscription that caused the notification (empty for an OnBoardRequest).
    public var subscriptionID: String
    /// True when the agent waits for a NotifyResp (``USPMessages/notifyResponse(to:)``).
    public var sendResponse: Bool
    /// What the agent notifies.
    public var notification: Notification

    /// Creates a notify.
    public init(subscriptionID: String, sendResponse: Bool, notification: Notification) {
        self.subscriptionID = subscriptionID
        self.sendResponse = sendResponse
        self.notification = notification
    }

    init(_ proto: Usp_Notify, msgID: String) throws(USPMessageError) {
        func refuse(_ text: String) -> USPMessageError {
            USPMessageError(.invalidRequest, "Notify: \(text)", msgID: msgID, isRequest: true)
        }
        let notification: Notification
        switch proto.notification {
        case .event(let event)?:
            guard !event.eventName.isEmpty else { throw refuse("Event without event_name") }
            notification = .event(USPEvent(objectPath: event.objPath, name: event.eventName, arguments: event.params))
        case .valueChange(let change)?:
            guard !change.paramPath.isEmpty else { throw refuse("ValueChange without param_path") }
            notification = .valueChange(USPReportedParameter(path: change.paramPath, text: change.paramValue))
        case .objCreation(let creation)?:
            guard !creation.objPath.isEmpty else { throw refuse("ObjectCreation without obj_path") }
            notification = .objectCreation(path: creation.objPath, uniqueKeys: creation.uniqueKeys)
        case .objDeletion(let deletion)?:
            guard !deletion.objPath.isEmpty else { throw refuse("ObjectDeletion without obj_path") }
            notification = .objectDeletion(path: deletion.objPath)
        case .operComplete(let complete)?:
            guard !complete.commandName.isEmpty else { throw refuse("OperationComplete without command_name") }
            let outcome: USPOperationComplete.Outcome
            switch complete.operationResp {
            case .reqOutputArgs(let output)?: outcome = .completed(outputArguments: output.outputArgs)
            case .cmdFailure(let failure)?: outcome = .failure(USPFailure(code: USPErrorCode(failure.errCode), message: failure.errMsg))
            case nil: throw refuse("OperationComplete for \(quoted(complete.objPath + complete.commandName)) has neither output arguments nor a failure")
            }
            notification = .operationComplete(USPOperationComplete(
                objectPath: complete.objPath, commandName: complete.commandName, commandKey: complete.commandKey, outcome: outcome))
        case .onBoardReq(let request)?:
            notification = .onBoardRequest(USPOnBoardRequest(
                oui: request.oui, productClass: request.productClass, serialNumber: request.serialNumber,
                agentSupportedProtocolVersions: request.agentSupportedProtocolVersions))
        case nil:
            let unknown = proto.unknownFields.data.count
            throw refuse(unknown == 0 ? "no notification set" : "a notification this version does not know (\(unknown) bytes of unknown fields)")
        }
        self.init(subscriptionID: proto.subscriptionID, sendResponse: proto.sendResp, notification: notification)
    }
}

/// An event notification: `objectPath` + `name` is the event's path, e.g. `Device.` + `Boot!`.
public struct USPEvent: Hashable, Sendable {
    /// The object that emitted the event, e.g. `Device.` or `Device.LocalAgent.`.
    public var objectPath: String
    /// The event name, e.g. `Boot!`.
    public var name: String
    /// The event's arguments (name → text).
    public var arguments: [String: String]

    /// Creates an event.
    public init(objectPath: String, name: String, arguments: [String: String]) {
        self.objectPath = objectPath
        self.name = name
        self.arguments = arguments
    }

    /// The event's full path, e.g. `Device.Boot!`.
    public var path: String { join(objectPath, name) }
}

/// The end of an asynchronous command.
public struct USPOperationComplete: Hashable, Sendable {
    /// How it ended.
    public enum Outcome: Hashable, Sendable {
        /// It succeeded with these output arguments.
        case completed(outputArguments: [String: String])
        /// It failed.
        case failure(USPFailure)
    }

    /// The object the command ran on, e.g. `Device.DeviceInfo.FirmwareImage.2.`.
    public var objectPath: String
    /// The command name, e.g. `Download()`.
    public var commandName: String
    /// The `command_key` the Operate carried (see ``USPCommandTranslator/commandKey(for:)``).
    public var commandKey: String
    /// How it ended.
    public var outcome: Outcome

    /// Creates a completion.
    public init(objectPath: String, commandName: String, commandKey: String, outcome: Outcome) {
        self.objectPath = objectPath
        self.commandName = commandName
        self.commandKey = commandKey
        self.outcome = outcome
    }

    /// The command's full path, e.g. `Device.DeviceInfo.FirmwareImage.2.Download()`.
    public var commandPath: String { join(objectPath, commandName) }
}

/// An OnBoardRequest: an agent introducing itself.
public struct USPOnBoardRequest: Hashable, Sendable {
    /// The manufacturer's OUI.
    public var oui: String
    /// The product class.
    public var productClass: String
    /// The serial number.
    public var serialNumber: String
    /// The USP versions the agent speaks, comma-separated (`1.3,1.4`).
    public var agentSupportedProtocolVersions: String

    /// Creates an onboarding request.
    public init(oui: String, productClass: String, serialNumber: String, agentSupportedProtocolVersions: String) {
        self.oui = oui
        self.productClass = productClass
        self.serialNumber = serialNumber
        self.agentSupportedProtocolVersions = agentSupportedProtocolVersions
    }

    /// The versions the agent announced that parse as `major.minor`.
    public var supportedVersions: [USPProtocolVersion] {
        parseVersionList(agentSupportedProtocolVersions)
    }
}

/// Reads a comma-separated list of `major.minor` versions, skipping entries that do not parse.
func parseVersionList(_ text: String) -> [USPProtocolVersion] {
    text.split(separator: ",").compactMap { USPProtocolVersion(parsing: String($0.filter { $0 != " " })) }
}
