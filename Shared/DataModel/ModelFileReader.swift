import TwinfleetModel

/// What one definition file contributes: its named data types and, for a full data-model file,
/// its model.
struct ModelFile: Sendable {
    /// The document's URN (`spec` attribute of the root element).
    var spec: String
    /// The file's named data types, resolved; the types of `tr-106-types.xml` become the common
    /// types of the model files.
    var dataTypes: [String: ParameterSyntax]
    /// The model, when the file has a `<model>` element.
    var model: DataModelDefinition?
}

/// Turns the tag events of one Broadband Forum data-model document into definitions.
///
/// Only what validation and simulation need is kept: objects, parameters, commands and events
/// directly under `<model>` (the `<object ref=…>` inside `<profile>` elements are requirements,
/// not definitions, and are skipped), their syntax and defaults. Descriptions, profiles,
/// bibliography and templates are skipped without being read.
struct ModelFileReader {
    /// The role of each open element, innermost last.
    fileprivate enum Role {
        case document, dataType, model, object, parameter, syntax, valueType, list, facet
        case command, arguments(input: Bool), argumentObject, argument, event, ignored
    }

    private let tokenizer: XMLTokenizer
    private var roles: [Role] = []
    private var types: DataTypeTable
    private var strings = StringInterner()
    private var syntaxes: Set<SyntaxBox> = []

    private var spec = ""
    private var modelName: String?
    private var objects: [ObjectDefinition] = []
    private var parameters: [ParameterDefinition] = []
    private var commands: [CommandDefinition] = []
    private var events: [EventDefinition] = []

    // The element being read at each level; reset when the element ends.
    private var dataTypeName: String?
    private var object: (attributes: XMLAttributes, path: String, parameterStart: Int, commandStart: Int, eventStart: Int)?
    private var parameter: (name: String, attributes: XMLAttributes)?
    private var draft = SyntaxDraft()
    private var syntax: (box: SyntaxBox, defaultValue: DefaultValue?, enumerationReference: EnumerationReference?)?
    /// Parameters whose enumeration is another parameter's, by position in `parameters`.
    private var enumerationReferences: [(parameter: Int, reference: EnumerationReference)] = []
    private var operation: (name: String, attributes: XMLAttributes, isEvent: Bool)?
    private var inputArguments: [ArgumentDefinition] = []
    private var outputArguments: [ArgumentDefinition] = []
    private var argumentsAreInput = false
    private var argumentObject = ""

    /// Reads one document; `common` holds the types of `tr-106-types.xml`, used for names the
    /// document does not define itself.
    static func read(bytes: [UInt8], name: String, common: [String: ParameterSyntax]) throws(SchemaLoadError) -> ModelFile {
        var reader = ModelFileReader(tokenizer: XMLTokenizer(bytes: bytes, documentName: name), types: DataTypeTable(common: common))
        try reader.tokenizer.tokenize { (event) throws(SchemaLoadError) in
            switch event {
            case .start(let element, let attributes, let offset):
                try reader.start(element, attributes, offset: offset)
            case .end(_, let offset):
                try reader.end(offset: offset)
            }
        }
        return try reader.finish()
    }

    private init(tokenizer: XMLTokenizer, types: DataTypeTable) {
        self.tokenizer = tokenizer
        self.types = types
    }

    private mutating func finish() throws(SchemaLoadError) -> ModelFile {
        let dataTypes = try types.resolveAll()
        guard let modelName else { return ModelFile(spec: spec, dataTypes: dataTypes, model: nil) }
        // TR-098 predates USP and every other full file names its flavour in its URN.
        resolveEnumerationReferences()
        let flavour: DeviceProtocol = spec.hasSuffix("-usp") ? .usp : .cwmp
        let model = DataModelDefinition(name: modelName, protocol: flavour, spec: spec, objects: objects,
                                        parameters: parameters, commands: commands, events: events)
        return ModelFile(spec: spec, dataTypes: dataTypes, model: model)
    }

    /// Gives each parameter with an `<enumerationRef>` the static enumeration of its target
    /// (plus the null value). The device may support fewer values, which only it can say; the
    /// standard's list is the most a Set can be checked against. Targets whose values are
    /// dynamic (no enumeration) leave the parameter unconstrained.
    private mutating func resolveEnumerationReferences() {
        guard !enumerationReferences.isEmpty else { return }
        var byPath: [String: Int] = [:]
        for (position, parameter) in parameters.enumerated() { byPath[parameter.path] = position }
        let root = String(objects.first?.path.prefix { $0 != "." } ?? "")
        for (position, reference) in enumerationReferences {
            let parameter = parameters[position]
            let target = Self.resolve(reference.target, from: parameter.objectPath, root: root)
            guard let targetPosition = byPath[target] else { continue }
            let values = parameters[targetPosition].syntax.value.enumeration
            guard !values.isEmpty else { continue }
            var syntax = parameter.syntax
            syntax.value.enumeration = values + (reference.nullValue.map { values.contains($0) ? [] : [$0] } ?? [])
            parameters[position] = ParameterDefinition(
                name: parameter.name, objectPath: parameter.objectPath, access: parameter.access,
                defaultValue: parameter.defaultValue, status: parameter.status, syntaxBox: intern(syntax))
        }
    }

