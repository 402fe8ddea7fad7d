/// Whether a parameter can be written, as the standard defines it.
public enum ParameterAccess: String, Hashable, Sendable, CaseIterable, CustomStringConvertible {
    /// Only the device changes it.
    case readOnly
    /// A controller may set it.
    case readWrite
    /// USP only: a controller may set it once, when it creates the object (`Alias`), and never
    /// change it afterwards.
    case writeOnceReadOnly

    /// The standard's name, e.g. `readWrite`.
    public var description: String { rawValue }
}

/// Whether a controller can add and delete instances of an object.
public enum ObjectAccess: String, Hashable, Sendable, CaseIterable, CustomStringConvertible {
    /// Instances come and go only as the device decides.
    case readOnly
    /// A controller may add and delete instances (AddObject / DeleteObject, USP Add / Delete).
    case readWrite

    /// The standard's name, e.g. `readWrite`.
    public var description: String { rawValue }
}

/// Where a definition stands in the standard's life cycle.
public enum DefinitionStatus: String, Hashable, Sendable, CaseIterable, CustomStringConvertible {
    /// Current.
    case current
    /// Still defined, but to be removed; new implementations should not use it.
    case deprecated
    /// Defined only so that old implementations stay describable.
    case obsoleted
    /// Removed from the standard; kept in the full files for history, still reported by old
    /// firmware.
    case deleted

    /// The standard's name, e.g. `deprecated`.
    public var description: String { rawValue }
}
