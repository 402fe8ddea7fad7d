/// A USP Record was refused. Every error says what the controller does about it (``action``):
/// nothing (the record is dropped, as TR-369 R-MTP.5 asks for input that cannot be answered), or
/// a DisconnectRecord with a 71xx reason code to the agent (``fromID``) before closing.
public struct USPRecordError: Error, Hashable, Sendable, CustomStringConvertible {
    /// What kind of record was refused.
    public enum Code: String, Hashable, Sendable, CaseIterable, CustomStringConvertible {
        /// Larger than ``USPLimits/maxRecordBytes``; not parsed.
        case tooLarge
        /// The bytes are not a protobuf `Record` (or nest deeper than the limit).
        case notProtobuf
        /// `version` is empty, not `major.minor`, or a major version other than 1.
        case unsupportedVersion
        /// `to_id` is empty.
        case missingToID
        /// `to_id` is not this controller's endpoint ID.
        case wrongRecipient
        /// `from_id` is empty: there is no one to answer.
        case missingFromID
        /// `from_id` is not the endpoint the transport authenticated.
        case unexpectedSender
        /// A SessionContext record: this controller does not run E2E sessions.
        case sessionContextNotSupported
        /// `payload_security` is not PLAINTEXT on a record without a session context.
        case payloadSecurityNotSupported
        /// No record type is set, or one this version does not know, or a UDSConnect record.
        case unsupportedRecordType
        /// A NoSessionContext record with an empty payload.
        case emptyPayload
        /// The record could not be serialized (only for absurd sizes).
        case encodingFailed

        /// The code's name, e.g. `wrongRecipient`.
        public var description: String { rawValue }
    }

    /// What the controller does about a refused record.
    public enum Action: Hashable, Sendable {
        /// Drop it and send nothing (counted and logged by the caller).
        case ignore
        /// Send a DisconnectRecord with this reason code and the error's message to ``fromID``,
        /// then close the connection.
        case disconnect(USPErrorCode)
    }

    /// What kind of record was refused.
    public var code: Code
    /// What was wrong, for people; safe to put in a DisconnectRecord's `reason`.
    public var message: String
    /// The sender, when the record got far enough to say.
    public var fromID: String?
    /// The source file that raised the error (`#fileID`).
    public var file: String
    /// The source line that raised the error.
    public var line: Int

    /// Creates an error; `file` and `line` default to the caller's location.
    public init(_ code: Code, _ message: String, fromID: String? = nil, file: String = #fileID, line: Int = #line) {
        self.code = code
        self.message = message
        self.fromID = fromID
        self.file = file
        self.line = line
    }

    /// What the controller does: a DisconnectRecord for records from a known agent that it
    /// must stop sending (a session context: 7106; encrypted payload: 7104; a version it cannot
    /// speak: 7104), and nothing for everything else, since either there is no one to answer or
    /// the record was not meant for this controller.
    public var action: Action {
        switch code {
        case .sessionContextNotSupported: fromID == nil ? .ignore : .disconnect(.sessionContextNotAllowed)
        case .payloadSecurityNotSupported, .unsupportedVersion: fromID == nil ? .ignore : .disconnect(.recordFieldInvalid)
        case .tooLarge, .notProtobuf, .missingToID, .wrongRecipient, .missingFromID, .unexpectedSender,
             .unsupportedRecordType, .emptyPayload, .encodingFailed:
            .ignore
        }
    }

    /// `code: message (file:line)`.
    public var description: String { "\(code): \(message) (\(file):\(line))" }

    /// Errors compare by what went wrong, not where in our source it was noticed.
    public static func == (lhs: USPRecordError, rhs: USPRecordError) -> Bool {
        lhs.code == rhs.code && lhs.message == rhs.message && lhs.fromID == rhs.fromID
    }

    /// Hashes what ``==(_:_:)`` compares.
    public func hash(into hasher: inout Hasher) {
        hasher.combine(code)
        hasher.combine(message)
        hasher.combine(fromID)
    }
}

/// A quoted copy of `text` for error messages, cut at `limit` characters with control characters
/// escaped, so junk from a device never floods a log line or a reason string.
func quoted(_ text: some StringProtocol, limit: Int = 64) -> String {
    var result = "\""
    var count = 0
    for scalar in text.unicodeScalars {
        if count == limit {
            result += "…"
            break
        }
        if scalar.value < 0x20 || scalar.value == 0x7F {
            result += scalar.escaped(asASCII: true)
        } else {
            result.unicodeScalars.append(scalar)
        }
        count += 1
    }
    return result + "\""
}
