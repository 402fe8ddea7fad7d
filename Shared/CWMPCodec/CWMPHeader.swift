/// The CWMP fields of a SOAP `Header`. Every field is optional; absent ones are nil.
public struct CWMPHeader: Hashable, Sendable {
    /// `cwmp:ID`: pairs a response with its request; a response echoes the request's ID. Kept
    /// verbatim, since it must be echoed exactly.
    public var id: String?
    /// `cwmp:HoldRequests`: true asks the CPE to send no requests until the ACS says otherwise.
    public var holdRequests: Bool?
    /// `cwmp:NoMoreRequests` (CWMP 1.0, deprecated since): the sender has no more requests.
    public var noMoreRequests: Bool?
    /// `cwmp:SessionTimeout` (CWMP 1.2+): seconds the CPE waits for the ACS.
    public var sessionTimeout: UInt32?
    /// `cwmp:SupportedCWMPVersions` (CWMP 1.4): the CPE's protocol versions, e.g. `["1.0", "1.4"]`.
    public var supportedCWMPVersions: [String]?
    /// `cwmp:UseCWMPVersion` (CWMP 1.4): the version the ACS chose, e.g. `1.4`.
    public var useCWMPVersion: String?

    /// Creates a header.
    public init(id: String? = nil, holdRequests: Bool? = nil, noMoreRequests: Bool? = nil, sessionTimeout: UInt32? = nil,
                supportedCWMPVersions: [String]? = nil, useCWMPVersion: String? = nil) {
        self.id = id
        self.holdRequests = holdRequests
        self.noMoreRequests = noMoreRequests
        self.sessionTimeout = sessionTimeout
        self.supportedCWMPVersions = supportedCWMPVersions
        self.useCWMPVersion = useCWMPVersion
    }

    /// True when no field is set (the builder then leaves the `Header` out).
    public var isEmpty: Bool { self == CWMPHeader() }

    /// Reads the header's children by local name; unknown header entries are ignored.
    init(decoding node: XMLNode) throws(CWMPCodecError) {
        self.init()
        for child in node.children {
            switch child.name {
            case "ID": id = child.text
            case "HoldRequests": holdRequests = try node.boolean("HoldRequests")
            case "NoMoreRequests": noMoreRequests = try node.boolean("NoMoreRequests")
            case "SessionTimeout": sessionTimeout = try node.unsignedInt("SessionTimeout")
            case "SupportedCWMPVersions":
                supportedCWMPVersions = child.trimmedText.split(separator: ",").map { String($0).trimming(" \t\r\n") }.filter { !$0.isEmpty }
            case "UseCWMPVersion": useCWMPVersion = child.trimmedText
            default: continue
            }
        }
    }

    /// Writes `<soap-env:Header>` with the set fields, each with the `mustUnderstand` TR-069
    /// requires (1 for ID, HoldRequests, UseCWMPVersion; 0 for SessionTimeout and
    /// SupportedCWMPVersions).
    func encode(into writer: inout XMLWriter) {
        guard !isEmpty else { return }
        writer.open("soap-env:Header")
        if let id {
            writer.raw("<cwmp:ID soap-env:mustUnderstand=\"1\">")
            writer.text(id)
            writer.close("cwmp:ID")
        }
        if let holdRequests {
            writer.raw("<cwmp:HoldRequests soap-env:mustUnderstand=\"1\">")
            writer.raw(holdRequests ? "true" : "false")
            writer.close("cwmp:HoldRequests")
        }
        if let noMoreRequests {
            writer.element("cwmp:NoMoreRequests", noMoreRequests)
        }
        if let sessionTimeout {
            writer.raw("<cwmp:SessionTimeout soap-env:mustUnderstand=\"0\">")
            writer.raw(String(sessionTimeout))
            writer.close("cwmp:SessionTimeout")
        }
        if let supportedCWMPVersions {
            writer.raw("<cwmp:SupportedCWMPVersions soap-env:mustUnderstand=\"0\">")
            writer.text(supportedCWMPVersions.joined(separator: ","))
            writer.close("cwmp:SupportedCWMPVersions")
        }
        if let useCWMPVersion {
            writer.raw("<cwmp:UseCWMPVersion soap-env:mustUnderstand=\"1\">")
            writer.text(useCWMPVersion)
            writer.close("cwmp:UseCWMPVersion")
        }
        writer.close("soap-env:Header")
    }
}
