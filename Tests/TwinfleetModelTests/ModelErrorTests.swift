import Testing
import TwinfleetModel

@Suite struct ModelErrorTests {
    @Test func capturesTheCallSite() {
        let error = ModelError(.invalidPath, "bad")
        #expect(error.file.hasSuffix("ModelErrorTests.swift"))
        #expect(error.line == 6)
        #expect(error.description == "invalidPath: bad (\(error.file):6)")
    }

    @Test func messagesQuoteLongInputTruncated() {
        let error = #expect(throws: ModelError.self) { try ParameterValue(parsing: String(repeating: "9", count: 10_000), as: .int) }
        #expect(error?.message.contains("…") == true)
        #expect((error?.message.count ?? .max) < 200)
    }

    @Test func parameterDescriptionRedactsCredentials() throws {
        let key = Parameter(path: try ParameterPath(validating: "Device.WiFi.AccessPoint.1.Security.KeyPassphrase"),
                            value: .string("hunter2hunter2"), writable: true)
        #expect(!key.description.contains("hunter2"))
        #expect(key.description == "Device.WiFi.AccessPoint.1.Security.KeyPassphrase = <redacted> (string) [rw]")
        let channel = Parameter(path: try ParameterPath(validating: "Device.WiFi.Radio.1.Channel"), value: .unsignedInt(6))
        #expect(channel.description == "Device.WiFi.Radio.1.Channel = 6 (unsignedInt)")
    }

    @Test func protocolRawValues() {
        #expect(DeviceProtocol.allCases.map(\.rawValue) == ["cwmp", "usp"])
        #expect(DeviceProtocol(rawValue: "usp") == .usp)
        #expect(DeviceProtocol(rawValue: "USP") == nil)
    }
}
