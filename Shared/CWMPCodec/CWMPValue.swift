import TwinfleetModel

/// A parameter value as it travels in a `Value` element: typed when its `xsi:type` names a TR-106
/// base type and its text reads as that type, otherwise kept as the device sent it.
///
/// Devices send values with no `xsi:type`, with vendor types, or with text that does not match
/// the declared type (`xsd:boolean` "enabled"). Refusing a whole Inform for that would lock the
/// device out, so such values are kept raw and the twin decides what to do with them.
public enum CWMPValue: Hashable, Sendable {
    /// A value of a known type.
    case typed(ParameterValue)
    /// The text verbatim, with the `xsi:type` as written (nil when there was none).
    case raw(text: String, typeName: String?)

    /// The typed value, when there is one.
    public var parameterValue: ParameterValue? {
        if case .typed(let value) = self { return value }
        return nil
    }

    /// The text on the wire: the canonical text of a typed value, the verbatim text of a raw one.
    public var text: String {
        switch self {
        case .typed(let value): value.wireString
        case .raw(let text, _): text
        }
    }

    /// The `xsi:type` on the wire (`xsd:unsignedInt`), nil for a raw value without one.
    public var typeName: String? {
        switch self {
        case .typed(let value): value.type.xsdName
        case .raw(_, let typeName): typeName
        }
    }

    /// Reads a `Value` element: the `type` attribute (whatever its prefix, and whatever prefix
    /// its content uses for the XML Schema namespace) and the text, kept verbatim.
    init(decoding node: XMLNode) {
        let text = node.text
        guard let typeName = node.attribute("type") else {
            self = .raw(text: text, typeName: nil)
            return
        }
        let local = typeName.split(separator: ":").last.map(String.init) ?? typeName
        guard let type = try? ParameterType(parsing: local),
              let value = try? ParameterValue(parsing: text, as: type) else {
            self = .raw(text: text, typeName: typeName)
            return
        }
        self = .typed(value)
    }

    /// Writes `<Value xsi:type="…">text</Value>`.
    func encode(into writer: inout XMLWriter) {
        writer.raw("<Value")
        if let typeName { writer.attribute("xsi:type", typeName) }
        writer.raw(">")
        writer.text(text)
        writer.close("Value")
    }
}
