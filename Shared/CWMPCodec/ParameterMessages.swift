/// `GetParameterValues`: the ACS asks for values (a path ending in a dot means a whole subtree).
public struct GetParameterValues: Hashable, Sendable {
    /// Parameter or object paths.
    public var parameterNames: [String]

    /// Creates a request.
    public init(parameterNames: [String]) {
        self.parameterNames = parameterNames
    }

    init(decoding node: XMLNode) {
        parameterNames = node.stringArray("ParameterNames")
    }

    func encode(into writer: inout XMLWriter) {
        writer.stringArray("ParameterNames", parameterNames)
    }
}

/// `GetParameterValuesResponse`: the values asked for.
public struct GetParameterValuesResponse: Hashable, Sendable {
    /// The parameters and their values.
    public var parameterList: [ParameterValueStruct]

    /// Creates a response.
    public init(parameterList: [ParameterValueStruct]) {
        self.parameterList = parameterList
    }

    init(decoding node: XMLNode) throws(CWMPCodecError) {
        parameterList = try ParameterValueStruct.decodeList(node)
    }

    func encode(into writer: inout XMLWriter) {
        ParameterValueStruct.encodeList(parameterList, into: &writer)
    }
}

/// `SetParameterValues`: the ACS writes values, all or nothing.
public struct SetParameterValues: Hashable, Sendable {
    /// The parameters and their new values (each with its `xsi:type`).
    public var parameterList: [ParameterValueStruct]
    /// The value the CPE stores in `ManagementServer.ParameterKey` when the set succeeds.
    public var parameterKey: String

    /// Creates a request.
    public init(parameterList: [ParameterValueStruct], parameterKey: String = "") {
        self.parameterList = parameterList
        self.parameterKey = parameterKey
    }

    init(decoding node: XMLNode) throws(CWMPCodecError) {
        parameterList = try ParameterValueStruct.decodeList(node)
        parameterKey = node.string("ParameterKey")
    }

    func encode(into writer: inout XMLWriter) {
        ParameterValueStruct.encodeList(parameterList, into: &writer)
        writer.element("ParameterKey", parameterKey)
    }
}

/// `SetParameterValuesResponse`.
public struct SetParameterValuesResponse: Hashable, Sendable {
    /// Whether the values are in effect or wait for a reboot.
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

/// `GetParameterNames`: the ACS discovers the data model.
public struct GetParameterNames: Hashable, Sendable {
    /// A parameter path, an object path ending in a dot, or empty for the whole tree.
    public var parameterPath: String
    /// True for the object's direct children only.
    public var nextLevel: Bool

    /// Creates a request.
    public init(parameterPath: String, nextLevel: Bool) {
        self.parameterPath = parameterPath
        self.nextLevel = nextLevel
    }

    init(decoding node: XMLNode) throws(CWMPCodecError) {
        parameterPath = node.string("ParameterPath")
        nextLevel = try node.boolean("NextLevel")
    }

    func encode(into writer: inout XMLWriter) {
        writer.element("ParameterPath", parameterPath)
        writer.element("NextLevel", nextLevel)
    }
}

/// `GetParameterNamesResponse`.
public struct GetParameterNamesResponse: Hashable, Sendable {
    /// The names found, with writability.
    public var parameterList: [ParameterInfoStruct]

    /// Creates a response.
    public init(parameterList: [ParameterInfoStruct]) {
        self.parameterList = parameterList
    }

    init(decoding node: XMLNode) throws(CWMPCodecError) {
        var list: [ParameterInfoStruct] = []
        for item in node.array("ParameterList") { list.append(try ParameterInfoStruct(decoding: item)) }
        parameterList = list
    }

    func encode(into writer: inout XMLWriter) {
        writer.openArray("ParameterList", type: "cwmp:ParameterInfoStruct", count: parameterList.count)
        for item in parameterList { item.encode(into: &writer) }
        writer.close("ParameterList")
    }
}

/// `GetParameterAttributes`.
public struct GetParameterAttributes: Hashable, Sendable {
    /// Parameter or object paths.
    public var parameterNames: [String]

    /// Creates a request.
    public init(parameterNames: [String]) {
        self.parameterNames = parameterNames
    }

    init(decoding node: XMLNode) {
        parameterNames = node.stringArray("ParameterNames")
    }

    func encode(into writer: inout XMLWriter) {
        writer.stringArray("ParameterNames", parameterNames)
    }
}

/// `GetParameterAttributesResponse`.
public struct GetParameterAttributesResponse: Hashable, Sendable {
    /// The attributes of each parameter.
    public var parameterList: [ParameterAttributeStruct]

    /// Creates a response.
    public init(parameterList: [ParameterAttributeStruct]) {
        self.parameterList = parameterList
    }

    init(decoding node: XMLNode) throws(CWMPCodecError) {
        var list: [ParameterAttributeStruct] = []
        for item in node.array("ParameterList") { list.append(try ParameterAttributeStruct(decoding: item)) }
        parameterList = list
    }

    func encode(into writer: inout XMLWriter) {
        writer.openArray("ParameterList", type: "cwmp:ParameterAttributeStruct", count: parameterList.count)
        for item in parameterList { item.encode(into: &writer) }
        writer.close("ParameterList")
    }
}

/// `SetParameterAttributes`.
public struct SetParameterAttributes: Hashable, Sendable {
    /// The changes, one per parameter or subtree.
    public var parameterList: [SetParameterAttributesStruct]

    /// Creates a request.
    public init(parameterList: [SetParameterAttributesStruct]) {
        self.parameterList = parameterList
    }

    init(decoding node: XMLNode) throws(CWMPCodecError) {
        var list: [SetParameterAttributesStruct] = []
        for item in node.array("ParameterList") { list.append(try SetParameterAttributesStruct(decoding: item)) }
        parameterList = list
    }

    func encode(into writer: inout XMLWriter) {
        writer.openArray("ParameterList", type: "cwmp:SetParameterAttributesStruct", count: parameterList.count)
        for item in parameterList { item.encode(into: &writer) }
        writer.close("ParameterList")
    }
}
