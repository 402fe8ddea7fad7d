/// A USP command, e.g. `Device.Reboot()` or `Device.WiFi.Radio.{i}.ChannelScan()`.
public struct CommandDefinition: Hashable, Sendable, CustomStringConvertible {
    /// The command's own name with its parentheses, e.g. `Reboot()`.
    public let name: String
    /// The path pattern of the object that holds it, e.g. `Device.`.
    public let objectPath: String
    /// True when the command completes later, with an `OperationComplete!` event.
    public let isAsync: Bool
    /// The input arguments; names are relative to the command, nested ones as
    /// `TimeWindow.{i}.Start`.
    public let inputArguments: [ArgumentDefinition]
    /// The output arguments, named like the inputs.
    public let outputArguments: [ArgumentDefinition]
    /// Where it stands in the standard's life cycle.
    public let status: DefinitionStatus

    /// The full path pattern, e.g. `Device.Reboot()`.
    public var path: String { objectPath + name }

    /// The path and whether it is asynchronous.
    public var description: String { "\(path)\(isAsync ? " (async)" : "")" }
}

/// A USP event, e.g. `Device.Boot!`.
public struct EventDefinition: Hashable, Sendable, CustomStringConvertible {
    /// The event's own name with its exclamation mark, e.g. `Boot!`.
    public let name: String
    /// The path pattern of the object that holds it, e.g. `Device.`.
    public let objectPath: String
    /// The event's arguments, named like command arguments.
    public let arguments: [ArgumentDefinition]
    /// Where it stands in the standard's life cycle.
    public let status: DefinitionStatus

    /// The full path pattern, e.g. `Device.Boot!`.
    public var path: String { objectPath + name }

    /// The path.
    public var description: String { path }
}

/// An argument of a command or event.
public struct ArgumentDefinition: Hashable, Sendable, CustomStringConvertible {
    /// The name relative to the command or event, e.g. `Cause` or
    /// `PacketCaptureResult.{i}.FileLocation`.
    public let name: String
    /// True when a caller must supply it (input arguments only).
    public let isMandatory: Bool
    let syntaxBox: SyntaxBox

    /// The argument's syntax.
    public var syntax: ParameterSyntax { syntaxBox.syntax }

    /// The name, with `(mandatory)` when it is.
    public var description: String { name + (isMandatory ? " (mandatory)" : "") }
}

/// What a path resolves to in a data model.
public enum SchemaNode: Hashable, Sendable, CustomStringConvertible {
    /// An object or table.
    case object(ObjectDefinition)
    /// A parameter.
    case parameter(ParameterDefinition)
    /// A USP command.
    case command(CommandDefinition)
    /// A USP event.
    case event(EventDefinition)

    /// The definition's path pattern.
    public var path: String {
        switch self {
        case .object(let object): object.path
        case .parameter(let parameter): parameter.path
        case .command(let command): command.path
        case .event(let event): event.path
        }
    }

    /// The definition's description.
    public var description: String {
        switch self {
        case .object(let object): object.description
        case .parameter(let parameter): parameter.description
        case .command(let command): command.description
        case .event(let event): event.description
        }
    }
}
