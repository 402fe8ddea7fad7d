import TwinfleetModel

/// Facets as written in one XML element; nil when absent, so that a derived type keeps its
/// base type's facet and only what it states replaces it.
struct FacetDraft {
    var ranges: [NumericRange]?
    var lengths: [LengthRange]?
    var enumeration: [String]?
    var patterns: [String]?
    var units: String?

    /// `base` restricted by these facets. Facets replace the base's rather than intersect with
    /// them: in the standard a derived type only ever narrows (`IPv4Address` gives
    /// `maxLength="15"` under `IPAddress`'s 45), so replacing is exact in practice.
    func applied(to base: ValueSyntax) -> ValueSyntax {
        var value = base
        if let ranges { value.ranges = ranges }
        if let lengths { value.lengths = lengths }
        if let enumeration { value.enumeration = enumeration }
        if let patterns { value.patterns = patterns }
        if let units { value.units = units }
        return value
    }
}

/// A `<syntax>` element, or a named `<dataType>` definition, as read and before resolution.
struct SyntaxDraft {
    /// `<string>`, `<unsignedInt>` …
    var primitive: ParameterType?
    /// `<dataType ref="…">` or `<dataType base="…">`.
    var dataTypeReference: String?
    var facets = FacetDraft()
    var list: ListSyntax?
    var defaultValue: DefaultValue?
    var isSecured = false
    /// `<enumerationRef targetParam="…" nullValue="…">`: the allowed values are those of
    /// another parameter, resolved once the whole model is read.
    var enumerationReference: EnumerationReference?
}

/// An enumeration borrowed from another parameter (`OperatingFrequencyBand` takes its values
/// from `SupportedFrequencyBands`).
struct EnumerationReference {
    /// The target as the standard writes it: a name in the same object, `#.Name` (one object
    /// up per `#`), `.IPsec.Name` (from the root) or a full path.
    var target: String
    /// A value allowed besides the target's, typically `""`.
    var nullValue: String?
}

/// The named data types of one file, resolved on demand through their `base` chains, with the
/// common types of `tr-106-types.xml` behind them for names a file does not define.
///
/// Each full data-model file defines its own types (the CWMP and USP flavours of `Alias`
/// differ), so a table belongs to one file.
struct DataTypeTable {
    private var drafts: [String: SyntaxDraft] = [:]
    private var resolved: [String: ParameterSyntax]
    private let common: [String: ParameterSyntax]

    /// A table that falls back on the already resolved `common` types.
    init(common: [String: ParameterSyntax] = [:]) {
        self.common = common
        resolved = [:]
    }

    /// Records the definition of the type `name`.
    mutating func define(_ name: String, _ draft: SyntaxDraft) {
        drafts[name] = draft
        resolved[name] = nil
    }

    /// Every type of this table resolved, for use as another table's common types.
    mutating func resolveAll() throws(SchemaLoadError) -> [String: ParameterSyntax] {
        for name in drafts.keys { _ = try resolve(name, chain: []) }
        return resolved
    }

    /// The syntax a `<syntax>` (or argument) draft stands for, primitive at the bottom;
    /// `context` (the parameter's path) names it in errors.
    mutating func syntax(of draft: SyntaxDraft, context: String) throws(SchemaLoadError) -> ParameterSyntax {
        try syntax(of: draft, chain: [context])
    }

    /// `chain` is the list of types being resolved, outermost first, to detect cycles.
    private mutating func syntax(of draft: SyntaxDraft, chain: [String]) throws(SchemaLoadError) -> ParameterSyntax {
        let base: ParameterSyntax
        if let reference = draft.dataTypeReference {
            base = try resolve(reference, chain: chain)
        } else if let primitive = draft.primitive {
            base = ParameterSyntax(value: ValueSyntax(type: primitive))
        } else {
            throw SchemaLoadError(.invalidDefinition, "\(chain.joined(separator: " → ")): the syntax names no type")
        }
        return ParameterSyntax(value: draft.facets.applied(to: base.value), list: draft.list ?? base.list,
                               isSecured: draft.isSecured || base.isSecured)
    }

    private mutating func resolve(_ name: String, chain: [String]) throws(SchemaLoadError) -> ParameterSyntax {
        if let done = resolved[name] { return done }
        guard let draft = drafts[name] else {
            if let shared = common[name] { return shared }
            throw SchemaLoadError(.unresolvedDataType, "\(chain.joined(separator: " → ")) refers to data type \(name), which no loaded file defines")
        }
        if chain.contains(name) {
            throw SchemaLoadError(.unresolvedDataType, "data types refer to each other in a cycle: \((chain + [name]).joined(separator: " → "))")
        }
        var syntax = try self.syntax(of: draft, chain: chain + [name])
        syntax.value.dataType = name
        resolved[name] = syntax
        return syntax
    }
}
