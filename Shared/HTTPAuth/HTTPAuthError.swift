/// An `Authorization` or `WWW-Authenticate` header was refused, or no `Authorization` value could
/// be built for a challenge.
///
/// The ``message`` names parameters and byte offsets but never quotes a header's values, since
/// those may carry a password (Basic) or a user name: it is safe to log and to count.
public struct HTTPAuthError: Error, Sendable, Hashable, CustomStringConvertible {
    /// What kind of problem it is.
    public enum Code: String, Sendable, Hashable, CaseIterable, CustomStringConvertible {
        /// The header is longer than ``AuthHeaderLimits/maxBytes``, or has more parameters than
        /// ``AuthHeaderLimits/maxParameters``.
        case tooLarge
        /// The header is empty or only whitespace.
        case empty
        /// The header does not follow the RFC 9110 §11 syntax (scheme, token68 or parameter
        /// list, quoted strings).
        case malformed
        /// The same parameter appears twice (names compare case-insensitively).
        case duplicateParameter
        /// A parameter the scheme requires is absent.
        case missingParameter
        /// A parameter is present but its value is not acceptable (e.g. `nc` not 8 hex digits).
        case invalidParameter
        /// Bytes that are not valid UTF-8, or a Basic token that is not valid base64.
        case invalidEncoding
        /// An `Authorization` scheme other than Basic or Digest, or more than one credentials.
        case unsupportedScheme
        /// Client side: no challenge offered a scheme, algorithm and qop this library can answer.
        case noUsableChallenge
        /// Client side: only Basic was offered and the caller did not allow it.
        case basicNotAllowed
        /// A configuration value cannot work (a secret too short).
        case invalidConfiguration

        /// The code's name, e.g. `malformed`.
        public var description: String { rawValue }
    }

    /// What kind of problem it is.
    public var code: Code
    /// What was wrong, for people; never contains a header value.
    public var message: String
    /// The byte offset in the header where the problem was found, when it is known.
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

    /// `code: message at byte N (file:line)`.
    public var description: String {
        let position = offset.map { " at byte \($0)" } ?? ""
        return "\(code): \(message)\(position) (\(file):\(line))"
    }

    /// Errors compare by what went wrong, not where in our source it was noticed.
    public static func == (lhs: HTTPAuthError, rhs: HTTPAuthError) -> Bool {
        lhs.code == rhs.code && lhs.message == rhs.message && lhs.offset == rhs.offset
    }

    /// Hashes what ``==(_:_:)`` compares.
    public func hash(into hasher: inout Hasher) {
        hasher.combine(code)
        hasher.combine(message)
        hasher.combine(offset)
    }

    /// A parameter name fit for a message: parameter names are tokens chosen by the sender, so
    /// they are cut short, but they are not secret.
    static func name(_ text: String) -> String {
        text.count <= 32 ? "'\(text)'" : "'\(text.prefix(32))…'"
    }
}

/// How much header the parsers accept before refusing it. Real Digest headers are a few hundred
/// bytes; the limits only stop a client from making us scan megabytes.
public struct AuthHeaderLimits: Sendable, Hashable {
    /// Longest accepted header value, in bytes (default 8 KiB).
    public var maxBytes: Int
    /// Most parameters in one challenge or credentials (default 32).
    public var maxParameters: Int

    /// Creates limits; every argument has the documented default.
    public init(maxBytes: Int = 8 << 10, maxParameters: Int = 32) {
        self.maxBytes = maxBytes
        self.maxParameters = maxParameters
    }

    /// The default limits.
    public static let `default` = AuthHeaderLimits()
}
