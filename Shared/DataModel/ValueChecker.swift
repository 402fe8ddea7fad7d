import TwinfleetModel

/// Checks a value's text against a parameter's syntax: type, ranges, lengths, enumeration,
/// patterns and, for lists, the list facets and every item.
struct ValueChecker {
    /// The concrete path, for messages.
    let path: String
    let syntax: ParameterSyntax
    /// True when messages must not show the value.
    let redacts: Bool

    init(path: String, syntax: ParameterSyntax) {
        self.path = path
        self.syntax = syntax
        redacts = syntax.isSecured || Self.namesCredential(path)
    }

    /// The typed value of `text`, or the first constraint it breaks.
    func check(_ text: String) throws(ValidationError) -> ParameterValue {
        guard let list = syntax.list else {
            return try check(item: text, subject: "")
        }
        let length = text.unicodeScalars.count
        if !list.lengths.isEmpty, !list.lengths.contains(where: { $0.contains(length) }) {
            throw lengthError(length, allowed: list.lengths, unit: "characters", subject: "the list ")
        }
        let items = Self.items(of: text, nestedBrackets: list.nestedBrackets)
        if items.count < list.minItems {
            throw ValidationError(.tooFewItems, path: path, "the list has \(items.count) items, fewer than the minimum \(list.minItems)")
        }
        if let maxItems = list.maxItems, items.count > maxItems {
            throw ValidationError(.tooManyItems, path: path, "the list has \(items.count) items, more than the maximum \(maxItems)")
        }
        for (position, item) in items.enumerated() {
            _ = try check(item: item, subject: "item \(position + 1) ")
        }
        return .string(text)
    }

    /// Splits a TR-106 list: comma-separated, white space around items ignored, commas inside
    /// square brackets kept when the list nests brackets.
    static func items(of text: String, nestedBrackets: Bool) -> [String] {
        if text.allSatisfy({ $0 == " " || $0 == "\t" }) { return [] }
        var items: [String] = []
        var current = ""
        var depth = 0
        for character in text {
            if nestedBrackets, character == "[" { depth += 1 }
            if nestedBrackets, character == "]", depth > 0 { depth -= 1 }
            if character == ",", depth == 0 {
                items.append(item(current, nestedBrackets: nestedBrackets))
                current = ""
            } else {
                current.append(character)
            }
        }
        items.append(item(current, nestedBrackets: nestedBrackets))
        return items
    }

    /// An item without surrounding white space and, in a nested list, without the brackets
    /// that group it (`[0,1]` → `0,1`).
    private static func item(_ text: String, nestedBrackets: Bool) -> String {
        let item = trimmed(text)
        guard nestedBrackets, item.hasPrefix("["), item.hasSuffix("]"), item.count >= 2 else { return item }
        return String(item.dropFirst().dropLast())
    }

    private static func trimmed(_ text: String) -> String {
        String(text.drop { $0 == " " || $0 == "\t" }.reversed().drop { $0 == " " || $0 == "\t" }.reversed())
    }

    private func check(item text: String, subject: String) throws(ValidationError) -> ParameterValue {
        let facets = syntax.value
        let value: ParameterValue
        do {
            value = try ParameterValue(parsing: text, as: facets.type)
        } catch {
            let detail = redacts ? "the value (redacted) is not a valid \(facets.type.xsdName)" : error.message
            throw ValidationError(.typeMismatch, path: path, subject + detail)
        }
        try checkRanges(value, text: text, subject: subject)
        switch value {
        case .string(let string):
            try checkLength(string.unicodeScalars.count, unit: "characters", text: text, subject: subject)
            if !facets.enumeration.isEmpty, !facets.enumeration.contains(string) {
                let allowed = facets.enumeration.prefix(12).map { $0.isEmpty ? "\"\"" : $0 }.joined(separator: ", ") + (facets.enumeration.count > 12 ? ", …" : "")
                throw ValidationError(.notInEnumeration, path: path, "\(subject)\(shown(text)) is not one of \(allowed)")
            }
            if !PatternMatcher.matches(string, anyOf: facets.patterns) {
                let patterns = facets.patterns.map { $0.isEmpty ? "\"\" (empty)" : $0 }.joined(separator: " or ")
                throw ValidationError(.patternMismatch, path: path, "\(subject)\(shown(text)) does not match \(patterns)")
            }
        case .hexBinary(let bytes), .base64(let bytes):
            try checkLength(bytes.count, unit: "bytes", text: text, subject: subject)
        default:
            break
        }
        return value
    }

    private func checkRanges(_ value: ParameterValue, text: String, subject: String) throws(ValidationError) {
        let ranges = syntax.value.ranges
        guard !ranges.isEmpty else { return }
        let number: Int128
        switch value {
        case .int(let n): number = Int128(n)
        case .unsignedInt(let n): number = Int128(n)
        case .long(let n): number = Int128(n)
        case .unsignedLong(let n): number = Int128(n)
        default: return  // The standard puts ranges on integers only.
        }
        if ranges.contains(where: { $0.contains(number) }) { return }
        let shownNumber = redacts ? "the value (redacted)" : String(number)
        if ranges.count == 1, let only = ranges.first, only.step == nil {
            if only.maximum == nil, let minimum = only.minimum {
                throw ValidationError(.outOfRange, path: path, "\(subject)\(shownNumber) is less than the minimum \(minimum)")
            }
            if only.minimum == nil, let maximum = only.maximum {
                throw ValidationError(.outOfRange, path: path, "\(subject)\(shownNumber) is more than the maximum \(maximum)")
            }
        }
        throw ValidationError(.outOfRange, path: path, "\(subject)\(shownNumber) is outside \(ranges.map(\.description).joined(separator: ", "))")
    }

    private func checkLength(_ length: Int, unit: String, text: String, subject: String) throws(ValidationError) {
        let lengths = syntax.value.lengths
        guard !lengths.isEmpty, !lengths.contains(where: { $0.contains(length) }) else { return }
        throw lengthError(length, allowed: lengths, unit: unit, subject: subject + shown(text) + " ")
    }

    private func lengthError(_ length: Int, allowed: [LengthRange], unit: String, subject: String) -> ValidationError {
        if allowed.count == 1, let only = allowed.first {
            if let maximum = only.maximum, length > maximum {
                return ValidationError(.tooLong, path: path, "\(subject)is \(length) \(unit) long, more than the maximum \(maximum)")
            }
            return ValidationError(.tooShort, path: path, "\(subject)is \(length) \(unit) long, fewer than the minimum \(only.minimum)")
        }
        // Between or outside several allowed lengths: too short if a longer one would do.
        let code: ValidationError.Code = allowed.contains { $0.minimum > length } ? .tooShort : .tooLong
        return ValidationError(code, path: path, "\(subject)is \(length) \(unit) long; allowed lengths are \(allowed.map(\.description).joined(separator: ", "))")
    }

    private func shown(_ text: String) -> String {
        redacts ? "the value (redacted)" : ValidationError.quote(text)
    }

    /// Same rule as `Parameter.description` in TwinfleetModel, for parameters the standard does
    /// not mark secured (TR-098's `KeyPassphrase` is plain `string(63)`).
    private static func namesCredential(_ path: String) -> Bool {
        let name = path.split(separator: ".").last.map { $0.lowercased() } ?? ""
        return name.contains("password") || name.contains("passphrase") || name.contains("secret") || name.hasSuffix("key")
    }
}
