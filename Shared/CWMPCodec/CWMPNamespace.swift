/// The `cwmp` XML namespace of an envelope, `urn:dslforum-org:cwmp-1-N`.
///
/// TR-069 defines namespaces 1-0 (CWMP 1.0), 1-1 (CWMP 1.1) and 1-2 (CWMP 1.2 to 1.4, Amendment 3
/// to 6). Some CPEs nevertheless write `cwmp-1-3` or `cwmp-1-4` for protocol 1.3/1.4; they are
/// accepted and echoed back, since a CPE understands best the namespace it chose itself.
public enum CWMPNamespace: Int, Hashable, Sendable, CaseIterable, Comparable {
    /// `urn:dslforum-org:cwmp-1-0`: the default, understood by every CPE.
    case v1_0 = 0
    /// `urn:dslforum-org:cwmp-1-1`.
    case v1_1 = 1
    /// `urn:dslforum-org:cwmp-1-2`: CWMP 1.2, 1.3 and 1.4.
    case v1_2 = 2
    /// `urn:dslforum-org:cwmp-1-3` (not an official namespace; seen on CPEs).
    case v1_3 = 3
    /// `urn:dslforum-org:cwmp-1-4` (not an official namespace; seen on CPEs).
    case v1_4 = 4

    /// The namespace URI.
    public var uri: String { "urn:dslforum-org:cwmp-1-\(rawValue)" }

    /// Recognises `urn:dslforum-org:cwmp-1-0` … `cwmp-1-4` (case-insensitively, surrounding
    /// whitespace ignored); nil for anything else.
    public init?(uri: String) {
        let text = uri.lowercased().split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\n" || $0 == "\r" }).first ?? ""
        guard text.hasPrefix(Self.prefix), let minor = Int(text.dropFirst(Self.prefix.count)),
              let namespace = CWMPNamespace(rawValue: minor) else { return nil }
        self = namespace
    }

    /// The namespace to use for a negotiated protocol version (`1.0` … `1.4`): 1.2 and later
    /// share `cwmp-1-2`. Nil for a version this codec does not know.
    public init?(protocolVersion: String) {
        switch protocolVersion.trimming(" \t") {
        case "1.0": self = .v1_0
        case "1.1": self = .v1_1
        case "1.2", "1.3", "1.4": self = .v1_2
        default: return nil
        }
    }

    /// Namespaces order by version.
    public static func < (lhs: Self, rhs: Self) -> Bool { lhs.rawValue < rhs.rawValue }

    static let prefix = "urn:dslforum-org:cwmp-1-"
}

extension String {
    /// The string without leading and trailing characters from `set` (a tiny stand-in for
    /// Foundation's, so this file needs no Foundation).
    func trimming(_ set: String) -> String {
        let drop = Set(set)
        guard let start = firstIndex(where: { !drop.contains($0) }), let end = lastIndex(where: { !drop.contains($0) }) else { return "" }
        return String(self[start...end])
    }
}
