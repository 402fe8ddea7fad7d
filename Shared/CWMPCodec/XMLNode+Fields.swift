#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import TwinfleetModel

/// Typed reads of the child elements of an RPC or struct, with TR-069's tolerance rules in one
/// place: element order is ignored, unknown children are ignored (vendors add their own), a
/// missing string reads as empty, and a missing or unreadable number, flag or time is an
/// ``CWMPCodecError/Code/invalidArguments`` error that names the element.
extension XMLNode {
    /// The child `field` as text; empty when the element is absent. `trimmed` drops surrounding
    /// whitespace (right for names and keys, wrong for values and passwords, kept verbatim).
    func string(_ field: String, trimmed: Bool = true) -> String {
        guard let node = child(field) else { return "" }
        return trimmed ? node.trimmedText : node.text
    }

    /// The child `field` as text, or nil when the element is absent.
    func optionalString(_ field: String, trimmed: Bool = true) -> String? {
        guard let node = child(field) else { return nil }
        return trimmed ? node.trimmedText : node.text
    }

    /// The child `field`, which must be present.
    func required(_ field: String) throws(CWMPCodecError) -> XMLNode {
        guard let node = child(field) else {
            throw CWMPCodecError(.invalidArguments, "\(name): missing \(field)", offset: offset)
        }
        return node
    }

    /// The child `field` as an `xsd:unsignedInt`.
    func unsignedInt(_ field: String) throws(CWMPCodecError) -> UInt32 {
        guard case .unsignedInt(let number) = try typed(field, as: .unsignedInt) else { return 0 }
        return number
    }

    /// The child `field` as an `xsd:unsignedInt`, or `fallback` when absent or empty.
    func unsignedInt(_ field: String, default fallback: UInt32) throws(CWMPCodecError) -> UInt32 {
        guard let node = child(field), !node.trimmedText.isEmpty else { return fallback }
        return try unsignedInt(field)
    }

    /// The child `field` as an `xsd:int`.
    func int(_ field: String) throws(CWMPCodecError) -> Int32 {
        guard case .int(let number) = try typed(field, as: .int) else { return 0 }
        return number
    }

    /// The child `field` as an `xsd:boolean` (`true`, `false`, `1`, `0`, any case).
    func boolean(_ field: String) throws(CWMPCodecError) -> Bool {
        guard case .boolean(let flag) = try typed(field, as: .boolean) else { return false }
        return flag
    }

    /// The child `field` as an `xsd:dateTime`; an empty element is TR-106's unknown time.
    func dateTime(_ field: String) throws(CWMPCodecError) -> Date {
        let node = try required(field)
        if node.trimmedText.isEmpty { return ParameterValue.unknownTime }
        guard case .dateTime(let date) = try typed(field, as: .dateTime) else { return ParameterValue.unknownTime }
        return date
    }

    /// The texts of the child array `field`'s elements. The array's `soap-enc:arrayType` count is
    /// ignored: CPEs get it wrong, the elements are what counts.
    func stringArray(_ field: String) -> [String] {
        guard let array = child(field) else { return [] }
        return array.children.map(\.trimmedText)
    }

    /// The elements of the child array `field` (any element name, any count).
    func array(_ field: String) -> [XMLNode] {
        guard let array = child(field) else { return [] }
        return Array(array.children)
    }

    private func typed(_ field: String, as type: ParameterType) throws(CWMPCodecError) -> ParameterValue {
        let node = try required(field)
        do {
            return try ParameterValue(parsing: node.trimmedText, as: type)
        } catch {
            throw CWMPCodecError(.invalidArguments, "\(name): \(field) \(CWMPCodecError.quote(node.trimmedText)) is not a valid \(type.xsdName)", offset: node.offset)
        }
    }
}
