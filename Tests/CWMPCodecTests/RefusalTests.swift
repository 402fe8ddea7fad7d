import CWMPCodec
import Testing

/// What is malformed or dangerous is refused with a typed error and the right CWMP fault.
@Suite struct RefusalTests {
    let decoder = CWMPDecoder()

    func error(_ bytes: [UInt8], decoder: CWMPDecoder = CWMPDecoder()) -> CWMPCodecError? {
        do {
            _ = try decoder.decode(bytes)
            return nil
        } catch {
            return error
        }
    }

    @Test func doctypeIsRefused() {
        let xml = "<?xml version=\"1.0\"?><!DOCTYPE foo [<!ENTITY xxe SYSTEM \"file:///etc/passwd\">]>" + String(decoding: envelope("<cwmp:Reboot><CommandKey>&xxe;</CommandKey></cwmp:Reboot>"), as: UTF8.self).replacingOccurrences(of: "<?xml version=\"1.0\" encoding=\"UTF-8\"?>", with: "")
        let refused = error(xml.bytes)
        #expect(refused?.code == .forbiddenDeclaration)
        #expect(refused?.message.contains("DOCTYPE") == true)
        #expect(refused?.faultCode == .internalError)
    }

    @Test func billionLaughsIsRefused() {
        let xml = """
            <?xml version="1.0"?>
            <!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>
            <lolz>&lol2;</lolz>
            """
        #expect(error(xml.bytes)?.code == .forbiddenDeclaration)
        // An ENTITY declaration inside the document is refused too.
        #expect(error("<a><!ENTITY x \"y\"></a>".bytes)?.code == .forbiddenDeclaration)
    }

    @Test func unknownEntityIsRefused() {
        let refused = error(envelope("<cwmp:Reboot><CommandKey>&nbsp;</CommandKey></cwmp:Reboot>"))
        #expect(refused?.code == .unknownEntity)
        #expect(refused?.message.contains("nbsp") == true)
    }

    @Test func deepNestingIsRefused() {
        let depth = 100
        let xml = String(repeating: "<a>", count: depth) + String(repeating: "</a>", count: depth)
        let refused = error(xml.bytes)
        #expect(refused?.code == .tooDeep)
        #expect(refused?.faultCode == .resourcesExceeded)
        // Exactly at the limit is fine for the XML layer (it is then not an envelope).
        let atLimit = String(repeating: "<a>", count: 64) + String(repeating: "</a>", count: 64)
        #expect(error(atLimit.bytes)?.code == .notAnEnvelope)
    }

    @Test func oversizedInputIsRefused() {
        let small = CWMPDecoder(limits: CWMPDecodingLimits(maxBytes: 100))
        let refused = error(envelope("<cwmp:GetRPCMethods/>"), decoder: small)
        #expect(refused?.code == .tooLarge)
        let huge = [UInt8](repeating: UInt8(ascii: " "), count: (4 << 20) + 1)
        #expect(error(huge)?.code == .tooLarge)
    }

    @Test func tooManyElementsOrAttributesAreRefused() {
        let limited = CWMPDecoder(limits: CWMPDecodingLimits(maxElements: 10, maxAttributesPerElement: 3))
        #expect(error(envelope("<cwmp:GetParameterValues><ParameterNames>" + String(repeating: "<string>A.</string>", count: 20) + "</ParameterNames></cwmp:GetParameterValues>"), decoder: limited)?.code == .tooManyNodes)
        #expect(error("<a b='1' c='2' d='3' e='4'/>".bytes, decoder: limited)?.code == .tooManyNodes)
    }

    @Test(arguments: [
        [0xC3, 0x28] as [UInt8],            // bad continuation byte
        [0xE2, 0x82] as [UInt8],            // truncated sequence
        [0xC0, 0xAF] as [UInt8],            // overlong '/'
        [0xED, 0xA0, 0x80] as [UInt8],      // UTF-16 surrogate
        [0xF5, 0x80, 0x80, 0x80] as [UInt8], // beyond U+10FFFF
        [0xFF] as [UInt8],
        [0x01] as [UInt8],                  // a control character XML forbids
    ])
    func invalidUTF8IsRefused(sequence: [UInt8]) {
        let bytes = "<a>".bytes + sequence + "</a>".bytes
        #expect(error(bytes)?.code == .invalidUTF8)
        #expect(error(bytes)?.offset == 3)
    }

    @Test func truncatedXMLIsRefused() throws {
        let full = envelope("<cwmp:Reboot><CommandKey>k</CommandKey></cwmp:Reboot>")
        for cut in [1, 10, full.count / 2, full.count - 20, full.count - 1] {
            let refused = error(Array(full.prefix(cut)))
            #expect(refused?.code == .malformedXML, "cut at \(cut)")
        }
    }

    @Test(arguments: [
        "<a><b></a></b>", "<a></b>", "<a b=c/>", "<a b='1'c='2'/>", "<a>&amp</a>", "<a>&#0;</a>", "<a>&#xD800;</a>",
        "<a/><b/>", "text<a/>", "<a></a>junk", "<1a/>", "<a b='<'/>", "</a>", "<a><![CDATA[x</a>", "<a><!-- x </a>",
    ])
    func malformedXMLIsRefused(xml: String) {
        #expect(error(xml.bytes)?.code == .malformedXML)
    }

    @Test func unknownRPCAnswersMethodNotSupported() {
        let refused = error(envelope("<cwmp:GetQueuedTransfers/>"))
        #expect(refused?.code == .unknownMethod)
        #expect(refused?.faultCode == .methodNotSupported)
        #expect(refused?.faultCode.rawValue == 8000)
        #expect(refused?.message.contains("GetQueuedTransfers") == true)
        #expect(refused?.fault.code.rawValue == 8000)
    }

    @Test func invalidArgumentsAnswer8003() {
        let refused = error(envelope("<cwmp:ScheduleInform><DelaySeconds>soon</DelaySeconds><CommandKey/></cwmp:ScheduleInform>"))
        #expect(refused?.code == .invalidArguments)
        #expect(refused?.faultCode.rawValue == 8003)
        #expect(refused?.message.contains("DelaySeconds") == true)
        #expect(error(envelope("<cwmp:SetParameterValuesResponse><Status>7</Status></cwmp:SetParameterValuesResponse>"))?.code == .invalidArguments)
        #expect(error(envelope("<cwmp:Inform><Event/></cwmp:Inform>"))?.message.contains("DeviceId") == true)
    }

    @Test func nonEnvelopesAreRefused() {
        #expect(error("<html><body>hi</body></html>".bytes)?.code == .notAnEnvelope)
        #expect(error("<s:Envelope xmlns:s='http://schemas.xmlsoap.org/soap/envelope/'><s:Header/></s:Envelope>".bytes)?.code == .notAnEnvelope)
        #expect(error("<s:Envelope xmlns:s='http://schemas.xmlsoap.org/soap/envelope/'><s:Body/></s:Envelope>".bytes)?.code == .notAnEnvelope)
        #expect(error("   ".bytes)?.code == .notAnEnvelope)
    }
}
