import Testing
import TwinfleetModel

@Suite struct ParameterTypeTests {
    @Test func xsdNames() {
        #expect(ParameterType.allCases.map(\.xsdName) == [
            "xsd:string", "xsd:int", "xsd:unsignedInt", "xsd:long", "xsd:unsignedLong", "xsd:boolean",
            "xsd:dateTime", "xsd:base64", "xsd:hexBinary", "xsd:decimal",
        ])
    }

    @Test(arguments: ParameterType.allCases)
    func parsesItsOwnNames(_ type: ParameterType) throws {
        #expect(try ParameterType(parsing: type.xsdName) == type)
        #expect(try ParameterType(parsing: type.rawValue) == type)
        #expect(try ParameterType(parsing: type.xsdName.uppercased()) == type)
        #expect(try ParameterType(parsing: " \(type.xsdName.lowercased())\n") == type)
    }

    @Test func acceptsBase64Binary() throws {
        #expect(try ParameterType(parsing: "xsd:base64Binary") == .base64)
    }

    @Test(arguments: ["", "xsd:", "xsd:float", "unsigned", "xs:int", "soap-enc:string", "xsd:int xsd:long"])
    func refusesUnknownNames(_ text: String) {
        let error = #expect(throws: ModelError.self) { try ParameterType(parsing: text) }
        #expect(error?.code == .invalidType)
        #expect(error?.message.contains("xsd:unsignedInt") == true)  // lists what would be accepted
    }
}
