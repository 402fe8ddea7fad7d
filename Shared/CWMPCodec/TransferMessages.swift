#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import TwinfleetModel

/// `Download`: the ACS asks the CPE to fetch a file (firmware, configuration…).
public struct Download: Hashable, Sendable {
    /// Returned in TransferComplete and the `M Download` event.
    public var commandKey: String
    /// `1 Firmware Upgrade Image`, `3 Vendor Configuration File`, `X <OUI> …`.
    public var fileType: String
    /// Where to fetch the file.
    public var url: String
    /// Credentials for the file server; empty for none. Kept verbatim (spaces can matter).
    public var username: String
    /// See ``username``.
    public var password: String
    /// The file's size in bytes, 0 when unknown.
    public var fileSize: UInt32
    /// The name to store the file under; empty for the CPE's choice.
    public var targetFileName: String
    /// Seconds to wait before starting.
    public var delaySeconds: UInt32
    /// Where the CPE may send the user after success (usually empty).
    public var successURL: String
    /// Where the CPE may send the user after failure (usually empty).
    public var failureURL: String

    /// Creates a request.
    public init(commandKey: String, fileType: String, url: String, username: String = "", password: String = "",
                fileSize: UInt32 = 0, targetFileName: String = "", delaySeconds: UInt32 = 0,
                successURL: String = "", failureURL: String = "") {
        self.commandKey = commandKey
        self.fileType = fileType
        self.url = url
        self.username = username
        self.password = password
        self.fileSize = fileSize
        self.targetFileName = targetFileName
        self.delaySeconds = delaySeconds
        self.successURL = successURL
        self.failureURL = failureURL
    }

    init(decoding node: XMLNode) throws(CWMPCodecError) {
        commandKey = node.string("CommandKey")
        fileType = node.string("FileType")
        url = node.string("URL")
        username = node.string("Username", trimmed: false)
        password = node.string("Password", trimmed: false)
        fileSize = try node.unsignedInt("FileSize", default: 0)
        targetFileName = node.string("TargetFileName")
        delaySeconds = try node.unsignedInt("DelaySeconds", default: 0)
        successURL = node.string("SuccessURL")
        failureURL = node.string("FailureURL")
    }

    func encode(into writer: inout XMLWriter) {
        writer.element("CommandKey", commandKey)
        writer.element("FileType", fileType)
        writer.element("URL", url)
        writer.element("Username", username)
        writer.element("Password", password)
        writer.element("FileSize", fileSize)
        writer.element("TargetFileName", targetFileName)
        writer.element("DelaySeconds", delaySeconds)
        writer.element("SuccessURL", successURL)
        writer.element("FailureURL", failureURL)
    }
}

/// `Upload`: the ACS asks the CPE to send a file (configuration, log…).
public struct Upload: Hashable, Sendable {
    /// Returned in TransferComplete and the `M Upload` event.
    public var commandKey: String
    /// `1 Vendor Configuration File`, `2 Vendor Log File`, `X <OUI> …`.
    public var fileType: String
    /// Where to send the file.
    public var url: String
    /// Credentials for the file server, verbatim.
    public var username: String
    /// See ``username``.
    public var password: String
    /// Seconds to wait before starting.
    public var delaySeconds: UInt32

    /// Creates a request.
    public init(commandKey: String, fileType: String, url: String, username: String = "", password: String = "", delaySeconds: UInt32 = 0) {
        self.commandKey = commandKey
        self.fileType = fileType
        self.url = url
        self.username = username
        self.password = password
        self.delaySeconds = delaySeconds
    }

    init(decoding node: XMLNode) throws(CWMPCodecError) {
        commandKey = node.string("CommandKey")
        fileType = node.string("FileType")
        url = node.string("URL")
        username = node.string("Username", trimmed: false)
        password = node.string("Password", trimmed: false)
        delaySeconds = try node.unsignedInt("DelaySeconds", default: 0)
    }

    func encode(into writer: inout XMLWriter) {
        writer.element("CommandKey", commandKey)
        writer.element("FileType", fileType)
        writer.element("URL", url)
        writer.element("Username", username)
        writer.element("Password", password)
        writer.element("DelaySeconds", delaySeconds)
    }
}

/// `DownloadResponse` and `UploadResponse`: done already, or a TransferComplete will follow.
public struct TransferResponse: Hashable, Sendable {
    /// ``ApplyStatus/applied``: the transfer is complete; ``ApplyStatus/pending``: not yet.
    public var status: ApplyStatus
    /// When the transfer started (unknown time when pending).
    public var startTime: Date
    /// When it completed (unknown time when pending).
    public var completeTime: Date

    /// Creates a response.
    public init(status: ApplyStatus, startTime: Date = ParameterValue.unknownTime, completeTime: Date = ParameterValue.unknownTime) {
        self.status = status
        self.startTime = startTime
        self.completeTime = completeTime
    }

    init(decoding node: XMLNode) throws(CWMPCodecError) {
        status = try ApplyStatus.decode(node)
        startTime = try node.optionalDateTime("StartTime")
        completeTime = try node.optionalDateTime("CompleteTime")
    }

    func encode(into writer: inout XMLWriter) {
        writer.element("Status", status.rawValue)
        writer.dateTime("StartTime", startTime)
        writer.dateTime("CompleteTime", completeTime)
    }
}

/// `FaultStruct` of TransferComplete: code 0 means success.
public struct TransferFault: Hashable, Sendable {
    /// ``CWMPFaultCode/noFault`` or a 9xxx transfer fault.
    public var code: CWMPFaultCode
    /// The CPE's explanation; empty on success.
    public var string: String

