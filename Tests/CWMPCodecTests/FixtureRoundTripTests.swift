import CWMPCodec
import Foundation
import Testing
import TwinfleetModel

/// Every vector written by another implementation parses, and survives build → parse unchanged.
@Suite struct FixtureRoundTripTests {
    let decoder = CWMPDecoder()
    let encoder = CWMPEncoder()

    @Test func allVectorsArePresent() {
        #expect(Fixtures.names.count >= 33, "vectors missing from \(Fixtures.directory.path)")
    }

    @Test(arguments: Fixtures.names)
    func vectorRoundTrips(name: String) throws {
        let parsed = try decoder.decode(try Fixtures.bytes(name))
        #expect(parsed.header.id == "123")
        #expect(parsed.namespace == .v1_0)
        let rebuilt = encoder.encode(parsed)
        let reparsed = try decoder.decode(rebuilt)
        #expect(reparsed == parsed)
        // Building is deterministic: the rebuilt envelope builds to the same bytes again.
        #expect(encoder.encode(reparsed) == rebuilt)
    }

    @Test(arguments: Fixtures.names)
    func vectorIsOfTheRPCItsNameSays(name: String) throws {
        let parsed = try decoder.decode(try Fixtures.bytes(name))
        // File names are snake_case RPC names with _request/_response, faults named fault_*.
        if name.contains("fault_response") || name.hasPrefix("fault") {
            #expect(parsed.message.isFault)
            return
        }
        let words = name.replacingOccurrences(of: ".xml", with: "").split(separator: "_")
        let isResponse = words.last == "response"
        let rpc = words.dropLast()
            .filter { !["success", "fault", "invalid"].contains($0) }
            .map { $0 == "rpc" ? "RPC" : $0.prefix(1).uppercased() + $0.dropFirst() }
            .joined()
        #expect(parsed.message.methodName == rpc + (isResponse ? "Response" : ""))
        #expect(parsed.message.isResponse == isResponse)
    }

    @Test func informVectorContent() throws {
        let envelope = try decoder.decode(try Fixtures.bytes("inform_request.xml"))
        guard case .inform(let inform) = envelope.message else {
            Issue.record("not an Inform: \(envelope.message.methodName)")
            return
        }
        #expect(inform.deviceId == DeviceIdStruct(manufacturer: "ACME Networks", oui: "DECADE", productClass: "G3000E", serialNumber: "G3000E-9799109101"))
        #expect(inform.events == [EventStruct(eventCode: .bootstrap, commandKey: "")])
        #expect(inform.maxEnvelopes == 1)
        #expect(inform.retryCount == 0)
        #expect(inform.currentTime == Date(timeIntervalSince1970: 1_717_983_180)) // 2024-06-10T01:33:00Z
        #expect(inform.parameterList.count == 10)
        #expect(inform.parameterList[3] == ParameterValueStruct(name: "Device.ManagementServer.AliasBasedAddressing", value: .boolean(true)))
        #expect(inform.parameterList[9].value == .typed(.string("de:ca:de:11:22:33")))
        #expect(try inform.deviceId.deviceID().rawValue == "DECADE-G3000E-G3000E%2D9799109101")
    }

    @Test func setParameterValuesFaultVectorContent() throws {
        let envelope = try decoder.decode(try Fixtures.bytes("fault_set_parameter_values_response.xml"))
        guard case .fault(let fault) = envelope.message else {
            Issue.record("not a fault")
            return
        }
        #expect(fault.code == .cpeInvalidArguments)
        #expect(fault.string == "InvalidArguments")
        #expect(fault.soapFaultCode == .client)
        #expect(fault.setParameterValuesFaults == [
            SetParameterValuesFault(parameterName: "InternetGatewayDevice.Time.LocalTimeZone", code: .invalidParameterValue, string: "Not a valid time zone value"),
            SetParameterValuesFault(parameterName: "InternetGatewayDevice.Time.LocalTimeZoneName", code: .invalidParameterValue, string: "String too long"),
        ])
    }

    @Test func transferCompleteVectors() throws {
        let failed = try decoder.decode(try Fixtures.bytes("transfer_complete_fault_request.xml"))
        #expect(failed.message == .transferComplete(TransferComplete(
            commandKey: "upgrade", fault: TransferFault(code: .unableToContactFileServer, string: "Server Not Found"),
            startTime: Date(timeIntervalSince1970: 1_718_060_640), completeTime: Date(timeIntervalSince1970: 1_718_060_700))))
        // `<FaultStruct>0</FaultStruct>` (text instead of a struct) is read as success.
        let succeeded = try decoder.decode(try Fixtures.bytes("transfer_complete_success_request.xml"))
        guard case .transferComplete(let complete) = succeeded.message else {
            Issue.record("not a TransferComplete")
            return
        }
        #expect(complete.fault.isSuccess)
    }

    @Test func otherVectorContent() throws {
        let methods = try decoder.decode(try Fixtures.bytes("get_rpc_methods_response.xml"))
        guard case .getRPCMethodsResponse(let response) = methods.message else {
            Issue.record("not a GetRPCMethodsResponse")
            return
        }
        #expect(response.methodList.count == 12)
        #expect(response.methodList.first == "GetRPCMethods")

        let names = try decoder.decode(try Fixtures.bytes("get_parameter_names_response.xml"))
        guard case .getParameterNamesResponse(let list) = names.message else {
            Issue.record("not a GetParameterNamesResponse")
            return
        }
        #expect(list.parameterList.map(\.writable) == [false, false, false, false, true])

        let attributes = try decoder.decode(try Fixtures.bytes("set_parameter_attributes_request.xml"))
        #expect(attributes.message == .setParameterAttributes(SetParameterAttributes(parameterList: [
            SetParameterAttributesStruct(name: "Device.DeviceSummary", notificationChange: true, notification: .passive,
                                         accessListChange: true, accessList: ["Subscriber"]),
        ])))

        let download = try decoder.decode(try Fixtures.bytes("download_request.xml"))
        guard case .download(let request) = download.message else {
            Issue.record("not a Download")
            return
        }
        #expect(request.fileSize == 184_258_350)
        #expect(request.fileType == "1 Firmware Upgrade Image")
        #expect(request.password == "secret")

        let added = try decoder.decode(try Fixtures.bytes("add_object_response.xml"))
        #expect(added.message == .addObjectResponse(AddObjectResponse(instanceNumber: 123, status: .pending)))
    }
}
