import DataModel
import Testing
import TwinfleetModel

@Suite struct SchemaLoadingTests {
    @Test func specFilesArePresent() {
        for name in DataModelSchema.standardFiles {
            let path = SpecFixtures.dataModelsDirectory + "/" + name
            #expect(FileProbe.isReadable(path), "missing spec file \(path): the tests need ../shared/specs next to the repository")
        }
    }

    /// The counts `../shared/specs/README.md` gives for the files.
    @Test func countsMatchTheSpecsReadme() throws {
        let schema = try SpecFixtures.schema()
        #expect(schema.models.count == 3)

        let cwmp = try #require(schema.model(root: "Device", protocol: .cwmp))
        #expect(cwmp.name == "Device:2.19")
        #expect(cwmp.spec == "urn:broadband-forum-org:tr-181-2-19-1-cwmp")
        #expect(cwmp.objects.count == 873)
        #expect(cwmp.parameters.count == 7343)
        #expect(cwmp.commands.isEmpty)
        #expect(cwmp.events.isEmpty)

        let usp = try #require(schema.model(root: "Device", protocol: .usp))
        #expect(usp.objects.count == 822)
        #expect(usp.parameters.count == 6722)
        #expect(usp.commands.count == 179)
        #expect(usp.events.count == 53)

        let igd = try #require(schema.model(root: "InternetGatewayDevice", protocol: .cwmp))
        #expect(igd.name == "InternetGatewayDevice:1.14")
        #expect(igd.objects.count == 192)
        #expect(igd.parameters.count == 1801)
        #expect(schema.model(root: "InternetGatewayDevice", protocol: .usp) == nil)
    }

    @Test func everyPathIsIndexedOnce() throws {
        let schema = try SpecFixtures.schema()
        for model in schema.models {
            // Each object's members are exactly the model's arrays, partitioned.
            #expect(model.objects.reduce(0) { $0 + model.parameters(of: $1).count } == model.parameters.count)
            #expect(model.objects.reduce(0) { $0 + model.commands(of: $1).count } == model.commands.count)
            #expect(Set(model.objects.map(\.path)).count == model.objects.count)
            #expect(Set(model.parameters.map(\.path)).count == model.parameters.count)
            for parameter in model.parameters.prefix(2000) {
                #expect(model.definition(atPattern: parameter.path) == .parameter(parameter))
            }
        }
    }

    @Test func everyPatternOfTheStandardCompiles() throws {
        let schema = try SpecFixtures.schema()
        var patterns = Set<String>()
        for model in schema.models {
            for parameter in model.parameters { patterns.formUnion(parameter.syntax.value.patterns) }
        }
        #expect(patterns.count > 20)
        let failing = patterns.filter { !$0.isEmpty && !PatternMatcher.compiles($0) }
        #expect(failing.isEmpty, "patterns Swift Regex cannot compile: \(failing.sorted())")
    }

    /// Loading is done once per service start; debug builds on two cores must stay quick.
    @Test func loadsQuicklyAndCompactly() throws {
        let before = MemoryProbe.residentBytes()
        let clock = ContinuousClock()
        var schema: DataModelSchema?
        let elapsed = try clock.measure { schema = try DataModelSchema.load(directory: SpecFixtures.dataModelsDirectory) }
        let after = MemoryProbe.residentBytes()
        let total = schema?.models.reduce(0) { $0 + $1.parameters.count } ?? 0
        print("loaded \(total) parameters in \(elapsed); resident memory grew by \((after - before) / 1_048_576) MiB (an upper bound)")
        #expect(total == 7343 + 6722 + 1801)
        #expect(elapsed < .seconds(10))
    }
}
