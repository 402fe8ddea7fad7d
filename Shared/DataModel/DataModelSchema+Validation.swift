import TwinfleetModel

extension DataModelSchema {
    /// Checks a Set of `path` to `text` for a device speaking `protocol` and returns the typed
    /// value: the path must exist in the device's model, name a writable parameter, and the
    /// text must parse as its type and fit its ranges, lengths, enumeration, patterns and list
    /// facets.
    ///
    /// A path with a vendor component (`X_ACME_…`) that the standard does not define is
    /// accepted as an untyped string. `creatingInstance` allows write-once parameters (USP
    /// `Alias`), which may be set only in the Add that creates their object. A definition's
    /// ``DefinitionStatus`` is not checked: firmware built against an older version still
    /// implements parameters the standard has since deprecated or deleted.
    public func validateSet(path: ParameterPath, value text: String, protocol: DeviceProtocol,
                            creatingInstance: Bool = false) throws(ValidationError) -> ParameterValue {
        guard let definition = try writableParameter(path, protocol: `protocol`, creatingInstance: creatingInstance) else {
            return .string(text)
        }
        return try ValueChecker(path: path.rawValue, syntax: definition.syntax).check(text)
    }

    /// Like the `String` overload, for a value that is already typed: it is checked through
    /// its canonical text, so `.string("6")` or `.int(6)` for an `unsignedInt` parameter comes
    /// back as `.unsignedInt(6)`.
    public func validateSet(path: ParameterPath, value: ParameterValue, protocol: DeviceProtocol,
                            creatingInstance: Bool = false) throws(ValidationError) -> ParameterValue {
        guard let definition = try writableParameter(path, protocol: `protocol`, creatingInstance: creatingInstance) else {
            return value
        }
        return try ValueChecker(path: path.rawValue, syntax: definition.syntax).check(value.wireString)
    }

    /// Checks an AddObject (CWMP) or Add (USP) of an instance to the table `path`, given
    /// without an instance number as both protocols do (`Device.IP.Interface.`). Returns the
    /// table, or nil for a vendor-specific object the standard does not define.
    @discardableResult
    public func validateAddObject(path: ParameterPath, protocol: DeviceProtocol) throws(ValidationError) -> ObjectDefinition? {
        guard let table = try tableObject(path, protocol: `protocol`, action: "add to") else { return nil }
        if path.components.last.map(Self.isInstance) == true {
            throw ValidationError(.instanceMismatch, path: path.rawValue, "Add takes the table's path without an instance number, e.g. \(table.path.dropLast(4))")
        }
        return table
    }

    /// Checks a DeleteObject (CWMP) or Delete (USP) of the instance `path`
    /// (`Device.IP.Interface.3.`). Returns the table, or nil for a vendor-specific object the
    /// standard does not define.
    @discardableResult
    public func validateDeleteObject(path: ParameterPath, protocol: DeviceProtocol) throws(ValidationError) -> ObjectDefinition? {
        guard let table = try tableObject(path, protocol: `protocol`, action: "delete from") else { return nil }
        if path.components.last.map(Self.isInstance) != true {
            throw ValidationError(.instanceMismatch, path: path.rawValue, "Delete needs an instance number after the table's path, e.g. \(path.rawValue)1.")
        }
        return table
    }

    // MARK: - Resolution with precise errors

    /// The definition of a parameter that may be set, nil for an undefined vendor extension.
    private func writableParameter(_ path: ParameterPath, protocol: DeviceProtocol, creatingInstance: Bool) throws(ValidationError) -> ParameterDefinition? {
        if path.isObject {
            throw ValidationError(.objectNotParameter, path: path.rawValue, "is an object path (it ends with '.'); only parameters can be set")
        }
        let model = try self.model(for: path, protocol: `protocol`)
        guard let model else { return nil }
        let pattern = PathPattern.pattern(of: path)
        switch model.definition(atPattern: pattern) {
        case .parameter(let definition):
            switch definition.access {
            case .readWrite:
                return definition
            case .writeOnceReadOnly where creatingInstance:
                return definition
            case .writeOnceReadOnly:
                throw ValidationError(.notWritable, path: path.rawValue, "\(definition.path) can only be set when its object is created (writeOnceReadOnly)")
            case .readOnly:
                throw ValidationError(.notWritable, path: path.rawValue, "\(definition.path) is read-only")
            }
        case .some:
            throw ValidationError(.objectNotParameter, path: path.rawValue, "names an object, not a parameter")
        case nil:
            if model.object(atPattern: pattern + ".") != nil {
                throw ValidationError(.objectNotParameter, path: path.rawValue, "names an object, not a parameter")
            }
            if path.isVendorSpecific { return nil }
            throw unknown(path, in: model)
        }
    }