    /// The default as a device reports it: the files write list defaults in brackets (`[]`,
    /// `[0,1,2,3,4,5,6,7]`), devices send the bare comma-separated items.
    private static func wireDefault(_ value: DefaultValue?, of syntax: ParameterSyntax) -> DefaultValue? {
        guard var value, syntax.list != nil, value.value.hasPrefix("["), value.value.hasSuffix("]") else { return value }
        value.value = String(value.value.dropFirst().dropLast())
        return value
    }

    /// The full path pattern of a TR-106 relative parameter reference made in `objectPath`.
    static func resolve(_ target: String, from objectPath: String, root: String) -> String {
        if target.hasPrefix(root + ".") { return target }
        if target.hasPrefix(".") { return root + target }
        var components = objectPath.split(separator: ".")
        var rest = Substring(target)
        while rest.hasPrefix("#") {
            // One object up; a table instance `X.{i}` is one object.
            if components.last == "{i}" { components.removeLast() }
            if !components.isEmpty { components.removeLast() }
            rest = rest.dropFirst()
        }
        if rest.hasPrefix(".") { rest = rest.dropFirst() }
        return components.map { $0 + "." }.joined() + rest
    }

    // MARK: - Start tags

    private mutating func start(_ element: String, _ attributes: XMLAttributes, offset: Int) throws(SchemaLoadError) {
        guard let parent = roles.last else {
            spec = attributes["spec"] ?? ""
            roles.append(.document)
            return
        }
        let role: Role
        switch parent {
        case .ignored, .facet:
            role = .ignored
        case .document:
            if element == "dataType" {
                dataTypeName = try required("name", attributes, element, offset)
                draft = SyntaxDraft()
                draft.dataTypeReference = attributes["base"]
                role = .dataType
            } else if element == "model" {
                modelName = try required("name", attributes, element, offset)
                role = .model
            } else {
                role = .ignored
            }
        case .model:
            if element == "object", let name = attributes["name"] {
                object = (attributes, strings.intern(name), parameters.count, commands.count, events.count)
                role = .object
            } else {
                role = .ignored
            }
        case .object:
            switch element {
            case "parameter":
                parameter = (strings.intern(try required("name", attributes, element, offset)), attributes)
                syntax = nil
                role = .parameter
            case "command", "event":
                operation = (strings.intern(try required("name", attributes, element, offset)), attributes, element == "event")
                inputArguments = []
                outputArguments = []
                argumentsAreInput = true
                argumentObject = ""
                role = element == "event" ? .event : .command
            default:
                role = .ignored
            }
        case .parameter, .argument:
            if element == "syntax" {
                draft = SyntaxDraft()
                draft.isSecured = attributes["secured"] == "true" || attributes["hidden"] == "true"
                role = .syntax
            } else {
                role = .ignored
            }
        case .syntax, .dataType:
            role = try startSyntaxChild(element, attributes, offset: offset, inDataType: parent.isDataType)
        case .valueType:
            role = try startFacet(element, attributes, offset: offset) ? .facet : .ignored
        case .list:
            if element == "size" {
                let lengths = try lengthRange(attributes, offset: offset)
                draft.list?.lengths.append(contentsOf: lengths)
                role = .facet
            } else {
                role = .ignored
            }
        case .command:
            if element == "input" || element == "output" {
                argumentsAreInput = element == "input"
                role = .arguments(input: argumentsAreInput)
            } else {
                role = .ignored
            }
        case .event, .arguments, .argumentObject:
            if element == "parameter" {
                parameter = (strings.intern(argumentObject + (try required("name", attributes, element, offset))), attributes)
                syntax = nil
                role = .argument
            } else if element == "object", !parent.isArgumentObject {
                argumentObject = try required("name", attributes, element, offset)
                role = .argumentObject
            } else {
                role = .ignored
            }
        }
        roles.append(role)
    }

