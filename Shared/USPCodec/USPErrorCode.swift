/// A USP error code (TR-369 "Error Codes" table): 7000–7031 in Error messages, per-path results and
/// parameter errors, 7100–7106 in DisconnectRecords about a record, 7800–7999 for vendors.
///
/// A struct rather than an enum because agents send vendor codes and later versions add more; the
/// standard ones are named constants.
public struct USPErrorCode: RawRepresentable, Hashable, Sendable, Comparable, CustomStringConvertible {
    /// The numeric code (a `fixed32` on the wire).
    public var rawValue: UInt32

    /// Wraps a numeric code.
    public init(rawValue: UInt32) { self.rawValue = rawValue }

    /// Wraps a numeric code.
    public init(_ rawValue: UInt32) { self.rawValue = rawValue }

    // Message errors.
    /// 7000 Message failed: a general failure described in `err_msg`.
    public static let messageFailed = Self(7000)
    /// 7001 Message not supported: the message was not understood.
    public static let messageNotSupported = Self(7001)
    /// 7002 Request denied (no reason specified).
    public static let requestDenied = Self(7002)
    /// 7003 Internal error.
    public static let internalError = Self(7003)
    /// 7004 Invalid arguments.
    public static let invalidArguments = Self(7004)
    /// 7005 Resources exceeded.
    public static let resourcesExceeded = Self(7005)
    /// 7006 Permission denied.
    public static let permissionDenied = Self(7006)
    /// 7007 Invalid configuration: the result would be an invalid or unstable state.
    public static let invalidConfiguration = Self(7007)

    // Parameter and path errors.
    /// 7008 Invalid path syntax.
    public static let invalidPathSyntax = Self(7008)
    /// 7009 Parameter action failed.
    public static let parameterActionFailed = Self(7009)
    /// 7010 Unsupported parameter.
    public static let unsupportedParameter = Self(7010)
    /// 7011 Invalid type: the value could not be converted to the parameter's type.
    public static let invalidType = Self(7011)
    /// 7012 Invalid value: out of range or not one of the enumeration.
    public static let invalidValue = Self(7012)
    /// 7013 Attempt to update a non-writeable parameter.
    public static let parameterReadOnly = Self(7013)
    /// 7014 Value conflict.
    public static let valueConflict = Self(7014)

    // Object and command errors.
    /// 7015 Operation error: a general CRUD failure.
    public static let operationError = Self(7015)
    /// 7016 Object does not exist.
    public static let objectDoesNotExist = Self(7016)
    /// 7017 Object could not be created.
    public static let objectCouldNotBeCreated = Self(7017)
    /// 7018 Object is not a table (not multi-instance).
    public static let objectNotATable = Self(7018)
    /// 7019 Attempt to create a non-creatable object.
    public static let objectNotCreatable = Self(7019)
    /// 7020 Object could not be updated.
    public static let objectCouldNotBeUpdated = Self(7020)
    /// 7021 Required parameter failed.
    public static let requiredParameterFailed = Self(7021)
    /// 7022 Command failure.
    public static let commandFailure = Self(7022)
    /// 7023 Command canceled.
    public static let commandCanceled = Self(7023)
    /// 7024 Delete failure: the object is not deletable or could not be deleted.
    public static let deleteFailure = Self(7024)
    /// 7025 Object exists with duplicate key.
    public static let uniqueKeyConflict = Self(7025)
    /// 7026 Invalid path: not in the agent's supported data model.
    public static let invalidPath = Self(7026)
    /// 7027 Invalid command arguments.
    public static let invalidCommandArguments = Self(7027)
    /// 7028 Register failure.
    public static let registerFailure = Self(7028)
    /// 7029 Already in use: the path is already registered.
    public static let pathAlreadyRegistered = Self(7029)
    /// 7030 Deregister failure.
    public static let deregisterFailure = Self(7030)
    /// 7031 Path not owned by the USP Service that asked to deregister it.
    public static let notPathOwner = Self(7031)

    // Record errors (DisconnectRecord reason codes).
    /// 7100 Record could not be parsed.
    public static let recordNotParsed = Self(7100)
    /// 7101 Secure session required.
    public static let secureSessionRequired = Self(7101)
    /// 7102 Secure session not supported.
    public static let secureSessionNotSupported = Self(7102)
    /// 7103 Segmentation and reassembly not supported.
    public static let segmentationNotSupported = Self(7103)
    /// 7104 Invalid record value: a record field was invalid.
    public static let recordFieldInvalid = Self(7104)
    /// 7105 Session context terminated.
    public static let sessionContextTerminated = Self(7105)
    /// 7106 Session context not allowed.
    public static let sessionContextNotAllowed = Self(7106)

    /// True for 7800–7999, the range TR-369 leaves to vendors.
    public var isVendorSpecific: Bool { (7800...7999).contains(rawValue) }

    /// True when asking again later may succeed: 7003 (internal error) and 7005 (resources
    /// exceeded) describe the agent's momentary state, every other standard code the request.
    public var isRetriable: Bool { self == .internalError || self == .resourcesExceeded }

    /// TR-369's name for a standard code; `Vendor-specific error` or `Unknown error` otherwise.
    public var meaning: String {
        if let name = Self.names[rawValue] { return name }
        return isVendorSpecific ? "Vendor-specific error" : "Unknown error"
    }

    /// `7016 Object does not exist`.
    public var description: String { "\(rawValue) \(meaning)" }

    /// Orders by number.
    public static func < (lhs: USPErrorCode, rhs: USPErrorCode) -> Bool { lhs.rawValue < rhs.rawValue }

    private static let names: [UInt32: String] = [
        7000: "Message failed", 7001: "Message not supported", 7002: "Request denied",
        7003: "Internal error", 7004: "Invalid arguments", 7005: "Resources exceeded",
        7006: "Permission denied", 7007: "Invalid configuration", 7008: "Invalid path syntax",
        7009: "Parameter action failed", 7010: "Unsupported parameter", 7011: "Invalid type",
        7012: "Invalid value", 7013: "Attempt to update non-writeable parameter", 7014: "Value conflict",
        7015: "Operation error", 7016: "Object does not exist", 7017: "Object could not be created",
        7018: "Object is not a table", 7019: "Attempt to create non-creatable object",
        7020: "Object could not be updated", 7021: "Required parameter failed", 7022: "Command failure",
        7023: "Command canceled", 7024: "Delete failure", 7025: "Object exists with duplicate key",
        7026: "Invalid path", 7027: "Invalid command arguments", 7028: "Register failure",
        7029: "Already in use", 7030: "Deregister failure", 7031: "Path not owned",
        7100: "Record could not be parsed", 7101: "Secure session required",
        7102: "Secure session not supported", 7103: "Segmentation and reassembly not supported",
        7104: "Invalid record value", 7105: "Session context terminated", 7106: "Session context not allowed",
    ]
}
