import CWMPCodec
import Foundation
import Testing
import TwinfleetModel

/// What real CPEs send that is odd but harmless must parse.
@Suite struct ToleranceTests {
    let decoder = CWMPDecoder()

    static let minimalInform = """
        <cwmp:Inform><DeviceId><Manufacturer>M</Manufacturer><OUI>00D09E</OUI><ProductClass>PC</ProductClass><SerialNumber>S1</SerialNumber></DeviceId>\
        <Event soapenc:arrayType="cwmp:EventStruct[1]"><EventStruct><EventCode>1 BOOT</EventCode><CommandKey></CommandKey></EventStruct></Event>\
        <MaxEnvelopes>1</MaxEnvelopes><CurrentTime>2024-01-02T03:04:05Z</CurrentTime><RetryCount>2</RetryCount>\
        <ParameterList soapenc:arrayType="cwmp:ParameterValueStruct[1]"><ParameterValueStruct><Name>Device.DeviceInfo.SoftwareVersion</Name><Value xsi:type="xsd:string">1.0</Value></ParameterValueStruct></ParameterList></cwmp:Inform>
        """

    func inform(_ bytes: [UInt8]) throws -> Inform {
        let envelope = try decoder.decode(bytes)
        guard case .inform(let inform) = envelope.message else {
            throw CWMPCodecError(.notAnEnvelope, "expected an Inform, got \(envelope.message.methodName)")
        }
        return inform
    }

    @Test(arguments: ["soap", "SOAP-ENV", "soapenv", "s", "env"])
    func anySOAPPrefix(prefix: String) throws {
        let xml = """
            <\(prefix):Envelope xmlns:\(prefix)="http://schemas.xmlsoap.org/soap/envelope/" xmlns:cwmp1="urn:dslforum-org:cwmp-1-1">\
            <\(prefix):Header><cwmp1:ID \(prefix):mustUnderstand="1">7</cwmp1:ID></\(prefix):Header>\
            <\(prefix):Body><cwmp1:Reboot><CommandKey>k</CommandKey></cwmp1:Reboot></\(prefix):Body></\(prefix):Envelope>
            """
        let envelope = try decoder.decode(xml.bytes)
        #expect(envelope.header.id == "7")
        #expect(envelope.namespace == .v1_1)
        #expect(envelope.message == .reboot(Reboot(commandKey: "k")))
    }

    @Test func defaultNamespacesAndNoPrefixes() throws {
        let xml = """
            <Envelope xmlns="http://schemas.xmlsoap.org/soap/envelope/"><Body>\
            <GetParameterValues xmlns="urn:dslforum-org:cwmp-1-2"><ParameterNames><string>Device.</string></ParameterNames></GetParameterValues>\
            </Body></Envelope>
            """
        let envelope = try decoder.decode(xml.bytes)
        #expect(envelope.header == CWMPHeader())
        #expect(envelope.namespace == .v1_2)
        #expect(envelope.message == .getParameterValues(GetParameterValues(parameterNames: ["Device."])))
    }