    /// A child of `<syntax>` or of a named `<dataType>`: the type, a list, a default, or (for a
    /// derived data type) a facet given directly.
    private mutating func startSyntaxChild(_ element: String, _ attributes: XMLAttributes, offset: Int, inDataType: Bool) throws(SchemaLoadError) -> Role {
        if let primitive = Self.primitives[element] {
            draft.primitive = primitive
            return .valueType
        }
        switch element {
        case "dataType":
            guard let reference = attributes["ref"] ?? attributes["base"] else {
                throw invalid("<dataType> in a syntax has neither ref nor base", offset)
            }
            draft.dataTypeReference = reference
            return .valueType
        case "list":
            draft.list = ListSyntax(minItems: try integer("minItems", attributes, offset) ?? 0,
                                    maxItems: try integer("maxItems", attributes, offset),
                                    // "required" or "permitted"; "legacy" lists predate bracket grouping.
                                    nestedBrackets: attributes["nestedBrackets"].map { $0 != "legacy" } ?? false)
            return .list
        case "default" where !inDataType:
            if attributes["status"] != "deleted", let kindName = attributes["type"], let value = attributes["value"] {
                guard let kind = DefaultValue.Kind(rawValue: kindName) else {
                    throw invalid("unknown default type \(kindName)", offset)
                }
                draft.defaultValue = DefaultValue(kind: kind, value: strings.intern(value))
            }
            return .facet
        default:
            if inDataType {
                return try startFacet(element, attributes, offset: offset) ? .facet : .ignored
            }
            return .ignored
        }
    }

    /// Records a facet element; false when `element` is no facet this loader keeps.
    private mutating func startFacet(_ element: String, _ attributes: XMLAttributes, offset: Int) throws(SchemaLoadError) -> Bool {
        // Facets the standard has withdrawn no longer restrict values.
        if attributes["status"] == "deleted" { return element == "enumeration" || element == "size" || element == "range" || element == "pattern" }
        switch element {
        case "range":
            let range = NumericRange(minimum: try number("minInclusive", attributes, offset),
                                     maximum: try number("maxInclusive", attributes, offset),
                                     step: try number("step", attributes, offset))
            draft.facets.ranges = (draft.facets.ranges ?? []) + [range]
        case "size":
            draft.facets.lengths = (draft.facets.lengths ?? []) + (try lengthRange(attributes, offset: offset))
        case "enumeration":
            draft.facets.enumeration = (draft.facets.enumeration ?? []) + [strings.intern(try required("value", attributes, element, offset))]
        case "pattern":
            draft.facets.patterns = (draft.facets.patterns ?? []) + [strings.intern(try required("value", attributes, element, offset))]
        case "units":
            draft.facets.units = attributes["value"].map { strings.intern($0) }
        case "enumerationRef":
            draft.enumerationReference = EnumerationReference(target: try required("targetParam", attributes, element, offset),
                                                              nullValue: attributes["nullValue"])
        default:
            return false
        }
        return true
    }

    // MARK: - End tags

    private mutating func end(offset: Int) throws(SchemaLoadError) {
        guard let role = roles.popLast() else { return }
        switch role {
        case .dataType:
            if let dataTypeName { types.define(dataTypeName, draft) }
            dataTypeName = nil
        case .syntax:
            let context = (object?.path ?? "") + (operation.map { $0.name + "." } ?? "") + (parameter?.name ?? "")
            syntax = (intern(try types.syntax(of: draft, context: context)), draft.defaultValue, draft.enumerationReference)
        case .parameter:
            guard let parameter, let object else { return }
            guard let syntax else { throw invalid("parameter \(object.path)\(parameter.name) has no <syntax>", offset) }
            if let reference = syntax.enumerationReference {
                enumerationReferences.append((parameters.count, reference))
            }
            parameters.append(ParameterDefinition(
                name: parameter.name, objectPath: object.path,
                access: try access(parameter.attributes, offset), defaultValue: Self.wireDefault(syntax.defaultValue, of: syntax.box.syntax),
                status: try status(parameter.attributes, offset), syntaxBox: syntax.box))
            self.parameter = nil
        case .argument:
            guard let parameter else { return }
            guard let syntax else { throw invalid("argument \(parameter.name) has no <syntax>", offset) }
            let argument = ArgumentDefinition(name: parameter.name, isMandatory: parameter.attributes["mandatory"] == "true", syntaxBox: syntax.box)
            if argumentsAreInput { inputArguments.append(argument) } else { outputArguments.append(argument) }
            self.parameter = nil
        case .argumentObject:
            argumentObject = ""
        case .command, .event:
            guard let operation, let object else { return }
            let status = try status(operation.attributes, offset)
            if operation.isEvent {
                events.append(EventDefinition(name: operation.name, objectPath: object.path, arguments: inputArguments, status: status))
            } else {
                commands.append(CommandDefinition(name: operation.name, objectPath: object.path, isAsync: operation.attributes["async"] == "true",
                                                  inputArguments: inputArguments, outputArguments: outputArguments, status: status))
            }
            self.operation = nil
        case .object:
            guard let object else { return }
            let attributes = object.attributes
            let maxEntries = attributes["maxEntries"]
            objects.append(ObjectDefinition(
                path: object.path,
                access: try objectAccess(attributes, offset),
                minEntries: try integer("minEntries", attributes, offset) ?? 1,
                maxEntries: maxEntries == "unbounded" ? nil : try integer("maxEntries", attributes, offset) ?? 1,
                numEntriesParameter: attributes["numEntriesParameter"].map { strings.intern($0) },
                status: try status(attributes, offset),
                parameterRange: object.parameterStart..<parameters.count,
                commandRange: object.commandStart..<commands.count,
                eventRange: object.eventStart..<events.count))
            self.object = nil
        default:
            break
        }
    }

