import TwinfleetModel

/// One parameter of a data model, e.g. `Device.WiFi.Radio.{i}.Channel`.
public struct ParameterDefinition: Hashable, Sendable, CustomStringConvertible {
    /// The parameter's own name, e.g. `Channel`.
    public let name: String
    /// The path pattern of the object that holds it, e.g. `Device.WiFi.Radio.{i}.`. The same
    /// string storage is shared by every parameter of the object.
    public let objectPath: String
    /// Whether a controller may set it.
    public let access: ParameterAccess
    /// The default value the standard gives, if any.
    public let defaultValue: DefaultValue?
    /// Where it stands in the standard's life cycle.
    public let status: DefinitionStatus
    /// The syntax, boxed and shared between the many parameters with the same syntax, which
    /// keeps this struct small.
    let syntaxBox: SyntaxBox

    /// The full path pattern, e.g. `Device.WiFi.Radio.{i}.Channel`.
    public var path: String { objectPath + name }
    /// The value's syntax: base type and facets.
    public var syntax: ParameterSyntax { syntaxBox.syntax }
    /// The type on the wire (`string` for lists).
    public var type: ParameterType { syntaxBox.syntax.type }
    /// True when a controller may set it after the object exists.
    public var isWritable: Bool { access == .readWrite }

    /// The path, type and access, e.g. `Device.WiFi.Radio.{i}.Channel (unsignedInt, readWrite)`.
    public var description: String { "\(path) (\(type), \(access))" }
}

/// An immutable, shared ``ParameterSyntax``; compared by content.
final class SyntaxBox: Hashable, Sendable {
    let syntax: ParameterSyntax

    init(_ syntax: ParameterSyntax) { self.syntax = syntax }

    static func == (lhs: SyntaxBox, rhs: SyntaxBox) -> Bool { lhs === rhs || lhs.syntax == rhs.syntax }

    func hash(into hasher: inout Hasher) { hasher.combine(syntax) }
}
