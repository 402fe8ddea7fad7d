#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import SwiftProtobuf
import TwinfleetModel

extension Twinfleet_Bus_V1_ParameterValue {
    /// The bus form of a model value (date-times as microseconds since the epoch).
    public init(_ value: ParameterValue) {
        self.init()
        switch value {
        case .string(let text): self.value = .stringValue(text)
        case .int(let number): self.value = .intValue(number)
        case .unsignedInt(let number): self.value = .unsignedIntValue(number)
        case .long(let number): self.value = .longValue(number)
        case .unsignedLong(let number): self.value = .unsignedLongValue(number)
        case .boolean(let flag): self.value = .booleanValue(flag)
        case .dateTime(let date): self.value = .dateTimeUs(date.unixMicroseconds)
        case .base64(let bytes): self.value = .base64Value(bytes)
        case .hexBinary(let bytes): self.value = .hexBinaryValue(bytes)
        case .decimal(let text): self.value = .decimalValue(text)
        }
    }
}

extension ParameterValue {
    /// The model value of a bus value. Throws ``ContractError/Code/missingValue`` when no choice
    /// of the oneof is set (or only one this version does not know), and
    /// ``ContractError/Code/invalidField`` for a decimal that is not a decimal number.
    public init(_ proto: Twinfleet_Bus_V1_ParameterValue) throws(ContractError) {
        switch proto.value {
        case nil:
            throw ContractError(.missingValue, "ParameterValue has no value set" + unknownFieldsNote(proto))
        case .stringValue(let text)?: self = .string(text)
        case .intValue(let number)?: self = .int(number)
        case .unsignedIntValue(let number)?: self = .unsignedInt(number)
        case .longValue(let number)?: self = .long(number)
        case .unsignedLongValue(let number)?: self = .unsignedLong(number)
        case .booleanValue(let flag)?: self = .boolean(flag)
        case .dateTimeUs(let microseconds)?: self = .dateTime(Date(unixMicroseconds: microseconds))
        case .base64Value(let bytes)?: self = .base64(bytes)
        case .hexBinaryValue(let bytes)?: self = .hexBinary(bytes)
        case .decimalValue(let text)?:
            do {
                self = try ParameterValue(parsing: text, as: .decimal)
            } catch {
                throw ContractError(.invalidField, "ParameterValue.decimal_value: \(error.message)", underlying: error)
            }
        }
    }
}

extension Twinfleet_Bus_V1_Parameter {
    /// The bus form of a model parameter.
    public init(_ parameter: Parameter) {
        self.init()
        path = parameter.path.rawValue
        value = Twinfleet_Bus_V1_ParameterValue(parameter.value)
        if let writable = parameter.writable { self.writable = writable }
    }
}

extension Parameter {
    /// The model parameter of a bus parameter. Throws ``ContractError/Code/invalidField`` for a
    /// malformed path and ``ContractError/Code/missingValue`` when the value is absent or empty;
    /// the message names the path.
    public init(_ proto: Twinfleet_Bus_V1_Parameter) throws(ContractError) {
        let path: ParameterPath
        do {
            path = try ParameterPath(validating: proto.path)
        } catch {
            throw ContractError(.invalidField, "Parameter.path: \(error.message)", underlying: error)
        }
        guard proto.hasValue else {
            throw ContractError(.missingValue, "parameter \(path): Parameter.value is not set")
        }
        let value: ParameterValue
        do {
            value = try ParameterValue(proto.value)
        } catch {
            throw error.within("parameter \(path)")
        }
        self.init(path: path, value: value, writable: proto.hasWritable ? proto.writable : nil)
    }
}

extension Twinfleet_Bus_V1_DeviceProtocol {
    /// The bus form of a model protocol.
    public init(_ deviceProtocol: DeviceProtocol) {
        switch deviceProtocol {
        case .cwmp: self = .cwmp
        case .usp: self = .usp
        }
    }
}

extension DeviceProtocol {
    /// The model protocol of a bus protocol. Throws ``ContractError/Code/missingValue`` for
    /// `DEVICE_PROTOCOL_UNSPECIFIED` and ``ContractError/Code/unknownEnumValue`` for a number this
    /// version does not know.
    public init(_ proto: Twinfleet_Bus_V1_DeviceProtocol) throws(ContractError) {
        switch proto {
        case .cwmp: self = .cwmp
        case .usp: self = .usp
        case .unspecified: throw ContractError(.missingValue, "DeviceProtocol is DEVICE_PROTOCOL_UNSPECIFIED")
        case .UNRECOGNIZED(let number): throw ContractError(.unknownEnumValue, "DeviceProtocol \(number) is not known to this version")
        }
    }
}

/// Explains an empty oneof that may really be a newer producer's choice.
private func unknownFieldsNote(_ message: some SwiftProtobuf.Message) -> String {
    let count = message.unknownFields.data.count
    return count == 0 ? " (empty oneof)" : " this version understands (\(count) bytes of unknown fields: a newer producer?)"
}
