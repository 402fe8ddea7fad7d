/// `AddObject`: the ACS creates an instance of a multi-instance object.
public struct AddObject: Hashable, Sendable {
    /// The table's path, ending in a dot: `Device.NAT.PortMapping.`.
    public var objectName: String
    /// Stored in `ManagementServer.ParameterKey` on success.
    public var parameterKey: String

    /// Creates a request.
    public init(objectName: String, parameterKey: String = "") {
        self.objectName = objectName
        self.parameterKey = parameterKey
    }

    init(decoding node: XMLNode) {
        objectName = node.string("ObjectName")
        parameterKey = node.string("ParameterKey")
    }

    func encode(into writer: inout XMLWriter) {
        writer.element("ObjectName", objectName)
        writer.element("ParameterKey", parameterKey)
    }
}

/// `AddObjectResponse`.
public struct AddObjectResponse: Hashable, Sendable {
    /// The new instance's number.
    public var instanceNumber: UInt32
    /// Whether the object exists now or after a reboot.
    public var status: ApplyStatus

    /// Creates a response.
    public init(instanceNumber: UInt32, status: ApplyStatus) {
        self.instanceNumber = instanceNumber
        self.status = status
    }

    init(decoding node: XMLNode) throws(CWMPCodecError) {
        instanceNumber = try node.unsignedInt("InstanceNumber")
        status = try ApplyStatus.decode(node)
    }

    func encode(into writer: inout XMLWriter) {
        writer.element("InstanceNumber", instanceNumber)
        writer.element("Status", status.rawValue)
    }
}

/// `DeleteObject`: the ACS removes an instance.
public struct DeleteObject: Hashable, Sendable {
    /// The instance's path, ending in a dot: `Device.NAT.PortMapping.3.`.
    public var objectName: String
    /// Stored in `ManagementServer.ParameterKey` on success.
    public var parameterKey: String

    /// Creates a request.
    public init(objectName: String, parameterKey: String = "") {
        self.objectName = objectName
        self.parameterKey = parameterKey
    }

    init(decoding node: XMLNode) {
        objectName = node.string("ObjectName")
        parameterKey = node.string("ParameterKey")
    }

    func encode(into writer: inout XMLWriter) {
        writer.element("ObjectName", objectName)
        writer.element("ParameterKey", parameterKey)
    }
}

/// `DeleteObjectResponse`.
public struct DeleteObjectResponse: Hashable, Sendable {
    /// Whether the object is gone now or after a reboot.
    public var status: ApplyStatus

    /// Creates a response.
    public init(status: ApplyStatus) {
        self.status = status
    }

    init(decoding node: XMLNode) throws(CWMPCodecError) {
        status = try ApplyStatus.decode(node)
    }

    func encode(into writer: inout XMLWriter) {
        writer.element("Status", status.rawValue)
    }
}