    /// Creates a fault struct.
    public init(code: CWMPFaultCode, string: String = "") {
        self.code = code
        self.string = string
    }

    /// Success.
    public static let success = TransferFault(code: .noFault)

    /// True when the transfer succeeded.
    public var isSuccess: Bool { code == .noFault }

    /// Reads `FaultStruct`; a missing one is success, and so is the text-only `<FaultStruct>0</FaultStruct>`
    /// some CPEs send (any text-only number is taken as the code).
    init(decoding parent: XMLNode) throws(CWMPCodecError) {
        guard let node = parent.child("FaultStruct") else {
            self = .success
            return
        }
        if !node.hasChildren {
            let text = node.trimmedText
            guard text.isEmpty || UInt32(text) != nil else {
                throw CWMPCodecError(.invalidArguments, "\(parent.name): FaultStruct \(CWMPCodecError.quote(text)) is not a fault code", offset: node.offset)
            }
            self.init(code: CWMPFaultCode(UInt32(text) ?? 0))
            return
        }
        self.init(code: CWMPFaultCode(try node.unsignedInt("FaultCode", default: 0)), string: node.string("FaultString"))
    }

    func encode(into writer: inout XMLWriter) {
        writer.open("FaultStruct")
        writer.element("FaultCode", code.rawValue)
        writer.element("FaultString", string)
        writer.close("FaultStruct")
    }
}

/// `TransferComplete`: the CPE reports the end of a Download, Upload or ScheduleDownload.
public struct TransferComplete: Hashable, Sendable {
    /// The command key of the transfer request.
    public var commandKey: String
    /// Success, or why it failed.
    public var fault: TransferFault
    /// When the transfer started.
    public var startTime: Date
    /// When it ended.
    public var completeTime: Date

    /// Creates a request.
    public init(commandKey: String, fault: TransferFault = .success, startTime: Date, completeTime: Date) {
        self.commandKey = commandKey
        self.fault = fault
        self.startTime = startTime
        self.completeTime = completeTime
    }

    init(decoding node: XMLNode) throws(CWMPCodecError) {
        commandKey = node.string("CommandKey")
        fault = try TransferFault(decoding: node)
        startTime = try node.optionalDateTime("StartTime")
        completeTime = try node.optionalDateTime("CompleteTime")
    }

    func encode(into writer: inout XMLWriter) {
        writer.element("CommandKey", commandKey)
        fault.encode(into: &writer)
        writer.dateTime("StartTime", startTime)
        writer.dateTime("CompleteTime", completeTime)
    }
}

/// `AutonomousTransferComplete`: the CPE reports a transfer the ACS did not ask for.
public struct AutonomousTransferComplete: Hashable, Sendable {
    /// The URL on which the transfer was announced (multicast), often empty.
    public var announceURL: String
    /// The file's URL.
    public var transferURL: String
    /// True for a download, false for an upload.
    public var isDownload: Bool
    /// The file type, as in Download.
    public var fileType: String
    /// The file's size in bytes.
    public var fileSize: UInt32
    /// The name the file was stored under.
    public var targetFileName: String
    /// Success, or why it failed.
    public var fault: TransferFault
    /// When the transfer started.
    public var startTime: Date
    /// When it ended.
    public var completeTime: Date

    /// Creates a request.
    public init(announceURL: String = "", transferURL: String, isDownload: Bool, fileType: String, fileSize: UInt32,
                targetFileName: String = "", fault: TransferFault = .success, startTime: Date, completeTime: Date) {
        self.announceURL = announceURL
        self.transferURL = transferURL
        self.isDownload = isDownload
        self.fileType = fileType
        self.fileSize = fileSize
        self.targetFileName = targetFileName
        self.fault = fault
        self.startTime = startTime
        self.completeTime = completeTime
    }

    init(decoding node: XMLNode) throws(CWMPCodecError) {
        announceURL = node.string("AnnounceURL")
        transferURL = node.string("TransferURL")
        isDownload = try node.boolean("IsDownload")
        fileType = node.string("FileType")
        fileSize = try node.unsignedInt("FileSize", default: 0)
        targetFileName = node.string("TargetFileName")
        fault = try TransferFault(decoding: node)
        startTime = try node.optionalDateTime("StartTime")
        completeTime = try node.optionalDateTime("CompleteTime")
    }

    func encode(into writer: inout XMLWriter) {
        writer.element("AnnounceURL", announceURL)
        writer.element("TransferURL", transferURL)
        writer.element("IsDownload", isDownload)
        writer.element("FileType", fileType)
        writer.element("FileSize", fileSize)
        writer.element("TargetFileName", targetFileName)
        fault.encode(into: &writer)
        writer.dateTime("StartTime", startTime)
        writer.dateTime("CompleteTime", completeTime)
    }
}

extension XMLNode {
    /// An `xsd:dateTime` child where absence means unknown time (response fields a pending
    /// transfer has no value for).
    func optionalDateTime(_ field: String) throws(CWMPCodecError) -> Date {
        if child(field) == nil { return ParameterValue.unknownTime }
        return try dateTime(field)
    }
}

extension XMLWriter {
    /// `<name>2024-06-10T23:04:00Z</name>`.
    mutating func dateTime(_ name: StaticString, _ date: Date) {
        element(name, ParameterValue.dateTime(date).wireString)
    }
}
