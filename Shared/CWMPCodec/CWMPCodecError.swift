/// A CWMP message was refused: the bytes are not safe or well-formed XML, not a SOAP envelope, not
/// an RPC we know, or an RPC with missing or invalid arguments.
///
/// Every error maps to the CWMP fault the ACS replies with (``faultCode``), and its ``message`` is
/// precise enough to go into that fault's `FaultString` as it is: it names the element and quotes
/// (a truncated copy of) the offending text, never a whole value.
public struct CWMPCodecError: Error, Sendable, Hashable, CustomStringConvertible {
    /// What kind of input was refused.
    public enum Code: String, Sendable, Hashable, CaseIterable, CustomStringConvertible {
        /// The input is larger than ``CWMPDecodingLimits/maxBytes``.
        case tooLarge
        /// Elements nest deeper than ``CWMPDecodingLimits/maxDepth``.
        case tooDeep
        /// More elements than ``CWMPDecodingLimits/maxElements``, or more attributes on one element
        /// than ``CWMPDecodingLimits/maxAttributesPerElement``.
        case tooManyNodes
        /// The bytes are not valid UTF-8 (or hold a character XML forbids).
        case invalidUTF8
        /// A `<!DOCTYPE` or `<!ENTITY` declaration: refused outright, since DTDs are what
        /// external-entity (XXE) and entity-expansion ("billion laughs") attacks need.
        case forbiddenDeclaration
        /// An entity reference other than the five predefined ones or a numeric reference.
        case unknownEntity
        /// The XML is not well-formed (including input that ends too early).
        case malformedXML
        /// Well-formed XML that is not a SOAP envelope with a body.
        case notAnEnvelope
        /// The body names an RPC this codec does not know.
        case unknownMethod
        /// A known RPC with a missing or invalid argument.
        case invalidArguments

        /// The code's name, e.g. `malformedXML`.
        public var description: String { rawValue }
    }

    /// What kind of input was refused.
    public var code: Code
    /// What was wrong, for people; safe to send back in a fault string.
    public var message: String
    /// The byte offset in the input where the problem was found, when it is known.
    public var offset: Int?
    /// The source file that raised the error (`#fileID`).
    public var file: String
    /// The source line that raised the error.
    public var line: Int

    /// Creates an error; `file` and `line` default to the caller's location.
    public init(_ code: Code, _ message: String, offset: Int? = nil, file: String = #fileID, line: Int = #line) {
        self.code = code
        self.message = message
        self.offset = offset
        self.file = file
        self.line = line
    }

    /// The CWMP fault to answer with: 8000 for an unknown method, 8003 for bad arguments, 8004
    /// when a limit was hit, and 8002 for input that could not be read as a SOAP message at all.
    public var faultCode: CWMPFaultCode {
        switch code {
        case .unknownMethod: .methodNotSupported
        case .invalidArguments: .invalidArguments
        case .tooLarge, .tooDeep, .tooManyNodes: .resourcesExceeded
        case .invalidUTF8, .forbiddenDeclaration, .unknownEntity, .malformedXML, .notAnEnvelope: .internalError
        }
    }

    /// The fault to send back to the CPE for this error.
    public var fault: CWMPFault {
        CWMPFault(code: faultCode, string: message)
    }

    /// `code: message at byte N (file:line)`.
    public var description: String {
        let position = offset.map { " at byte \($0)" } ?? ""
        return "\(code): \(message)\(position) (\(file):\(line))"
    }

    /// Errors compare by what went wrong, not where in our source it was noticed.
    public static func == (lhs: CWMPCodecError, rhs: CWMPCodecError) -> Bool {
        lhs.code == rhs.code && lhs.message == rhs.message && lhs.offset == rhs.offset
    }

    /// Hashes what ``==(_:_:)`` compares.
    public func hash(into hasher: inout Hasher) {
        hasher.combine(code)
        hasher.combine(message)
        hasher.combine(offset)
    }

    /// A quoted copy of `text` for messages, cut at `limit` characters and with control
    /// characters escaped, so a megabyte of junk never ends up in a fault string or a log line.
    static func quote(_ text: some StringProtocol, limit: Int = 64) -> String {
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
}

/// How much input the decoder accepts before refusing it. The defaults fit the largest real
/// Informs and GetParameterValuesResponses (a full TR-181 tree is about 1 MiB) with room to spare.
public struct CWMPDecodingLimits: Sendable, Hashable {
    /// Largest accepted input, in bytes (default 4 MiB).
    public var maxBytes: Int
    /// Deepest accepted element nesting (default 64; CWMP itself needs 7).
    public var maxDepth: Int
    /// Most elements in one envelope (default 200 000).
    public var maxElements: Int
    /// Most attributes on one element, namespace declarations included (default 64).
    public var maxAttributesPerElement: Int

    /// Creates limits; every argument has the documented default.
    public init(maxBytes: Int = 4 << 20, maxDepth: Int = 64, maxElements: Int = 200_000, maxAttributesPerElement: Int = 64) {
        self.maxBytes = maxBytes
        self.maxDepth = maxDepth
        self.maxElements = maxElements
        self.maxAttributesPerElement = maxAttributesPerElement
    }

    /// The default limits.
    public static let `default` = CWMPDecodingLimits()
}
