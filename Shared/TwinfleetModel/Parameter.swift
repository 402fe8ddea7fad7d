/// One parameter of a device's data model: where it is, its typed value and, when the device said
/// so, whether it can be written.
public struct Parameter: Hashable, Sendable, Codable, CustomStringConvertible {
    /// The parameter's full path, e.g. `Device.WiFi.Radio.1.Channel`.
    public var path: ParameterPath
    /// The typed value.
    public var value: ParameterValue
    /// Whether the parameter is writable; nil when the device has not said.
    public var writable: Bool?

    /// Creates a parameter.
    public init(path: ParameterPath, value: ParameterValue, writable: Bool? = nil) {
        self.path = path
        self.value = value
        self.writable = writable
    }

    /// `path = value (type)`, with ` [rw]`/` [ro]` when writability is known. The value is
    /// shown as `<redacted>` when the parameter's name says it holds a credential (it contains
    /// `Password`, `Passphrase` or `Secret`, or ends with `Key`, as in `PreSharedKey`), so
    /// logging a parameter cannot leak a Wi-Fi key.
    public var description: String {
        let access = writable.map { $0 ? " [rw]" : " [ro]" } ?? ""
        let shown = Self.holdsCredential(path) ? "<redacted>" : value.wireString
        return "\(path) = \(shown) (\(value.type))\(access)"
    }

    private static func holdsCredential(_ path: ParameterPath) -> Bool {
        guard let name = path.components.last?.lowercased() else { return false }
        return name.contains("password") || name.contains("passphrase") || name.contains("secret") || name.hasSuffix("key")
    }
}