    /// The table an Add or Delete acts on, nil for an undefined vendor extension.
    private func tableObject(_ path: ParameterPath, protocol: DeviceProtocol, action: String) throws(ValidationError) -> ObjectDefinition? {
        guard path.isObject else {
            throw ValidationError(.parameterNotObject, path: path.rawValue, "is a parameter path; objects end with '.'")
        }
        guard let model = try self.model(for: path, protocol: `protocol`) else { return nil }
        guard let object = model.object(atPattern: PathPattern.pattern(of: path)) else {
            if path.isVendorSpecific { return nil }
            throw unknown(path, in: model)
        }
        guard object.isTable else {
            throw ValidationError(.notATable, path: path.rawValue, "\(object.path) is a single object, not a table; there are no instances to \(action)")
        }
        guard object.access == .readWrite else {
            throw ValidationError(.notWritable, path: path.rawValue, "\(object.path) is a read-only table: only the device adds and deletes its instances")
        }
        return object
    }

    /// The model for the path's root; nil for a vendor-specific root with no model.
    private func model(for path: ParameterPath, protocol: DeviceProtocol) throws(ValidationError) -> DataModelDefinition? {
        if let model = model(root: path.root, protocol: `protocol`) { return model }
        if path.isVendorSpecific { return nil }
        let known = models.filter { $0.protocol == `protocol` }.map { $0.root + "." }
        throw ValidationError(.unknownPath, path: path.rawValue, "no \(path.root). data model for \(`protocol`) devices (known: \(known.isEmpty ? "none" : known.joined(separator: ", ")))")
    }

    /// An `unknownPath` error that says where the path leaves the model.
    private func unknown(_ path: ParameterPath, in model: DataModelDefinition) -> ValidationError {
        let components = path.components
        var known = ""
        for (position, component) in components.enumerated() {
            let isLast = position == components.count - 1
            let next = known + (Self.isInstance(component) ? PathPattern.instance : component) + (isLast && !path.isObject ? "" : ".")
            if model.definition(atPattern: next) != nil {
                known = next
                continue
            }
            let detail: String
            if let table = model.object(atPattern: known), table.isTable, !known.hasSuffix(".{i}."), !Self.isInstance(component) {
                detail = "\(table.path.dropLast(4)) is a table: an instance number must follow it"
            } else if Self.isInstance(component) {
                detail = "\(known.isEmpty ? component : known) is not a table, so it takes no instance number"
            } else {
                detail = "\(known.isEmpty ? "the model" : known) has no parameter or object named \(component)"
            }
            return ValidationError(.unknownPath, path: path.rawValue, "not in \(model.name) (\(model.protocol)): \(detail)")
        }
        return ValidationError(.unknownPath, path: path.rawValue, "not in \(model.name) (\(model.protocol))")
    }

    private static func isInstance(_ component: String) -> Bool {
        !component.isEmpty && component.utf8.allSatisfy { $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }
    }
}

extension DataModelSchema {
    /// Checks a value a device reports against the syntax of the parameter at `path` (type,
    /// ranges, enumeration, lengths, patterns), whether or not a controller may write it.
    /// Returns nil when the model has no such parameter (vendor-specific or unknown).
    public func checkReportedValue(path: ParameterPath, value text: String, protocol: DeviceProtocol) throws(ValidationError) -> ParameterValue? {
        guard case .parameter(let definition)? = lookup(path, protocol: `protocol`) else { return nil }
        return try ValueChecker(path: path.rawValue, syntax: definition.syntax).check(text)
    }
}
