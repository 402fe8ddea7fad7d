import CWMPCodec
import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import Testing
import TwinfleetModel

/// What the builder writes: well-formed, escaped, typed, and readable back to the same value.
@Suite struct BuilderTests {
    let decoder = CWMPDecoder()
    let encoder = CWMPEncoder()

    func roundTrip(_ envelope: CWMPEnvelope) throws -> CWMPEnvelope {
        try decoder.decode(encoder.encode(envelope))
    }

    /// One envelope per message case, with awkward values where a field is free text.
    static let everyMessage: [CWMPMessage] = {
        let t0 = Date(timeIntervalSince1970: 1_700_000_000)
        let t1 = Date(timeIntervalSince1970: 1_700_000_060.25)
        let values = [
            ParameterValueStruct(name: "Device.A", value: .string(" spaced <&>\"' ")),
            ParameterValueStruct(name: "Device.B", value: .unsignedInt(4_294_967_295)),
            ParameterValueStruct(name: "Device.C", value: .raw(text: "x", typeName: "xsd:vendor")),
        ]
        return [
            .inform(Inform(deviceId: DeviceIdStruct(manufacturer: "A&B", oui: "00D09E", productClass: "", serialNumber: "S<1>"),
                           events: [EventStruct(eventCode: .boot), EventStruct(eventCode: .mReboot, commandKey: "ck")],
                           currentTime: t1, retryCount: 3, parameterList: values)),
            .informResponse(InformResponse()),
            .transferComplete(TransferComplete(commandKey: "c", fault: TransferFault(code: .fileCorrupted, string: "bad"), startTime: t0, completeTime: t1)),
            .transferCompleteResponse,
            .autonomousTransferComplete(AutonomousTransferComplete(transferURL: "http://x/f?a=1&b=2", isDownload: false, fileType: "2 Vendor Log File", fileSize: 10, startTime: t0, completeTime: t1)),
            .autonomousTransferCompleteResponse,
            .requestDownload(RequestDownload(fileType: "3 Vendor Configuration File", fileTypeArg: [ArgStruct(name: "Version", value: " 1 ")])),
            .requestDownloadResponse,
            .kicked(Kicked(command: "c", referer: "r", arg: "a", next: "n")),
            .kickedResponse(KickedResponse(nextURL: "http://next")),
            .getRPCMethods,
            .getRPCMethodsResponse(GetRPCMethodsResponse(methodList: ["Inform", "TransferComplete"])),
            .getParameterValues(GetParameterValues(parameterNames: ["Device.", "Device.DeviceInfo.SerialNumber"])),
            .getParameterValuesResponse(GetParameterValuesResponse(parameterList: values)),
            .setParameterValues(SetParameterValues(parameterList: values, parameterKey: "pk")),
            .setParameterValuesResponse(SetParameterValuesResponse(status: .applied)),
            .getParameterNames(GetParameterNames(parameterPath: "", nextLevel: true)),
            .getParameterNamesResponse(GetParameterNamesResponse(parameterList: [ParameterInfoStruct(name: "Device.", writable: false)])),
            .getParameterAttributes(GetParameterAttributes(parameterNames: ["Device.A"])),
            .getParameterAttributesResponse(GetParameterAttributesResponse(parameterList: [ParameterAttributeStruct(name: "Device.A", notification: .passiveWithActiveLightweight, accessList: [])])),
            .setParameterAttributes(SetParameterAttributes(parameterList: [SetParameterAttributesStruct(name: "Device.", notificationChange: true, notification: .active)])),
            .setParameterAttributesResponse,
            .addObject(AddObject(objectName: "Device.NAT.PortMapping.", parameterKey: "k")),
            .addObjectResponse(AddObjectResponse(instanceNumber: 7, status: .applied)),
            .deleteObject(DeleteObject(objectName: "Device.NAT.PortMapping.7.")),
            .deleteObjectResponse(DeleteObjectResponse(status: .pending)),
            .reboot(Reboot(commandKey: "r")),
            .rebootResponse,
            .factoryReset,
            .factoryResetResponse,
            .download(Download(commandKey: "d", fileType: "1 Firmware Upgrade Image", url: "http://f/x.bin", username: " u ", password: "p&w<>", fileSize: 1, targetFileName: "x.bin", delaySeconds: 5)),
            .downloadResponse(TransferResponse(status: .pending)),
            .upload(Upload(commandKey: "u", fileType: "1 Vendor Configuration File", url: "http://up", delaySeconds: 0)),
            .uploadResponse(TransferResponse(status: .applied, startTime: t0, completeTime: t1)),
            .scheduleInform(ScheduleInform(delaySeconds: 60, commandKey: "s")),
            .scheduleInformResponse,
            .scheduleDownload(ScheduleDownload(commandKey: "sd", fileType: "1 Firmware Upgrade Image", url: "http://f", timeWindowList: [
                TimeWindowStruct(windowStart: 0, windowEnd: 3600, windowMode: "1 At Any Time"),
                TimeWindowStruct(windowStart: 3600, windowEnd: 7200, windowMode: "4 Confirmation Needed", userMessage: "ok?", maxRetries: 2),
            ])),
            .scheduleDownloadResponse,
            .cancelTransfer(CancelTransfer(commandKey: "sd")),
            .cancelTransferResponse,
            .fault(CWMPFault(code: .methodNotSupported)),
        ]
    }()

