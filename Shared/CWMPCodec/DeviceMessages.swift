/// `GetRPCMethodsResponse`: the methods the sender supports (either side may ask).
public struct GetRPCMethodsResponse: Hashable, Sendable {
    /// Method names such as `GetParameterValues`.
    public var methodList: [String]

    /// Creates a response.
    public init(methodList: [String]) {
        self.methodList = methodList
    }

    init(decoding node: XMLNode) {
        methodList = node.stringArray("MethodList")
    }

    func encode(into writer: inout XMLWriter) {
        writer.stringArray("MethodList", methodList)
    }
}

/// `Reboot`.
public struct Reboot: Hashable, Sendable {
    /// Returned in the `M Reboot` event of the Inform after the reboot.
    public var commandKey: String

    /// Creates a request.
    public init(commandKey: String = "") {
        self.commandKey = commandKey
    }

    init(decoding node: XMLNode) {
        commandKey = node.string("CommandKey")
    }

    func encode(into writer: inout XMLWriter) {
        writer.element("CommandKey", commandKey)
    }
}

/// `ScheduleInform`: the ACS asks for a session in `delaySeconds`.
public struct ScheduleInform: Hashable, Sendable {
    /// Seconds from now (at least 1).
    public var delaySeconds: UInt32
    /// Returned in the `M ScheduleInform` event.
    public var commandKey: String

    /// Creates a request.
    public init(delaySeconds: UInt32, commandKey: String = "") {
        self.delaySeconds = delaySeconds
        self.commandKey = commandKey
    }

    init(decoding node: XMLNode) throws(CWMPCodecError) {
        delaySeconds = try node.unsignedInt("DelaySeconds")
        commandKey = node.string("CommandKey")
    }

    func encode(into writer: inout XMLWriter) {
        writer.element("DelaySeconds", delaySeconds)
        writer.element("CommandKey", commandKey)
    }
}

/// `Kicked` (optional, A.4.2.1): a web page on the CPE sent the user to the ACS.
public struct Kicked: Hashable, Sendable {
    /// The command the page asked for.
    public var command: String
    /// The page the user came from.
    public var referer: String
    /// The command's argument.
    public var arg: String
    /// Where to send the user next.
    public var next: String

    /// Creates a request.
    public init(command: String, referer: String, arg: String, next: String) {
        self.command = command
        self.referer = referer
        self.arg = arg
        self.next = next
    }

    init(decoding node: XMLNode) {
        command = node.string("Command")
        referer = node.string("Referer")
        arg = node.string("Arg")
        next = node.string("Next")
    }

    func encode(into writer: inout XMLWriter) {
        writer.element("Command", command)
        writer.element("Referer", referer)
        writer.element("Arg", arg)
        writer.element("Next", next)
    }
}

/// `KickedResponse`.
public struct KickedResponse: Hashable, Sendable {
    /// Where the CPE's web server redirects the user.
    public var nextURL: String

    /// Creates a response.
    public init(nextURL: String) {
        self.nextURL = nextURL
    }

    init(decoding node: XMLNode) {
        nextURL = node.string("NextURL")
    }

    func encode(into writer: inout XMLWriter) {
        writer.element("NextURL", nextURL)
    }
}