    // MARK: - Attributes

    private static let primitives: [String: ParameterType] = [
        "string": .string, "int": .int, "unsignedInt": .unsignedInt, "long": .long, "unsignedLong": .unsignedLong,
        "boolean": .boolean, "dateTime": .dateTime, "base64": .base64, "hexBinary": .hexBinary, "decimal": .decimal,
    ]

    private mutating func intern(_ syntax: ParameterSyntax) -> SyntaxBox {
        let box = SyntaxBox(syntax)
        return syntaxes.insert(box).memberAfterInsert
    }

    private func invalid(_ message: String, _ offset: Int, file: String = #fileID, line: Int = #line) -> SchemaLoadError {
        SchemaLoadError(.invalidDefinition, "\(tokenizer.documentName):\(tokenizer.lineNumber(at: offset)): \(message)", file: file, line: line)
    }

    private func required(_ name: String, _ attributes: XMLAttributes, _ element: String, _ offset: Int) throws(SchemaLoadError) -> String {
        guard let value = attributes[name] else { throw invalid("<\(element)> has no \(name) attribute", offset) }
        return value
    }

    private func integer(_ name: String, _ attributes: XMLAttributes, _ offset: Int) throws(SchemaLoadError) -> Int? {
        guard let text = attributes[name] else { return nil }
        guard let value = Int(text), value >= 0 else { throw invalid("\(name)=\"\(text)\" is not a count", offset) }
        return value
    }

    private func number(_ name: String, _ attributes: XMLAttributes, _ offset: Int) throws(SchemaLoadError) -> Int128? {
        guard let text = attributes[name] else { return nil }
        guard let value = Int128(text) else { throw invalid("\(name)=\"\(text)\" is not an integer", offset) }
        return value
    }

    private func lengthRange(_ attributes: XMLAttributes, offset: Int) throws(SchemaLoadError) -> [LengthRange] {
        let minimum = try integer("minLength", attributes, offset)
        let maximum = try integer("maxLength", attributes, offset)
        // A bare <size/> says nothing.
        if minimum == nil, maximum == nil { return [] }
        return [LengthRange(minimum: minimum ?? 0, maximum: maximum)]
    }

    private func access(_ attributes: XMLAttributes, _ offset: Int) throws(SchemaLoadError) -> ParameterAccess {
        // The generated full files leave out the schema's default, readOnly.
        guard let text = attributes["access"] else { return .readOnly }
        guard let access = ParameterAccess(rawValue: text) else { throw invalid("unknown parameter access \(text)", offset) }
        return access
    }

    private func objectAccess(_ attributes: XMLAttributes, _ offset: Int) throws(SchemaLoadError) -> ObjectAccess {
        guard let text = attributes["access"] else { return .readOnly }
        guard let access = ObjectAccess(rawValue: text) else { throw invalid("unknown object access \(text)", offset) }
        return access
    }

    private func status(_ attributes: XMLAttributes, _ offset: Int) throws(SchemaLoadError) -> DefinitionStatus {
        guard let text = attributes["status"] else { return .current }
        guard let status = DefinitionStatus(rawValue: text) else { throw invalid("unknown status \(text)", offset) }
        return status
    }
}

private extension ModelFileReader.Role {
    var isDataType: Bool { if case .dataType = self { true } else { false } }
    var isArgumentObject: Bool { if case .argumentObject = self { true } else { false } }
}

/// Shares one storage for equal strings: the standard repeats enumeration values, units and
/// names thousands of times.
struct StringInterner {
    private var strings: Set<String> = []

    /// The stored string equal to `text`, storing `text` if it is new.
    mutating func intern(_ text: String) -> String {
        strings.insert(text).memberAfterInsert
    }
}
