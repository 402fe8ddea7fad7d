import TwinfleetModel

/// `ParameterValueStruct`: a parameter's name and value.
public struct ParameterValueStruct: Hashable, Sendable {
    /// The parameter's full path as the device or ACS wrote it. Kept as text: the codec carries
    /// what is on the wire, and the session validates it (``path``) where it matters.
    public var name: String
    /// The value and its type.
    public var value: CWMPValue

    /// Creates a struct.
    public init(name: String, value: CWMPValue) {
        self.name = name
        self.value = value
    }

    /// Creates a struct with a typed value.
    public init(name: String, value: ParameterValue) {
        self.init(name: name, value: .typed(value))
    }

    /// The name as a validated path, nil when it is not one.
    public var path: ParameterPath? { try? ParameterPath(validating: name) }

    init(decoding node: XMLNode) throws(CWMPCodecError) {
        name = node.string("Name")
        guard let valueNode = node.child("Value") else {
            throw CWMPCodecError(.invalidArguments, "ParameterValueStruct \(CWMPCodecError.quote(name)): missing Value", offset: node.offset)
        }
        value = CWMPValue(decoding: valueNode)
    }

    func encode(into writer: inout XMLWriter) {
        writer.open("ParameterValueStruct")
        writer.element("Name", name)
        value.encode(into: &writer)
        writer.close("ParameterValueStruct")
    }

    static func decodeList(_ node: XMLNode, field: String = "ParameterList") throws(CWMPCodecError) -> [ParameterValueStruct] {
        var list: [ParameterValueStruct] = []
        for item in node.array(field) { list.append(try ParameterValueStruct(decoding: item)) }
        return list
    }

    static func encodeList(_ list: [ParameterValueStruct], into writer: inout XMLWriter) {
        writer.openArray("ParameterList", type: "cwmp:ParameterValueStruct", count: list.count)
        for item in list { item.encode(into: &writer) }
        writer.close("ParameterList")
    }
}

/// `ParameterInfoStruct`: a name from GetParameterNamesResponse and whether it is writable.
public struct ParameterInfoStruct: Hashable, Sendable {
    /// The parameter or object path (objects end with a dot).
    public var name: String
    /// Whether the ACS may write it (for an object: may add or delete instances).
    public var writable: Bool

    /// Creates a struct.
    public init(name: String, writable: Bool) {
        self.name = name
        self.writable = writable
    }

    init(decoding node: XMLNode) throws(CWMPCodecError) {
        name = node.string("Name")
        writable = try node.boolean("Writable")
    }

    func encode(into writer: inout XMLWriter) {
        writer.open("ParameterInfoStruct")
        writer.element("Name", name)
        writer.element("Writable", writable)
        writer.close("ParameterInfoStruct")
    }
}

/// A parameter's notification attribute (TR-069 A.3.2.4): 0 off, 1 passive, 2 active, and the
/// lightweight-notification variants 3–6 of Amendment 5.
public enum ParameterNotification: UInt8, Hashable, Sendable, CaseIterable {
    /// 0: no notification.
    case off = 0
    /// 1: include the new value in the next Inform.
    case passive = 1
    /// 2: start a session and include the new value.
    case active = 2
    /// 3: passive lightweight notification.
    case passiveLightweight = 3
    /// 4: passive notification and passive lightweight notification.
    case passiveWithPassiveLightweight = 4
    /// 5: active lightweight notification.
    case activeLightweight = 5
    /// 6: passive notification and active lightweight notification.
    case passiveWithActiveLightweight = 6

    static func decode(_ node: XMLNode) throws(CWMPCodecError) -> ParameterNotification {
        let number = try node.unsignedInt("Notification")
        guard number <= 6, let value = ParameterNotification(rawValue: UInt8(number)) else {
            throw CWMPCodecError(.invalidArguments, "\(node.name): Notification \(number) is not 0-6", offset: node.offset)
        }
        return value
    }
}

/// `ParameterAttributeStruct`: a parameter's notification and access list.
public struct ParameterAttributeStruct: Hashable, Sendable {
    /// The parameter path.
    public var name: String
    /// Its notification setting.
    public var notification: ParameterNotification
    /// Who besides the ACS may write it (`Subscriber`, or nothing).
    public var accessList: [String]

    /// Creates a struct.
    public init(name: String, notification: ParameterNotification, accessList: [String] = []) {
        self.name = name
        self.notification = notification
        self.accessList = accessList
    }

    init(decoding node: XMLNode) throws(CWMPCodecError) {
        name = node.string("Name")
        notification = try ParameterNotification.decode(node)
        accessList = node.stringArray("AccessList")
    }

    func encode(into writer: inout XMLWriter) {
        writer.open("ParameterAttributeStruct")
        writer.element("Name", name)
        writer.element("Notification", notification.rawValue)
        writer.stringArray("AccessList", accessList)
        writer.close("ParameterAttributeStruct")
    }
}

/// `SetParameterAttributesStruct`: which attributes of one parameter (or object subtree) to change.
public struct SetParameterAttributesStruct: Hashable, Sendable {
    /// The parameter path, or an object path ending in a dot for a whole subtree.
    public var name: String
    /// Whether to change the notification.
    public var notificationChange: Bool
    /// The new notification (ignored unless ``notificationChange``).
    public var notification: ParameterNotification
    /// Whether to change the access list.
    public var accessListChange: Bool
    /// The new access list (ignored unless ``accessListChange``).
    public var accessList: [String]

    /// Creates a struct.
    public init(name: String, notificationChange: Bool, notification: ParameterNotification,
                accessListChange: Bool = false, accessList: [String] = []) {
        self.name = name
        self.notificationChange = notificationChange
        self.notification = notification
        self.accessListChange = accessListChange
        self.accessList = accessList
    }

    init(decoding node: XMLNode) throws(CWMPCodecError) {
        name = node.string("Name")
        notificationChange = try node.boolean("NotificationChange")
        notification = try ParameterNotification.decode(node)
        accessListChange = try node.boolean("AccessListChange")
        accessList = node.stringArray("AccessList")
    }

    func encode(into writer: inout XMLWriter) {
        writer.open("SetParameterAttributesStruct")
        writer.element("Name", name)
        writer.element("NotificationChange", notificationChange)
        writer.element("Notification", notification.rawValue)
        writer.element("AccessListChange", accessListChange)
        writer.stringArray("AccessList", accessList)
        writer.close("SetParameterAttributesStruct")
    }
}

/// The `Status` of SetParameterValues, AddObject, DeleteObject, Download and Upload responses.
public enum ApplyStatus: UInt8, Hashable, Sendable, CaseIterable {
    /// 0: done and in effect (for transfers: completed).
    case applied = 0
    /// 1: committed, but takes effect only later (after a reboot, or when the transfer completes).
    case pending = 1

    static func decode(_ node: XMLNode) throws(CWMPCodecError) -> ApplyStatus {
        let number = try node.unsignedInt("Status")
        guard number <= 1, let status = ApplyStatus(rawValue: UInt8(number)) else {
            throw CWMPCodecError(.invalidArguments, "\(node.name): Status \(number) is not 0 or 1", offset: node.offset)
        }
        return status
    }
}
