import DataModel
import Testing
import TwinfleetModel

/// The loader on small hand-written documents: entities, type chains, flavours and the errors
/// a broken file gets.
@Suite struct DefinitionFileTests {
    private static let types = """
        <?xml version="1.0" encoding="UTF-8"?>
        <!-- common types -->
        <!DOCTYPE cwmp-datamodel-entities [
          <!ENTITY dot "\\.">
          <!ENTITY octet "(25[0-5]|2[0-4][0-9]|[01]?[0-9]?[0-9])">
          <!ENTITY address "&octet;&dot;&octet;">
        ]>
        <dm:document xmlns:dm="urn:broadband-forum-org:cwmp:datamodel-1-14" spec="urn:broadband-forum-org:tr-106">
          <dataType name="Pair"><description>Two octets &amp; a dot &lt;here&gt;.</description>
            <string><size maxLength="7"/><pattern value="&address;"/></string>
          </dataType>
        </dm:document>
        """

    private static func model(spec: String = "urn:example:thing-1-0-usp", body: String = "") -> String {
        """
        <?xml version="1.0"?>
        <dm:document xmlns:dm="urn:broadband-forum-org:cwmp:datamodel-1-15" spec="\(spec)">
          <dataType name="NarrowPair" base="Pair"><size maxLength="5"/></dataType>
          <model name="Thing:1.0">
            <object name="Thing." access="readOnly" minEntries="1" maxEntries="1">
              <parameter name="Link" access="readWrite"><syntax><dataType ref="NarrowPair"/></syntax></parameter>
              <parameter name="Codes"><syntax><list/><string><enumeration value="A"/><enumeration value="B"/></string></syntax></parameter>
              <parameter name="Level" access="readWrite"><syntax><int><range minInclusive="-5" maxInclusive="-1"/><range minInclusive="1" maxInclusive="5"/></int><default type="factory" value="1"/></syntax></parameter>
              <command name="Poke()" async="true"><input><parameter name="Force" mandatory="true"><syntax><boolean/></syntax></parameter></input></command>
              <event name="Poked!"><parameter name="By"><syntax><string/></syntax></parameter></event>
            </object>
            <object name="Thing.Part.{i}." access="readWrite" minEntries="0" maxEntries="4" numEntriesParameter="PartNumberOfEntries">
              <parameter name="Code" access="readWrite"><syntax><string><enumerationRef targetParam="#.Codes" nullValue=""/></string></syntax></parameter>
              <parameter name="Free" access="readWrite"><syntax><string><enumerationRef targetParam="Thing.Link"/></string></syntax></parameter>
            </object>
            <object name="Thing.Extras." access="readOnly" minEntries="1" maxEntries="1">
              <parameter name="Codes"><syntax><list/><string><enumeration value="A"/><enumeration value="B"/><enumeration value="Z" status="deleted"/></string></syntax></parameter>
            </object>
            \(body)
            <profile name="P:1"><object ref="Thing." requirement="present"><parameter ref="Link" requirement="readOnly"/></object></profile>
          </model>
        </dm:document>
        """
    }

    /// Writes the documents to a fresh directory and loads them in the given order.
    private func load(_ documents: [(String, String)]) throws(SchemaLoadError) -> DataModelSchema {
        let directory = FileProbe.temporaryDirectory()
        defer { FileProbe.remove(directory: directory, files: documents.map(\.0)) }
        for (name, text) in documents { FileProbe.write(text, to: directory + "/" + name) }
        return try DataModelSchema.load(files: documents.map { directory + "/" + $0.0 })
    }

    @Test func entitiesTypeChainsAndFlavour() throws {
        // The model file comes first: types-only files are read before it regardless.
        let schema = try load([("thing.xml", Self.model()), ("types.xml", Self.types)])
        let model = try #require(schema.model(root: "Thing", protocol: .usp))
        #expect(model.objects.map(\.path) == ["Thing.", "Thing.Part.{i}.", "Thing.Extras."])
        #expect(model.parameters.map(\.path) == ["Thing.Link", "Thing.Codes", "Thing.Level", "Thing.Part.{i}.Code", "Thing.Part.{i}.Free", "Thing.Extras.Codes"])
        #expect(model.parameters.last?.syntax.value.enumeration == ["A", "B"])  // "Z" was deleted
        guard case .parameter(let link)? = schema.lookup("Thing.Link", protocol: .usp) else {
            Issue.record("Thing.Link missing")
            return
        }
        #expect(link.syntax.value.dataType == "NarrowPair")
        #expect(link.syntax.value.lengths == [LengthRange(maximum: 5)])
        #expect(link.syntax.value.patterns == ["(25[0-5]|2[0-4][0-9]|[01]?[0-9]?[0-9])\\.(25[0-5]|2[0-4][0-9]|[01]?[0-9]?[0-9])"])
        let path = try ParameterPath(validating: "Thing.Link")
        #expect(try schema.validateSet(path: path, value: "10.20", protocol: .usp) == .string("10.20"))
        #expect(throws: ValidationError.self) { try schema.validateSet(path: path, value: "10.256", protocol: .usp) }
        #expect(throws: ValidationError.self) { try schema.validateSet(path: path, value: "100.20", protocol: .usp) }

        let level = try ParameterPath(validating: "Thing.Level")
        #expect(try schema.validateSet(path: level, value: "-3", protocol: .usp) == .int(-3))
        let gap = #expect(throws: ValidationError.self) { try schema.validateSet(path: level, value: "0", protocol: .usp) }
        #expect(gap?.message == "Thing.Level: 0 is outside -5...-1, 1...5")

        guard case .command(let poke)? = schema.lookup("Thing.Poke()", protocol: .usp), case .event(let poked)? = schema.lookup("Thing.Poked!", protocol: .usp) else {
            Issue.record("Poke()/Poked! missing")
            return
        }
        #expect(poke.isAsync)
        #expect(poke.inputArguments.map(\.description) == ["Force (mandatory)"])
        #expect(poked.arguments.map(\.name) == ["By"])
        #expect(schema.model(root: "Thing", protocol: .cwmp) == nil)
    }

