/// A subscription to create on an agent: one `Device.LocalAgent.Subscription.{i}.` instance.
public struct USPSubscription: Hashable, Sendable {
    /// The `NotifType` of a subscription.
    public enum NotificationType: String, Hashable, Sendable, CaseIterable {
        /// Changes of the referenced parameters' values.
        case valueChange = "ValueChange"
        /// Creation of instances of the referenced tables.
        case objectCreation = "ObjectCreation"
        /// Deletion of instances of the referenced tables.
        case objectDeletion = "ObjectDeletion"
        /// Completion of the referenced asynchronous commands.
        case operationComplete = "OperationComplete"
        /// The referenced events (e.g. `Device.Boot!`).
        case event = "Event"
    }

    /// The `ID`, unique per controller on the agent; it comes back as every Notify's
    /// `subscription_id`.
    public var id: String
    /// What to notify.
    public var notificationType: NotificationType
    /// The `ReferenceList`: paths (or search paths) the subscription covers.
    public var referenceList: [String]
    /// Whether the agent keeps it across reboots.
    public var persistent: Bool
    /// Whether it is enabled.
    public var enable: Bool
    /// Whether the agent retries unanswered notifications (`NotifRetry`; the Notify then has
    /// `send_resp`).
    public var notificationRetry: Bool
    /// `TimeToLive` in seconds; nil leaves the agent's default (0, forever).
    public var timeToLive: UInt32?

    /// Creates a subscription; persistent and enabled by default.
    public init(id: String, notificationType: NotificationType, referenceList: [String], persistent: Bool = true,
                enable: Bool = true, notificationRetry: Bool = false, timeToLive: UInt32? = nil) {
        self.id = id
        self.notificationType = notificationType
        self.referenceList = referenceList
        self.persistent = persistent
        self.enable = enable
        self.notificationRetry = notificationRetry
        self.timeToLive = timeToLive
    }

    /// The table subscriptions are instances of.
    public static let table = "Device.LocalAgent.Subscription."

    /// The Add settings of this subscription (every parameter required, so a subscription is
    /// created as asked or not at all).
    public var objectSettings: USPObjectSettings {
        var parameters = [
            USPParameterSetting(name: "Enable", value: enable ? "true" : "false"),
            USPParameterSetting(name: "ID", value: id),
            USPParameterSetting(name: "NotifType", value: notificationType.rawValue),
            USPParameterSetting(name: "ReferenceList", value: referenceList.joined(separator: ",")),
            USPParameterSetting(name: "Persistent", value: persistent ? "true" : "false"),
        ]
        if notificationRetry {
            parameters.append(USPParameterSetting(name: "NotifRetry", value: "true"))
        }
        if let timeToLive {
            parameters.append(USPParameterSetting(name: "TimeToLive", value: String(timeToLive)))
        }
        return USPObjectSettings(path: Self.table, parameters: parameters)
    }
}
