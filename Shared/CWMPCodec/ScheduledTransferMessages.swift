/// `ScheduleDownload` (optional, A.4.1.8): a download within time windows.
public struct ScheduleDownload: Hashable, Sendable {
    /// Returned in TransferComplete and the `M ScheduleDownload` event.
    public var commandKey: String
    /// The file type, as in Download.
    public var fileType: String
    /// Where to fetch the file.
    public var url: String
    /// Credentials for the file server, verbatim.
    public var username: String
    /// See ``username``.
    public var password: String
    /// The file's size in bytes, 0 when unknown.
    public var fileSize: UInt32
    /// The name to store the file under.
    public var targetFileName: String
    /// One or two windows in which to download and apply.
    public var timeWindowList: [TimeWindowStruct]

    /// Creates a request.
    public init(commandKey: String, fileType: String, url: String, username: String = "", password: String = "",
                fileSize: UInt32 = 0, targetFileName: String = "", timeWindowList: [TimeWindowStruct]) {
        self.commandKey = commandKey
        self.fileType = fileType
        self.url = url
        self.username = username
        self.password = password
        self.fileSize = fileSize
        self.targetFileName = targetFileName
        self.timeWindowList = timeWindowList
    }

    init(decoding node: XMLNode) throws(CWMPCodecError) {
        commandKey = node.string("CommandKey")
        fileType = node.string("FileType")
        url = node.string("URL")
        username = node.string("Username", trimmed: false)
        password = node.string("Password", trimmed: false)
        fileSize = try node.unsignedInt("FileSize", default: 0)
        targetFileName = node.string("TargetFileName")
        var windows: [TimeWindowStruct] = []
        for item in node.array("TimeWindowList") { windows.append(try TimeWindowStruct(decoding: item)) }
        timeWindowList = windows
    }

    func encode(into writer: inout XMLWriter) {
        writer.element("CommandKey", commandKey)
        writer.element("FileType", fileType)
        writer.element("URL", url)
        writer.element("Username", username)
        writer.element("Password", password)
        writer.element("FileSize", fileSize)
        writer.element("TargetFileName", targetFileName)
        writer.openArray("TimeWindowList", type: "cwmp:TimeWindowStruct", count: timeWindowList.count)
        for window in timeWindowList { window.encode(into: &writer) }
        writer.close("TimeWindowList")
    }
}

/// `TimeWindowStruct`: when a scheduled download may happen.
public struct TimeWindowStruct: Hashable, Sendable {
    /// Start, in seconds from the request.
    public var windowStart: UInt32
    /// End, in seconds from the request.
    public var windowEnd: UInt32
    /// `1 At Any Time`, `2 Immediately`, `3 When Idle`, `4 Confirmation Needed`.
    public var windowMode: String
    /// Shown to the user when confirmation is needed.
    public var userMessage: String
    /// Retries within the window; -1 for the CPE's default.
    public var maxRetries: Int32

    /// Creates a window.
    public init(windowStart: UInt32, windowEnd: UInt32, windowMode: String, userMessage: String = "", maxRetries: Int32 = -1) {
        self.windowStart = windowStart
        self.windowEnd = windowEnd
        self.windowMode = windowMode
        self.userMessage = userMessage
        self.maxRetries = maxRetries
    }

    init(decoding node: XMLNode) throws(CWMPCodecError) {
        windowStart = try node.unsignedInt("WindowStart")
        windowEnd = try node.unsignedInt("WindowEnd")
        windowMode = node.string("WindowMode")
        userMessage = node.string("UserMessage")
        maxRetries = try node.int("MaxRetries")
    }

    func encode(into writer: inout XMLWriter) {
        writer.open("TimeWindowStruct")
        writer.element("WindowStart", windowStart)
        writer.element("WindowEnd", windowEnd)
        writer.element("WindowMode", windowMode)
        writer.element("UserMessage", userMessage)
        writer.element("MaxRetries", maxRetries)
        writer.close("TimeWindowStruct")
    }
}

/// `CancelTransfer` (optional, A.4.1.9).
public struct CancelTransfer: Hashable, Sendable {
    /// The command key of the transfer to cancel.
    public var commandKey: String

    /// Creates a request.
    public init(commandKey: String) {
        self.commandKey = commandKey
    }

    init(decoding node: XMLNode) {
        commandKey = node.string("CommandKey")
    }

    func encode(into writer: inout XMLWriter) {
        writer.element("CommandKey", commandKey)
    }
}

/// `RequestDownload` (optional, A.4.2.2): the CPE asks the ACS for a file.
public struct RequestDownload: Hashable, Sendable {
    /// The file type wanted.
    public var fileType: String
    /// Type-specific arguments.
    public var fileTypeArg: [ArgStruct]

    /// Creates a request.
    public init(fileType: String, fileTypeArg: [ArgStruct] = []) {
        self.fileType = fileType
        self.fileTypeArg = fileTypeArg
    }

    init(decoding node: XMLNode) {
        fileType = node.string("FileType")
        fileTypeArg = node.array("FileTypeArg").map { ArgStruct(name: $0.string("Name"), value: $0.string("Value", trimmed: false)) }
    }

    func encode(into writer: inout XMLWriter) {
        writer.element("FileType", fileType)
        writer.openArray("FileTypeArg", type: "cwmp:ArgStruct", count: fileTypeArg.count)
        for arg in fileTypeArg {
            writer.open("ArgStruct")
            writer.element("Name", arg.name)
            writer.element("Value", arg.value)
            writer.close("ArgStruct")
        }
        writer.close("FileTypeArg")
    }
}

/// `ArgStruct`: one name/value argument of RequestDownload.
public struct ArgStruct: Hashable, Sendable {
    /// The argument's name.
    public var name: String
    /// Its value.
    public var value: String

    /// Creates an argument.
    public init(name: String, value: String) {
        self.name = name
        self.value = value
    }
}