    @Test func flavourComesFromTheSpecURN() throws {
        let schema = try load([("types.xml", Self.types), ("thing.xml", Self.model(spec: "urn:example:thing-1-0-cwmp"))])
        #expect(schema.model(root: "Thing", protocol: .cwmp)?.name == "Thing:1.0")
        #expect(schema.model(root: "Thing", protocol: .usp) == nil)
    }

    @Test func duplicateModelsAreRefused() {
        let error = #expect(throws: SchemaLoadError.self) {
            try load([("types.xml", Self.types), ("a.xml", Self.model()), ("b.xml", Self.model())])
        }
        #expect(error?.code == .duplicateModel)
    }

    @Test func missingTypesAreNamed() {
        let error = #expect(throws: SchemaLoadError.self) { try load([("thing.xml", Self.model())]) }
        #expect(error?.code == .unresolvedDataType)
        #expect(error?.message.contains("Pair") == true)
    }

    @Test func typeCyclesAreRefused() {
        let cycle = """
            <dm:document spec="urn:example:types"><dataType name="A" base="B"/><dataType name="B" base="A"/></dm:document>
            """
        let error = #expect(throws: SchemaLoadError.self) { try load([("types.xml", cycle)]) }
        #expect(error?.code == .unresolvedDataType)
        #expect(error?.message.contains("cycle") == true)
    }

    @Test(arguments: [
        ("<a><b></a>", "line 1", "</a> found where </b> was expected"),
        ("<a>\n<b x=1/></a>", "line 2", "not quoted"),
        ("<a>\n\n<b x=\"&nope;\"/></a>", "line 3", "undefined entity &nope;"),
        ("<a><!-- never closed </a>", "line 1", "unterminated comment"),
        ("<a>\n<b>", "line 2", "document ends inside <b>"),
        ("<a x=\"1\" x=\"2\"/>", "line 1", "attribute x repeated"),
    ])
    func malformedXMLIsReportedWithItsLine(_ document: String, _ line: String, _ detail: String) {
        let error = #expect(throws: SchemaLoadError.self) { try load([("broken.xml", document)]) }
        #expect(error?.code == .malformedXML)
        #expect(error?.message.contains("broken.xml:\(line.dropFirst(5)): ") == true, "\(error?.message ?? "")")
        #expect(error?.message.contains(detail) == true, "\(error?.message ?? "")")
    }

    @Test func invalidDefinitionsAreReported() {
        let badRange = Self.model(body: """
            <object name="Thing.Extra." access="readOnly" minEntries="1" maxEntries="1">
              <parameter name="X"><syntax><int><range minInclusive="one"/></int></syntax></parameter>
            </object>
            """)
        let error = #expect(throws: SchemaLoadError.self) { try load([("types.xml", Self.types), ("thing.xml", badRange)]) }
        #expect(error?.code == .invalidDefinition)
        #expect(error?.message.contains("minInclusive=\"one\" is not an integer") == true)
    }

    @Test func missingFilesAreNamed() {
        let error = #expect(throws: SchemaLoadError.self) { try DataModelSchema.load(files: ["/nonexistent/tr-181.xml"]) }
        #expect(error?.code == .unreadableFile)
        #expect(error?.message.contains("/nonexistent/tr-181.xml") == true)
    }

    @Test func enumerationReferencesBorrowTheTargetsValues() throws {
        let schema = try load([("types.xml", Self.types), ("thing.xml", Self.model())])
        let code = try ParameterPath(validating: "Thing.Part.2.Code")
        #expect(try schema.validateSet(path: code, value: "A", protocol: .usp) == .string("A"))
        #expect(try schema.validateSet(path: code, value: "", protocol: .usp) == .string(""))  // the null value
        let refused = #expect(throws: ValidationError.self) { try schema.validateSet(path: code, value: "C", protocol: .usp) }
        #expect(refused?.message == "Thing.Part.2.Code: \"C\" is not one of A, B, \"\"")
        // A target without values of its own leaves the parameter open.
        let free = try ParameterPath(validating: "Thing.Part.2.Free")
        #expect(try schema.validateSet(path: free, value: "anything", protocol: .usp) == .string("anything"))
    }
}