    @Test(arguments: everyMessage)
    func everyMessageRoundTrips(message: CWMPMessage) throws {
        let envelope = CWMPEnvelope(header: CWMPHeader(id: "id-1"), message: message, namespace: .v1_2)
        #expect(try roundTrip(envelope) == envelope)
    }

    @Test func everyMethodIsCovered() {
        // 41 cases: 40 RPC elements and the fault.
        #expect(Set(Self.everyMessage.map(\.methodName)).count == 41)
    }

    @Test(arguments: everyMessage)
    func outputIsWellFormedForAnIndependentParser(message: CWMPMessage) throws {
        #if canImport(FoundationXML)
        let bytes = encoder.encode(CWMPEnvelope(header: CWMPHeader(id: "1", holdRequests: false), message: message))
        let parser = XMLParser(data: Data(bytes))
        parser.shouldProcessNamespaces = true
        #expect(parser.parse(), "\(String(describing: parser.parserError))")
        #endif
    }

    @Test func specialCharactersRoundTrip() throws {
        let nasty = "<&>\"' \t\r\n]]> &amp; é 😀"
        let envelope = CWMPEnvelope(header: CWMPHeader(id: nasty), message: .setParameterValues(SetParameterValues(
            parameterList: [ParameterValueStruct(name: "Device.X", value: .string(nasty))], parameterKey: "<&>")))
        let bytes = encoder.encode(envelope)
        let text = String(decoding: bytes, as: UTF8.self)
        #expect(text.contains("&lt;&amp;&gt;\"' \t&#xD;\n]]&gt; &amp;amp; é 😀"))
        #expect(!text.contains("<&>"))
        #expect(try roundTrip(envelope) == envelope)
        // Raw values with a type name needing escaping, too.
        let raw = CWMPEnvelope(message: .getParameterValuesResponse(GetParameterValuesResponse(parameterList: [
            ParameterValueStruct(name: "A", value: .raw(text: "<x>", typeName: "a\"b<c")),
        ])))
        #expect(try roundTrip(raw) == raw)
    }

    @Test(arguments: [
        (ParameterValue.string("s"), "xsd:string", "s"),
        (.int(-2_147_483_648), "xsd:int", "-2147483648"),
        (.unsignedInt(4_294_967_295), "xsd:unsignedInt", "4294967295"),
        (.long(-9_223_372_036_854_775_808), "xsd:long", "-9223372036854775808"),
        (.unsignedLong(18_446_744_073_709_551_615), "xsd:unsignedLong", "18446744073709551615"),
        (.boolean(true), "xsd:boolean", "true"),
        (.dateTime(Date(timeIntervalSince1970: 0)), "xsd:dateTime", "1970-01-01T00:00:00Z"),
        (.base64(Data("hi".utf8)), "xsd:base64", "aGk="),
        (.hexBinary(Data([0xAB, 0x01])), "xsd:hexBinary", "ab01"),
        (.decimal("-12.50"), "xsd:decimal", "-12.50"),
    ])
    func xsiTypeForEveryParameterType(value: ParameterValue, typeName: String, text: String) throws {
        let envelope = CWMPEnvelope(message: .setParameterValues(SetParameterValues(parameterList: [ParameterValueStruct(name: "A.B", value: value)])))
        let xml = String(decoding: encoder.encode(envelope), as: UTF8.self)
        #expect(xml.contains("<Value xsi:type=\"\(typeName)\">\(text)</Value>"))
        #expect(try roundTrip(envelope) == envelope)
    }

    @Test func everyParameterTypeIsCoveredAndBase64BinaryIsAccepted() throws {
        #expect(ParameterType.allCases.count == 10)
        let parsed = try decoder.decode(envelope("<cwmp:SetParameterValues><ParameterList><ParameterValueStruct><Name>A</Name><Value xsi:type=\"xsd:base64Binary\">aGk=</Value></ParameterValueStruct></ParameterList><ParameterKey/></cwmp:SetParameterValues>"))
        #expect(parsed.message == .setParameterValues(SetParameterValues(parameterList: [ParameterValueStruct(name: "A", value: .base64(Data("hi".utf8)))])))
    }

