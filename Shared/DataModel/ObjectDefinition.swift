/// One object of a data model, e.g. the table `Device.WiFi.Radio.{i}.` or the single object
/// `Device.DeviceInfo.`.
public struct ObjectDefinition: Hashable, Sendable, CustomStringConvertible {
    /// The path pattern with `{i}` for every table instance, ending with a dot:
    /// `Device.WiFi.AccessPoint.{i}.AssociatedDevice.{i}.`.
    public let path: String
    /// Whether a controller may add and delete instances.
    public let access: ObjectAccess
    /// The fewest instances a device has.
    public let minEntries: Int
    /// The most instances a device may have; nil when unbounded.
    public let maxEntries: Int?
    /// The parameter of the parent object that counts the instances, e.g.
    /// `RadioNumberOfEntries`; nil for single objects.
    public let numEntriesParameter: String?
    /// Where it stands in the standard's life cycle.
    public let status: DefinitionStatus
    /// Where this object's parameters, commands and events sit in the model's arrays; they
    /// are contiguous because the files nest them inside the object.
    let parameterRange: Range<Int>
    let commandRange: Range<Int>
    let eventRange: Range<Int>

    /// True for a multi-instance object (a table): its path ends with `{i}.`.
    public var isTable: Bool { path.hasSuffix(".{i}.") }

    /// True when a controller may add and delete instances: a writable table.
    public var canAddAndDelete: Bool { isTable && access == .readWrite }

    /// The path and its access, e.g. `Device.IP.Interface.{i}. (table, readWrite)`.
    public var description: String { "\(path) (\(isTable ? "table, " : "")\(access))" }
}
