import Foundation

/// Which agents may connect: endpoint IDs listed exactly, or by a prefix ending in `*`
/// (`os::012345-*`); `*` alone admits every agent (development). Empty admits none.
struct AgentPolicy: Sendable {
    private let exact: Set<String>
    private let prefixes: [String]

    /// Reads a list of entries (from USP_ALLOWED_AGENTS and USP_ALLOWED_AGENTS_FILE).
    init(entries: [String]) {
        var exact = Set<String>(), prefixes: [String] = []
        for raw in entries {
            let entry = raw.trimmingCharacters(in: .whitespaces)
            if entry.isEmpty || entry.hasPrefix("#") { continue }
            if entry.hasSuffix("*") { prefixes.append(String(entry.dropLast())) } else { exact.insert(entry) }
        }
        self.exact = exact
        self.prefixes = prefixes
    }

    /// Whether `endpointID` may connect.
    func allows(_ endpointID: String) -> Bool {
        guard !endpointID.isEmpty else { return false }
        return exact.contains(endpointID) || prefixes.contains { endpointID.hasPrefix($0) }
    }

    /// True when no agent at all is admitted (worth a warning at start).
    var admitsNone: Bool { exact.isEmpty && prefixes.isEmpty }
}
