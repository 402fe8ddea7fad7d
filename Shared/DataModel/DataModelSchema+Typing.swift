import TwinfleetModel

extension DataModelSchema {
    /// The typed value of text a device reported for `path`, read as the parameter's type.
    ///
    /// Never fails, because a device's report must never be lost (invariant 5): text of an
    /// unknown or vendor-specific path, of a list, or that does not parse as the declared type
    /// (devices do send `""` for numbers) is kept as a string. Constraints other than the type
    /// are not checked; the device is the authority on its own values.
    public func typedValue(path: ParameterPath, text: String, protocol: DeviceProtocol) -> ParameterValue {
        guard case .parameter(let definition)? = lookup(path, protocol: `protocol`), definition.syntax.list == nil,
              let value = try? ParameterValue(parsing: text, as: definition.syntax.value.type) else {
            return .string(text)
        }
        return value
    }

    /// The type a parameter has in the device's model; nil for objects, unknown and
    /// vendor-specific paths.
    public func type(of path: ParameterPath, protocol: DeviceProtocol) -> ParameterType? {
        guard case .parameter(let definition)? = lookup(path, protocol: `protocol`) else { return nil }
        return definition.type
    }
}
