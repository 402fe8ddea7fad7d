import TwinfleetConfig
import Logging

extension ConfigKey {
    /// Address the operations HTTP server binds to.
    public static let httpHost = ConfigKey("http.host", default: "127.0.0.1", "Address of the operations HTTP server (`/metrics`, `/health/*`); `0.0.0.0` in containers")
    /// Port of the operations HTTP server.
    public static let httpPort = ConfigKey("http.port", default: "8080", "Port of the operations HTTP server; 0 picks a free port")
    /// Minimum log level.
    public static let logLevel = ConfigKey("log.level", default: "info", "trace, debug, info, notice, warning, error, critical")
    /// Log line format.
    public static let logFormat = ConfigKey("log.format", default: "json", "`json` (one object per line) or `text`")
    /// Stable instance ID of this process.
    public static let instanceID = ConfigKey("instance.id", default: "local-0", "Stable instance ID (StatefulSet pod name); names this instance's delivery inbox topic")
    /// The keys of the service runtime.
    public static let runtimeKeys: [ConfigKey] = [.httpHost, .httpPort, .logLevel, .logFormat, .instanceID]
}

/// The settings every service reads the same way.
public struct RuntimeConfig: Sendable {
    /// Operations server host.
    public var httpHost: String
    /// Operations server port.
    public var httpPort: Int
    /// Minimum log level.
    public var logLevel: Logger.Level
    /// JSON or text logs.
    public var jsonLogs: Bool
    /// Stable instance ID.
    public var instanceID: String

    /// Reads the runtime keys.
    public init(config: ServiceConfig) throws(ConfigError) {
        httpHost = try config.string(.httpHost)
        httpPort = try config.int(.httpPort, in: 0...65535)
        let level = try config.string(.logLevel)
        guard let parsed = Logger.Level(rawValue: level.lowercased()) else {
            throw ConfigError(key: .logLevel, reason: "unknown level \"\(level)\"")
        }
        logLevel = parsed
        switch try config.string(.logFormat).lowercased() {
        case "json": jsonLogs = true
        case "text": jsonLogs = false
        case let other: throw ConfigError(key: .logFormat, reason: "\"\(other)\" is neither json nor text")
        }
        instanceID = try config.string(.instanceID)
        guard instanceID.allSatisfy({ $0.isLetter && $0.isLowercase || $0.isNumber || $0 == "-" }), !instanceID.isEmpty else {
            throw ConfigError(key: .instanceID, reason: "use lowercase letters, digits and '-' (it names a topic)")
        }
    }
}