    @Test func arrayTypeCountsAreExact() {
        let names = (1...37).map { "Device.P\($0)" }
        let xml = String(decoding: encoder.encode(CWMPEnvelope(message: .getParameterValues(GetParameterValues(parameterNames: names)))), as: UTF8.self)
        #expect(xml.contains("<ParameterNames soap-enc:arrayType=\"xsd:string[37]\">"))
        #expect(xml.components(separatedBy: "<string>").count - 1 == 37)
        let spv = String(decoding: encoder.encode(CWMPEnvelope(message: .setParameterValues(SetParameterValues(parameterList: [
            ParameterValueStruct(name: "A", value: .boolean(false)), ParameterValueStruct(name: "B", value: .int(1)),
        ])))), as: UTF8.self)
        #expect(spv.contains("soap-enc:arrayType=\"cwmp:ParameterValueStruct[2]\""))
    }

    @Test func setParameterValuesFaultWithSeveralParametersRoundTrips() throws {
        let fault = CWMPFault(code: .cpeInvalidArguments, string: "Invalid arguments", setParameterValuesFaults: [
            SetParameterValuesFault(parameterName: "Device.A", code: .invalidParameterName),
            SetParameterValuesFault(parameterName: "Device.B", code: .invalidParameterType, string: "expected <int>"),
            SetParameterValuesFault(parameterName: "Device.C", code: .nonWritableParameter),
            SetParameterValuesFault(parameterName: "Device.D", code: CWMPFaultCode(9850), string: "vendor"),
        ])
        let envelope = CWMPEnvelope(header: CWMPHeader(id: "9"), message: .fault(fault))
        #expect(try roundTrip(envelope) == envelope)
        let xml = String(decoding: encoder.encode(envelope), as: UTF8.self)
        #expect(xml.contains("<faultcode>Client</faultcode><faultstring>CWMP fault</faultstring>"))
        #expect(xml.components(separatedBy: "<SetParameterValuesFault>").count - 1 == 4)
        #expect(fault.setParameterValuesFaults[0].string == "Invalid parameter name")
        #expect(CWMPFaultCode(9850).isVendorSpecific && CWMPFaultCode(9850).isCPEFault)
    }

    @Test func faultCodesHaveTheirStandardMeanings() {
        #expect(CWMPFaultCode.methodNotSupported.rawValue == 8000)
        #expect(CWMPFaultCode.retryRequest.rawValue == 8005)
        #expect(CWMPFaultCode.cpeMethodNotSupported.rawValue == 9000)
        #expect(CWMPFaultCode.fileAuthenticationFailure.rawValue == 9019)
        #expect(CWMPFaultCode(8003).meaning == "Invalid arguments")
        #expect(CWMPFaultCode(9008).meaning == "Attempt to set a non-writable parameter")
        #expect(CWMPFaultCode(9015).meaning == "File transfer failure: unable to contact file server")
        #expect(CWMPFaultCode(9002).soapFaultCode == .server)
        #expect(CWMPFaultCode(9005).soapFaultCode == .client)
        #expect(CWMPFaultCode(8001).isACSFault && !CWMPFaultCode(8001).isCPEFault)
    }

    @Test func replyEchoesIDAndNamespace() throws {
        let request = try decoder.decode(envelope("<cwmp:GetRPCMethods/>", header: "<cwmp:ID soapenv:mustUnderstand=\"1\">abc 1</cwmp:ID>", namespace: "urn:dslforum-org:cwmp-1-2"))
        let reply = request.reply(with: .getRPCMethodsResponse(GetRPCMethodsResponse(methodList: ["Inform"])))
        let xml = String(decoding: encoder.encode(reply), as: UTF8.self)
        #expect(xml.contains("<cwmp:ID soap-env:mustUnderstand=\"1\">abc 1</cwmp:ID>"))
        #expect(xml.contains("xmlns:cwmp=\"urn:dslforum-org:cwmp-1-2\""))
        // Without a CPE choice the widest-compatible namespace is used.
        let fresh = String(decoding: encoder.encode(CWMPEnvelope(message: .getRPCMethods)), as: UTF8.self)
        #expect(fresh.contains("xmlns:cwmp=\"urn:dslforum-org:cwmp-1-0\""))
        #expect(!fresh.contains("Header"))
    }

    @Test func codecErrorBecomesAFaultReply() throws {
        do {
            _ = try decoder.decode(envelope("<cwmp:SetVouchers/>"))
            Issue.record("SetVouchers should be refused")
        } catch {
            let reply = CWMPEnvelope(header: CWMPHeader(id: "1"), message: .fault(error.fault))
            let parsed = try roundTrip(reply)
            guard case .fault(let fault) = parsed.message else {
                Issue.record("not a fault")
                return
            }
            #expect(fault.code.rawValue == 8000)
            #expect(fault.string.contains("SetVouchers"))
        }
    }
}
