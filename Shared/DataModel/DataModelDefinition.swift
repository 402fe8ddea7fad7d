import TwinfleetModel

/// One root data model as a protocol flavour defines it: TR-181 `Device:2.19` for CWMP or for
/// USP, or TR-098 `InternetGatewayDevice:1.14`.
///
/// Objects, parameters, commands and events are kept in flat arrays in document order, each
/// object's members contiguous, with one dictionary from path pattern to position; strings are
/// interned while loading, so the whole TR-181 model takes a few megabytes.
public struct DataModelDefinition: Sendable {
    /// The model's name and version, e.g. `Device:2.19`.
    public let name: String
    /// The root object's name, e.g. `Device` or `InternetGatewayDevice`.
    public let root: String
    /// The protocol whose flavour of the model this is.
    public let `protocol`: DeviceProtocol
    /// The defining document's URN, e.g. `urn:broadband-forum-org:tr-181-2-19-1-usp`.
    public let spec: String
    /// Every object, in document order.
    public let objects: [ObjectDefinition]
    /// Every parameter, in document order (grouped by object).
    public let parameters: [ParameterDefinition]
    /// Every USP command, in document order; empty for CWMP models.
    public let commands: [CommandDefinition]
    /// Every USP event, in document order; empty for CWMP models.
    public let events: [EventDefinition]
    /// Path pattern → definition; a table is also reachable by its path without `{i}.`
    /// (`Device.IP.Interface.`), the form AddObject and USP Add use.
    private let index: [String: Entry]

    private enum Entry: Sendable {
        case object(Int)
        case parameter(Int)
        case command(Int)
        case event(Int)
    }

    init(name: String, protocol: DeviceProtocol, spec: String, objects: [ObjectDefinition], parameters: [ParameterDefinition],
         commands: [CommandDefinition], events: [EventDefinition]) {
        self.name = name
        self.protocol = `protocol`
        self.spec = spec
        self.objects = objects
        self.parameters = parameters
        self.commands = commands
        self.events = events
        root = String(objects.first?.path.prefix { $0 != "." } ?? Substring(name.prefix { $0 != ":" }))
        var index: [String: Entry] = [:]
        index.reserveCapacity(objects.count * 2 + parameters.count + commands.count + events.count)
        for (position, object) in objects.enumerated() {
            index[object.path] = .object(position)
        }
        for (position, object) in objects.enumerated() where object.isTable {
            let base = String(object.path.dropLast(4))
            if index[base] == nil { index[base] = .object(position) }
        }
        for (position, parameter) in parameters.enumerated() { index[parameter.path] = .parameter(position) }
        for (position, command) in commands.enumerated() { index[command.path] = .command(position) }
        for (position, event) in events.enumerated() { index[event.path] = .event(position) }
        self.index = index
    }

    /// The definition at a path pattern (`Device.WiFi.Radio.{i}.Channel`,
    /// `Device.IP.Interface.{i}.`, `Device.Reboot()`); a table's path without `{i}.` gives the
    /// table.
    public func definition(atPattern pattern: String) -> SchemaNode? {
        switch index[pattern] {
        case .object(let position): .object(objects[position])
        case .parameter(let position): .parameter(parameters[position])
        case .command(let position): .command(commands[position])
        case .event(let position): .event(events[position])
        case nil: nil
        }
    }

    /// The object at a path pattern, if that pattern names one.
    public func object(atPattern pattern: String) -> ObjectDefinition? {
        if case .object(let position) = index[pattern] { return objects[position] }
        return nil
    }

    /// The parameters the object itself holds (not those of its children).
    public func parameters(of object: ObjectDefinition) -> ArraySlice<ParameterDefinition> {
        parameters[object.parameterRange]
    }

    /// The commands the object itself holds.
    public func commands(of object: ObjectDefinition) -> ArraySlice<CommandDefinition> {
        commands[object.commandRange]
    }

    /// The events the object itself holds.
    public func events(of object: ObjectDefinition) -> ArraySlice<EventDefinition> {
        events[object.eventRange]
    }

    /// The object itself and every object below it, in document order; empty when `pattern`
    /// is no object.
    public func objects(under pattern: String) -> [ObjectDefinition] {
        guard let top = object(atPattern: pattern) else { return [] }
        return objects.filter { $0.path.hasPrefix(top.path) }
    }

    /// The parameters of the object and of every object below it, in document order.
    public func parameters(under pattern: String) -> [ParameterDefinition] {
        objects(under: pattern).flatMap { parameters(of: $0) }
    }
}