    @Test func otherXSDAndXSIPrefixes() throws {
        let body = """
            <cwmp:GetParameterValuesResponse><ParameterList><ParameterValueStruct><Name>A.B</Name>\
            <Value xmlns:i="http://www.w3.org/2001/XMLSchema-instance" xmlns:x="http://www.w3.org/2001/XMLSchema" i:type="x:unsignedInt">42</Value>\
            </ParameterValueStruct></ParameterList></cwmp:GetParameterValuesResponse>
            """
        let envelope = try decoder.decode(envelope(body))
        #expect(envelope.message == .getParameterValuesResponse(GetParameterValuesResponse(parameterList: [
            ParameterValueStruct(name: "A.B", value: .unsignedInt(42)),
        ])))
    }

    @Test func missingIDAndHoldRequests() throws {
        let noID = try decoder.decode(envelope("<cwmp:GetRPCMethods/>", header: ""))
        #expect(noID.header.id == nil)
        #expect(noID.message == .getRPCMethods)
        let held = try decoder.decode(envelope("<cwmp:GetRPCMethods/>", header: "<cwmp:ID soapenv:mustUnderstand=\"1\">x</cwmp:ID><cwmp:HoldRequests soapenv:mustUnderstand=\"1\">1</cwmp:HoldRequests><cwmp:NoMoreRequests>0</cwmp:NoMoreRequests>"))
        #expect(held.header == CWMPHeader(id: "x", holdRequests: true, noMoreRequests: false))
        let noHeader = try decoder.decode("<soap:Envelope xmlns:soap=\"http://schemas.xmlsoap.org/soap/envelope/\"><soap:Body><FactoryReset/></soap:Body></soap:Envelope>".bytes)
        #expect(noHeader.message == .factoryReset)
    }

    @Test func cwmp14Headers() throws {
        let header = """
            <cwmp:ID soapenv:mustUnderstand="1">1</cwmp:ID><cwmp:SessionTimeout soapenv:mustUnderstand="0">60</cwmp:SessionTimeout>\
            <cwmp:SupportedCWMPVersions soapenv:mustUnderstand="0">1.0,1.1, 1.2,1.3,1.4</cwmp:SupportedCWMPVersions>\
            <cwmp:UseCWMPVersion soapenv:mustUnderstand="1">1.4</cwmp:UseCWMPVersion>
            """
        let parsed = try decoder.decode(envelope("<cwmp:GetRPCMethods/>", header: header, namespace: "urn:dslforum-org:cwmp-1-2"))
        #expect(parsed.header == CWMPHeader(id: "1", sessionTimeout: 60, supportedCWMPVersions: ["1.0", "1.1", "1.2", "1.3", "1.4"], useCWMPVersion: "1.4"))
        #expect(parsed.namespace == .v1_2)
        #expect(try decoder.decode(CWMPEncoder().encode(parsed)) == parsed)
        #expect(CWMPNamespace(protocolVersion: "1.4") == .v1_2)
    }

    @Test func arrayTypeDisagreeingWithTheElementCount() throws {
        let body = """
            <cwmp:GetParameterNamesResponse><ParameterList soapenc:arrayType="cwmp:ParameterInfoStruct[7]">\
            <ParameterInfoStruct><Name>Device.</Name><Writable>0</Writable></ParameterInfoStruct>\
            <ParameterInfoStruct><Name>Device.A</Name><Writable>1</Writable></ParameterInfoStruct>\
            </ParameterList></cwmp:GetParameterNamesResponse>
            """
        let parsed = try decoder.decode(envelope(body))
        #expect(parsed.message == .getParameterNamesResponse(GetParameterNamesResponse(parameterList: [
            ParameterInfoStruct(name: "Device.", writable: false), ParameterInfoStruct(name: "Device.A", writable: true),
        ])))
        // …and the builder writes the real count.
        let rebuilt = String(decoding: CWMPEncoder().encode(parsed), as: UTF8.self)
        #expect(rebuilt.contains("arrayType=\"cwmp:ParameterInfoStruct[2]\""))
    }

    @Test(arguments: [
        ("0 bootstrap", "0 BOOTSTRAP"), ("1 Boot", "1 BOOT"), ("  4   value change ", "4 VALUE CHANGE"),
        ("m reboot", "M Reboot"), ("M download", "M Download"), ("x 00D09E MyEvent", "X 00D09E MyEvent"),
        ("M X_VENDOR_Thing", "M X_VENDOR_Thing"), ("6 CONNECTION REQUEST", "6 CONNECTION REQUEST"),
    ])
    func eventCodesAreNormalised(sent: String, expected: String) throws {
        let xml = Self.minimalInform.replacingOccurrences(of: "<EventCode>1 BOOT</EventCode>", with: "<EventCode>\(sent)</EventCode>")
        #expect(try inform(envelope(xml)).events.first?.eventCode.rawValue == expected)
    }

    @Test func whitespaceNewlinesCommentsAndPIsEverywhere() throws {
        let xml = """
            <?xml version="1.0"?>
            <!-- a comment before the root -->
            <soapenv:Envelope
                xmlns:soapenv = 'http://schemas.xmlsoap.org/soap/envelope/'
                xmlns:cwmp="urn:dslforum-org:cwmp-1-0" >
              <soapenv:Body >
                <?vendor-pi something?>
                <cwmp:ScheduleInform>
                  <DelaySeconds>
                    30
                  </DelaySeconds>
                  <!-- comment in a struct -->
                  <CommandKey>
                    key
                  </CommandKey>
                </cwmp:ScheduleInform >
              </soapenv:Body>
            </soapenv:Envelope >
            <!-- trailing -->

            """
        let parsed = try decoder.decode(xml.bytes)
        #expect(parsed.message == .scheduleInform(ScheduleInform(delaySeconds: 30, commandKey: "key")))
    }

    @Test func cdataEntitiesAndCharacterReferences() throws {
        let body = """
            <cwmp:SetParameterValues><ParameterList>\
            <ParameterValueStruct><Name>A.One</Name><Value xsi:type="xsd:string"><![CDATA[<b>&amp;</b>]]></Value></ParameterValueStruct>\
            <ParameterValueStruct><Name>A.Two</Name><Value xsi:type="xsd:string">&lt;&gt;&amp;&quot;&apos;&#65;&#x42;&#x20AC;&#128512;</Value></ParameterValueStruct>\
            <ParameterValueStruct><Name>A.Three</Name><Value xsi:type="xsd:string">x<![CDATA[ y ]]>z</Value></ParameterValueStruct>\
            </ParameterList><ParameterKey>k&amp;1</ParameterKey></cwmp:SetParameterValues>
            """
        let parsed = try decoder.decode(envelope(body))
        #expect(parsed.message == .setParameterValues(SetParameterValues(parameterList: [
            ParameterValueStruct(name: "A.One", value: .string("<b>&amp;</b>")),
            ParameterValueStruct(name: "A.Two", value: .string("<>&\"'AB€😀")),
            ParameterValueStruct(name: "A.Three", value: .string("x y z")),
        ], parameterKey: "k&1")))
    }

    @Test func utf8ByteOrderMark() throws {
        let parsed = try decoder.decode([0xEF, 0xBB, 0xBF] + envelope("<cwmp:GetRPCMethods/>"))
        #expect(parsed.message == .getRPCMethods)
    }

    @Test func emptyHTTPBodyIsItsOwnCase() throws {
        #expect(try decoder.decodeHTTPBody([]) == .empty)
        #expect(try decoder.decodeHTTPBody("\r\n".bytes) == .empty)
        #expect(try decoder.decodeHTTPBody(envelope("<cwmp:GetRPCMethods/>")) != .empty)
        #expect(throws: CWMPCodecError.self) { try decoder.decode([]) }
    }

    @Test func unknownOrMissingValueTypesAreKeptRaw() throws {
        let body = """
            <cwmp:Inform><DeviceId><OUI>ABCDEF</OUI><SerialNumber>1</SerialNumber></DeviceId><Event/>\
            <CurrentTime>0001-01-01T00:00:00Z</CurrentTime><ParameterList>\
            <ParameterValueStruct><Name>A.Vendor</Name><Value xsi:type="xsd:vendorThing">v</Value></ParameterValueStruct>\
            <ParameterValueStruct><Name>A.Untyped</Name><Value>u</Value></ParameterValueStruct>\
            <ParameterValueStruct><Name>A.BadBool</Name><Value xsi:type="xsd:boolean">enabled</Value></ParameterValueStruct>\
            <ParameterValueStruct><Name>A.Number</Name><Value xsi:type="xsd:int"> -5 </Value></ParameterValueStruct>\
            </ParameterList></cwmp:Inform>
            """
        let parsed = try inform(envelope(body))
        #expect(parsed.parameterList.map(\.value) == [
            .raw(text: "v", typeName: "xsd:vendorThing"),
            .raw(text: "u", typeName: nil),
            .raw(text: "enabled", typeName: "xsd:boolean"),
            .typed(.int(-5)),
        ])
        #expect(parsed.currentTime == ParameterValue.unknownTime)
        #expect(parsed.maxEnvelopes == 1) // absent: the only value in use
        #expect(parsed.deviceId.productClass == "")
        // Raw values survive a round trip unchanged.
        #expect(try decoder.decode(CWMPEncoder().encode(CWMPEnvelope(message: .inform(parsed)))).message == .inform(parsed))
    }

    @Test func soapFaultWithPrefixedFaultCode() throws {
        let body = """
            <SOAP-ENV:Fault xmlns:SOAP-ENV="http://schemas.xmlsoap.org/soap/envelope/"><faultcode>SOAP-ENV:Server</faultcode><faultstring>CWMP fault</faultstring>\
            <detail><cwmp:Fault><FaultCode>9002</FaultCode><FaultString>Internal error</FaultString></cwmp:Fault></detail></SOAP-ENV:Fault>
            """
        let parsed = try decoder.decode(envelope(body))
        #expect(parsed.message == .fault(CWMPFault(code: .cpeInternalError, string: "Internal error", soapFaultCode: .server)))
    }

    @Test func lineEndsAreNormalisedAsXMLRequires() throws {
        let xml = envelope("<cwmp:Reboot><CommandKey>a</CommandKey></cwmp:Reboot>")
        let crlf = Array(String(decoding: xml, as: UTF8.self).replacingOccurrences(of: "\n", with: "\r\n").utf8)
        #expect(try decoder.decode(crlf).message == .reboot(Reboot(commandKey: "a")))
        let value = try decoder.decode(envelope("<cwmp:SetParameterValues><ParameterList><ParameterValueStruct><Name>A</Name><Value xsi:type=\"xsd:string\">1\r\n2\r3</Value></ParameterValueStruct></ParameterList></cwmp:SetParameterValues>"))
        #expect(value.message == .setParameterValues(SetParameterValues(parameterList: [ParameterValueStruct(name: "A", value: .string("1\n2\n3"))])))
    }
}
