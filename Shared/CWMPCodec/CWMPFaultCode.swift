/// A CWMP fault code (TR-069 Amendment 6, A.5.1 and A.5.2): 8000–8899 raised by the ACS,
/// 9000–9899 raised by the CPE, 0 for "no fault" in a TransferComplete.
///
/// A struct rather than an enum because vendors use their own codes (8800–8899, 9800–9899) and
/// later amendments add more; the standard ones are named constants with their meanings.
public struct CWMPFaultCode: RawRepresentable, Hashable, Sendable, Comparable, CustomStringConvertible {
    /// The numeric code.
    public var rawValue: UInt32

    /// Wraps a numeric code.
    public init(rawValue: UInt32) { self.rawValue = rawValue }

    /// Wraps a numeric code.
    public init(_ rawValue: UInt32) { self.rawValue = rawValue }

    /// 0: the transfer succeeded (only in `FaultStruct`).
    public static let noFault = Self(0)

    // ACS fault codes, sent by the ACS in answer to a CPE request.
    /// 8000 Method not supported.
    public static let methodNotSupported = Self(8000)
    /// 8001 Request denied (no reason specified).
    public static let requestDenied = Self(8001)
    /// 8002 Internal error.
    public static let internalError = Self(8002)
    /// 8003 Invalid arguments.
    public static let invalidArguments = Self(8003)
    /// 8004 Resources exceeded.
    public static let resourcesExceeded = Self(8004)
    /// 8005 Retry request.
    public static let retryRequest = Self(8005)

    // CPE fault codes, sent by the CPE in answer to an ACS request.
    /// 9000 Method not supported.
    public static let cpeMethodNotSupported = Self(9000)
    /// 9001 Request denied (no reason specified).
    public static let cpeRequestDenied = Self(9001)
    /// 9002 Internal error.
    public static let cpeInternalError = Self(9002)
    /// 9003 Invalid arguments.
    public static let cpeInvalidArguments = Self(9003)
    /// 9004 Resources exceeded.
    public static let cpeResourcesExceeded = Self(9004)
    /// 9005 Invalid parameter name.
    public static let invalidParameterName = Self(9005)
    /// 9006 Invalid parameter type.
    public static let invalidParameterType = Self(9006)
    /// 9007 Invalid parameter value.
    public static let invalidParameterValue = Self(9007)
    /// 9008 Attempt to set a non-writable parameter.
    public static let nonWritableParameter = Self(9008)
    /// 9009 Notification request rejected.
    public static let notificationRequestRejected = Self(9009)
    /// 9010 File transfer failure.
    public static let fileTransferFailure = Self(9010)
    /// 9011 Upload failure.
    public static let uploadFailure = Self(9011)
    /// 9012 File transfer server authentication failure.
    public static let fileTransferAuthenticationFailure = Self(9012)
    /// 9013 Unsupported protocol for file transfer.
    public static let unsupportedTransferProtocol = Self(9013)
    /// 9014 File transfer failure: unable to join multicast group.
    public static let unableToJoinMulticastGroup = Self(9014)
    /// 9015 File transfer failure: unable to contact file server.
    public static let unableToContactFileServer = Self(9015)
    /// 9016 File transfer failure: unable to access file.
    public static let unableToAccessFile = Self(9016)
    /// 9017 File transfer failure: unable to complete download.
    public static let unableToCompleteDownload = Self(9017)
    /// 9018 File transfer failure: file corrupted.
    public static let fileCorrupted = Self(9018)
    /// 9019 File transfer failure: file authentication failure.
    public static let fileAuthenticationFailure = Self(9019)

    /// The meaning TR-069 gives the code, or a description of its range for vendor and future
    /// codes.
    public var meaning: String {
        if let known = Self.meanings[rawValue] { return known }
        switch rawValue {
        case 8800...8899: return "Vendor-specific ACS fault"
        case 9800...9899: return "Vendor-specific CPE fault"
        case 8000...8799: return "ACS fault"
        case 9000...9799: return "CPE fault"
        default: return "Unknown fault"
        }
    }

    /// True for codes raised by the ACS (8000–8899).
    public var isACSFault: Bool { (8000...8899).contains(rawValue) }
    /// True for codes raised by the CPE (9000–9899).
    public var isCPEFault: Bool { (9000...9899).contains(rawValue) }
    /// True for vendor-specific codes (8800–8899, 9800–9899).
    public var isVendorSpecific: Bool { (8800...8899).contains(rawValue) || (9800...9899).contains(rawValue) }

    /// Whether a SOAP fault with this code blames the sender (`Client`) or the receiver
    /// (`Server`): internal errors, exhausted resources and "retry" are the receiver's.
    public var soapFaultCode: SOAPFaultCode {
        switch rawValue {
        case 8002, 8004, 8005, 9002, 9004: .server
        default: .client
        }
    }

    /// `9005 Invalid parameter name`.
    public var description: String { "\(rawValue) \(meaning)" }

    /// Numeric order.
    public static func < (lhs: Self, rhs: Self) -> Bool { lhs.rawValue < rhs.rawValue }

    private static let meanings: [UInt32: String] = [
        0: "No fault",
        8000: "Method not supported",
        8001: "Request denied (no reason specified)",
        8002: "Internal error",
        8003: "Invalid arguments",
        8004: "Resources exceeded",
        8005: "Retry request",
        9000: "Method not supported",
        9001: "Request denied (no reason specified)",
        9002: "Internal error",
        9003: "Invalid arguments",
        9004: "Resources exceeded",
        9005: "Invalid parameter name",
        9006: "Invalid parameter type",
        9007: "Invalid parameter value",
        9008: "Attempt to set a non-writable parameter",
        9009: "Notification request rejected",
        9010: "File transfer failure",
        9011: "Upload failure",
        9012: "File transfer server authentication failure",
        9013: "Unsupported protocol for file transfer",
        9014: "File transfer failure: unable to join multicast group",
        9015: "File transfer failure: unable to contact file server",
        9016: "File transfer failure: unable to access file",
        9017: "File transfer failure: unable to complete download",
        9018: "File transfer failure: file corrupted",
        9019: "File transfer failure: file authentication failure",
        9020: "File transfer failure: unable to complete download within specified time windows",
        9021: "Cancelation of file transfer not permitted in current transfer state",
        9022: "Invalid UUID format",
        9023: "Unknown execution environment",
        9024: "Disabled execution environment",
        9025: "Deployment unit to execution environment mismatch",
        9026: "Duplicate deployment unit",
        9027: "System resources exceeded",
        9028: "Unknown deployment unit",
        9029: "Invalid deployment unit state",
        9030: "Invalid deployment unit update: downgrade not permitted",
        9031: "Invalid deployment unit update: version not specified",
        9032: "Invalid deployment unit update: version already exists",
    ]
}

/// SOAP 1.1's `faultcode`: whose fault it is.
public enum SOAPFaultCode: String, Hashable, Sendable, CaseIterable {
    /// The message sent was wrong.
    case client = "Client"
    /// The receiver failed to process a correct message.
    case server = "Server"

    /// Reads `Client`, `soap:Client`, `SOAP-ENV:Server`…: the prefix is ignored, and anything
    /// other than `Server` is taken as `Client`.
    init(tolerant text: String) {
        let local = text.split(separator: ":").last.map(String.init) ?? text
        self = local.lowercased().hasPrefix("server") ? .server : .client
    }
}
