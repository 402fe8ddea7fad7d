/// The `msg_id` of a request this controller sends, built so the agent's response (which repeats
/// it) leads back to what caused the request without any state in the ingress.
///
/// - Command requests: `tf/cmd/<attempt>/<step>/<command ID>`. The attempt tells a late answer to
///   an earlier delivery from the current one; the step numbers the requests of one command
///   (every command kind takes one request today, step 0).
/// - Controller requests (subscriptions, synchronisation): `tf/ctl/<purpose>/<token>`, with a
///   purpose such as `subscribe` or `sync` and a token the caller makes unique.
///
/// The command ID comes last so it may contain any character, `/` included.
public enum USPMessageID: Hashable, Sendable, CustomStringConvertible {
    /// Step `step` of delivery attempt `attempt` of the command `commandID`.
    case command(commandID: String, attempt: UInt32, step: UInt32)
    /// A request of the controller's own, e.g. `purpose` `subscribe` with a token. The purpose
    /// is one word without `/`; the token may be anything non-empty.
    case controller(purpose: String, token: String)

    /// The text sent as `msg_id`.
    public var rawValue: String {
        switch self {
        case .command(let commandID, let attempt, let step): "tf/cmd/\(attempt)/\(step)/\(commandID)"
        case .controller(let purpose, let token): "tf/ctl/\(purpose)/\(token)"
        }
    }

    /// The text sent as `msg_id`.
    public var description: String { rawValue }

    /// Reads a `msg_id` this controller made; nil for anything else (e.g. an agent's own Notify
    /// IDs, or a malformed one).
    public init?(parsing text: String) {
        let parts = text.split(separator: "/", maxSplits: 4, omittingEmptySubsequences: false)
        guard parts.count >= 4, parts[0] == "tf" else { return nil }
        switch parts[1] {
        case "cmd":
            guard parts.count == 5, let attempt = Self.number(parts[2]), let step = Self.number(parts[3]), !parts[4].isEmpty else { return nil }
            self = .command(commandID: String(parts[4]), attempt: attempt, step: step)
        case "ctl":
            // The token may contain '/', so everything after the purpose is the token.
            let purpose = parts[2]
            guard !purpose.isEmpty else { return nil }
            let token = text.utf8.dropFirst("tf/ctl/".utf8.count + purpose.utf8.count + 1)
            guard !token.isEmpty else { return nil }
            self = .controller(purpose: String(purpose), token: String(Substring(token)))
        default:
            return nil
        }
    }

    /// The command this request belongs to, if it is a command request.
    public var commandID: String? {
        if case .command(let commandID, _, _) = self { return commandID }
        return nil
    }

    /// Strict decimal (no sign, no leading zeros except `0`), so that one ID has one spelling.
    private static func number(_ text: Substring) -> UInt32? {
        guard !text.isEmpty, text.utf8.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }),
              text == "0" || text.first != "0" else { return nil }
        return UInt32(text)
    }
}
