/// A CWMP fault: the SOAP `Fault` element with a `cwmp:Fault` detail (TR-069 A.5), sent by either
/// side in place of a response.
public struct CWMPFault: Hashable, Sendable, Error, CustomStringConvertible {
    /// The CWMP fault code.
    public var code: CWMPFaultCode
    /// The CWMP fault string (free text from the sender).
    public var string: String
    /// SOAP's `faultcode`: `Client` or `Server`.
    public var soapFaultCode: SOAPFaultCode
    /// SOAP's `faultstring`; TR-069 fixes it to `CWMP fault`.
    public var soapFaultString: String
    /// Per-parameter faults of a failed SetParameterValues, in the CPE's order.
    public var setParameterValuesFaults: [SetParameterValuesFault]

    /// Creates a fault; the SOAP fields follow from the code unless given.
    public init(code: CWMPFaultCode, string: String? = nil, soapFaultCode: SOAPFaultCode? = nil,
                soapFaultString: String = "CWMP fault", setParameterValuesFaults: [SetParameterValuesFault] = []) {
        self.code = code
        self.string = string ?? code.meaning
        self.soapFaultCode = soapFaultCode ?? code.soapFaultCode
        self.soapFaultString = soapFaultString
        self.setParameterValuesFaults = setParameterValuesFaults
    }

    /// `9003 Invalid arguments: <string>` plus the parameter faults.
    public var description: String {
        var text = "\(code.rawValue) \(string)"
        for fault in setParameterValuesFaults {
            text += "; \(fault.parameterName): \(fault.code.rawValue) \(fault.string)"
        }
        return text
    }
}

/// One parameter's fault inside a SetParameterValues fault.
public struct SetParameterValuesFault: Hashable, Sendable {
    /// The parameter that could not be set, as the CPE wrote it.
    public var parameterName: String
    /// Why (9005–9008 usually).
    public var code: CWMPFaultCode
    /// The CPE's explanation.
    public var string: String

    /// Creates a parameter fault; the string defaults to the code's meaning.
    public init(parameterName: String, code: CWMPFaultCode, string: String? = nil) {
        self.parameterName = parameterName
        self.code = code
        self.string = string ?? code.meaning
    }
}

extension CWMPFault {
    /// Reads a SOAP `Fault` element. `faultcode`/`faultstring` are optional (some CPEs omit
    /// them); the `detail/Fault/FaultCode` is required, since a fault without a CWMP code says
    /// nothing the session can act on.
    init(decoding node: XMLNode) throws(CWMPCodecError) {
        guard let detail = node.child("detail") ?? node.child("Detail"), let fault = detail.child("Fault") else {
            throw CWMPCodecError(.invalidArguments, "SOAP Fault without a cwmp:Fault detail (faultstring \(CWMPCodecError.quote(node.string("faultstring"))))", offset: node.offset)
        }
        let code = CWMPFaultCode(try fault.unsignedInt("FaultCode"))
        var parameterFaults: [SetParameterValuesFault] = []
        for child in fault.children where child.name == "SetParameterValuesFault" {
            parameterFaults.append(SetParameterValuesFault(
                parameterName: child.string("ParameterName"),
                code: CWMPFaultCode(try child.unsignedInt("FaultCode")),
                string: child.string("FaultString")))
        }
        self.init(code: code, string: fault.string("FaultString"),
                  soapFaultCode: node.optionalString("faultcode").map(SOAPFaultCode.init(tolerant:)) ?? code.soapFaultCode,
                  soapFaultString: node.optionalString("faultstring") ?? "CWMP fault",
                  setParameterValuesFaults: parameterFaults)
    }

    /// Writes the SOAP `Fault` element (the `soap-env:` and `cwmp:` prefixes are declared on the
    /// envelope).
    func encode(into writer: inout XMLWriter) {
        writer.open("soap-env:Fault")
        writer.element("faultcode", soapFaultCode.rawValue)
        writer.element("faultstring", soapFaultString)
        writer.open("detail")
        writer.open("cwmp:Fault")
        writer.element("FaultCode", code.rawValue)
        writer.element("FaultString", string)
        for fault in setParameterValuesFaults {
            writer.open("SetParameterValuesFault")
            writer.element("ParameterName", fault.parameterName)
            writer.element("FaultCode", fault.code.rawValue)
            writer.element("FaultString", fault.string)
            writer.close("SetParameterValuesFault")
        }
        writer.close("cwmp:Fault")
        writer.close("detail")
        writer.close("soap-env:Fault")
    }
}
