#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import BusContracts
import CWMPCodec
import TwinfleetModel

/// Turns what a CPE said into bus values. Every parameter that reaches the bus has a valid path
/// and a typed value, because twin-store refuses a whole event for one bad parameter.
enum BusConversion {
    /// The bus parameter of a `ParameterValueStruct`, or nil (with a note) when its name is not
    /// a parameter path. A value the codec kept raw (no `xsi:type`, a vendor type, text that does
    /// not read as its type) travels as a string with the device's text, so nothing is lost and
    /// the twin decides.
    static func parameter(_ value: ParameterValueStruct, writable: Bool? = nil, notes: inout [String]) -> Twinfleet_Bus_V1_Parameter? {
        guard let path = value.path, !path.isObject else {
            notes.append("dropped parameter with invalid name \(quote(value.name))")
            return nil
        }
        let typed: ParameterValue
        switch value.value {
        case .typed(let parameterValue): typed = parameterValue
        case .raw(let text, _): typed = .string(text)
        }
        return Twinfleet_Bus_V1_Parameter(Parameter(path: path, value: typed, writable: writable))
    }

    /// The bus parameters of a list, in order, dropping (with notes) the invalid ones.
    /// `writable` supplies writability learnt from GetParameterNames, by name.
    static func parameters(_ list: [ParameterValueStruct], writable: [String: Bool] = [:], notes: inout [String]) -> [Twinfleet_Bus_V1_Parameter] {
        list.compactMap { parameter($0, writable: writable[$0.name], notes: &notes) }
    }

    /// A `CommandError` for a CPE fault: its code and string, per-parameter faults, and
    /// `retriable` for the transient 9002 (internal error) and 9004 (resources exceeded).
    static func commandError(_ fault: CWMPFault, context: String? = nil) -> Twinfleet_Bus_V1_CommandError {
        var error = Twinfleet_Bus_V1_CommandError()
        error.code = Int32(clamping: fault.code.rawValue)
        error.message = [context, fault.string.isEmpty ? fault.code.meaning : fault.string].compactMap { $0 }.joined(separator: ": ")
        error.retriable = isTransient(fault.code)
        error.parameterFaults = fault.setParameterValuesFaults.map { parameterFault in
            var proto = Twinfleet_Bus_V1_ParameterFault()
            proto.path = parameterFault.parameterName
            proto.code = Int32(clamping: parameterFault.code.rawValue)
            proto.message = parameterFault.string
            return proto
        }
        return error
    }

    /// A `CommandError` with a Twinfleet code.
    static func commandError(_ code: TwinfleetErrorCode, _ detail: String, retriable: Bool = false) -> Twinfleet_Bus_V1_CommandError {
        var error = Twinfleet_Bus_V1_CommandError()
        error.code = code.rawValue
        error.message = "\(code.meaning): \(detail)"
        error.retriable = retriable
        return error
    }

    /// Faults worth retrying later: the CPE was busy or short of resources.
    static func isTransient(_ code: CWMPFaultCode) -> Bool {
        code == .cpeInternalError || code == .cpeResourcesExceeded
    }

    /// The first value reported for a parameter whose path ends in `suffix`
    /// (`DeviceInfo.SoftwareVersion` matches under `Device.` and `InternetGatewayDevice.`).
    static func value(endingWith suffix: String, in list: [ParameterValueStruct]) -> String? {
        list.first { $0.name.hasSuffix("." + suffix) }?.value.text
    }

    /// Microseconds since the epoch of a CWMP date-time.
    static func microseconds(_ date: Date) -> Int64 { date.unixMicroseconds }

    /// A short quoted copy of device text for notes.
    static func quote(_ text: String) -> String {
        text.count > 64 ? "\"\(text.prefix(64))…\"" : "\"\(text)\""
    }
}
