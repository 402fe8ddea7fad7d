import BusContracts
import TwinfleetModel

/// The data-model type of a parameter, when the caller knows it (e.g.
/// `{ schema.type(of: $0, protocol: .usp) }` with the DataModel module, or the types a
/// GetSupportedDMResp reported); nil means "unknown", and the value is kept as a string.
public typealias USPTypeLookup = (ParameterPath) -> ParameterType?

/// Turns the untyped text USP carries into Twinfleet's typed parameters.
public enum USPParameterTyping {
    /// A lookup that knows no types: every value becomes a string.
    public static func untyped(_ path: ParameterPath) -> ParameterType? { nil }

    /// The typed bus parameter of a reported value: parsed as the looked-up type, kept as a
    /// string when the type is unknown or the text does not parse as it (devices do send `""` for
    /// numbers; a report is never lost for that). Nil when the path is not a valid parameter path
    /// (e.g. it ends with a dot or uses USP alias addressing), since consumers would refuse it.
    public static func parameter(_ reported: USPReportedParameter, typeLookup: USPTypeLookup) -> Twinfleet_Bus_V1_Parameter? {
        guard let path = try? ParameterPath(validating: reported.path), !path.isObject else { return nil }
        var value = ParameterValue.string(reported.text)
        if let type = typeLookup(path), type != .string, let typed = try? ParameterValue(parsing: reported.text, as: type) {
            value = typed
        }
        return Twinfleet_Bus_V1_Parameter(Parameter(path: path, value: value))
    }

    /// The typed bus parameters of `reported`, in order, and the values whose paths cannot be
    /// represented (see ``parameter(_:typeLookup:)``), for the caller to count and log.
    public static func parameters(_ reported: [USPReportedParameter], typeLookup: USPTypeLookup) -> (parameters: [Twinfleet_Bus_V1_Parameter], unrepresentable: [USPReportedParameter]) {
        var parameters: [Twinfleet_Bus_V1_Parameter] = []
        var unrepresentable: [USPReportedParameter] = []
        parameters.reserveCapacity(reported.count)
        for item in reported {
            if let parameter = parameter(item, typeLookup: typeLookup) {
                parameters.append(parameter)
            } else {
                unrepresentable.append(item)
            }
        }
        return (parameters, unrepresentable)
    }
}
