/// The management protocol a device speaks; the twin is the same for both, only the
/// synchronisation differs.
public enum DeviceProtocol: String, Sendable, Hashable, CaseIterable, Codable, CustomStringConvertible {
    /// TR-069 CWMP: SOAP over HTTP, device-initiated sessions.
    case cwmp
    /// TR-369 USP: protobuf records over WebSocket or MQTT.
    case usp

    /// `cwmp` or `usp`.
    public var description: String { rawValue }
}
