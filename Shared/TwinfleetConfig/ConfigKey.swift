#if canImport(Glibc)
import Glibc
#endif
import Foundation

/// One configuration key: a scoped name (`kafka.brokers`) read from its environment variable
/// (`KAFKA_BROKERS`), with a summary for the documented table and an optional default.
public struct ConfigKey: Hashable, Sendable, CustomStringConvertible {
    /// Scoped name, e.g. `http.port`.
    public let name: String
    /// What the key does (appears in docs/CONFIGURATION.md).
    public let summary: String
    /// Value used when the variable is unset; nil means the key is required.
    public let defaultValue: String?

    /// Creates a key.
    public init(_ name: String, default defaultValue: String?, _ summary: String) {
        self.name = name
        self.summary = summary
        self.defaultValue = defaultValue
    }

    /// The environment variable: upper-cased, with `.` and `-` turned into `_`.
    public var environmentName: String {
        String(name.uppercased().map { $0 == "." || $0 == "-" ? "_" : $0 })
    }

    public var description: String { "\(name) (\(environmentName))" }
}

/// A configuration value that is missing or does not parse.
public struct ConfigError: Error, Sendable, CustomStringConvertible {
    /// The key at fault.
    public let key: ConfigKey
    /// Why the value was refused.
    public let reason: String
    /// Creates an error.
    public init(key: ConfigKey, reason: String) {
        self.key = key
        self.reason = reason
    }
    public var description: String { "configuration \(key.environmentName): \(reason)" }
}

/// Reads typed configuration values from environment variables (or a dictionary in tests).
public struct ServiceConfig: Sendable {
    /// The variables read.
    public let environment: [String: String]

    /// Reads from the given variables (default: this process's environment).
    public init(environment: [String: String] = ProcessEnvironment.current) {
        self.environment = environment
    }

    /// The raw value or the default; nil when neither exists.
    public func optionalString(_ key: ConfigKey) -> String? {
        if let value = environment[key.environmentName], !value.isEmpty { return value }
        return key.defaultValue
    }

    /// A required string.
    public func string(_ key: ConfigKey) throws(ConfigError) -> String {
        guard let value = optionalString(key) else { throw ConfigError(key: key, reason: "is required") }
        return value
    }

    /// An integer, optionally bounded.
    public func int(_ key: ConfigKey, in range: ClosedRange<Int>? = nil) throws(ConfigError) -> Int {
        let text = try string(key)
        guard let value = Int(text.trimmingCharacters(in: .whitespaces)) else {
            throw ConfigError(key: key, reason: "\"\(text)\" is not an integer")
        }
        if let range, !range.contains(value) {
            throw ConfigError(key: key, reason: "\(value) is outside \(range.lowerBound)...\(range.upperBound)")
        }
        return value
    }

    /// A boolean (`true/false/1/0/yes/no`).
    public func bool(_ key: ConfigKey) throws(ConfigError) -> Bool {
        switch try string(key).lowercased() {
        case "true", "1", "yes", "on": return true
        case "false", "0", "no", "off": return false
        case let other: throw ConfigError(key: key, reason: "\"\(other)\" is not a boolean")
        }
    }

    /// A comma-separated list with blanks removed.
    public func list(_ key: ConfigKey) throws(ConfigError) -> [String] {
        try string(key).split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
    }
}

/// This process's environment variables.
public enum ProcessEnvironment {
    /// A snapshot of the environment.
    public static var current: [String: String] {
        var result: [String: String] = [:]
        var pointer = environ
        while let entry = pointer.pointee {
            let pair = String(cString: entry)
            if let equals = pair.firstIndex(of: "=") {
                result[String(pair[..<equals])] = String(pair[pair.index(after: equals)...])
            }
            pointer += 1
        }
        return result
    }
}
