import Foundation

extension FleetFilter {
    /// Whether the device matches, with exactly the meaning of the compiled SQL: text compared
    /// byte by byte, NULL fields failing every comparison, parameters tested row by row.
    /// Meant as the brute-force oracle for tests and for dry runs over a handful of twins.
    public func matches(_ device: DeviceSnapshot, now: Date) -> Bool {
        guard let root else { return true }
        return FleetEvaluator(device: device, now: now).holds(root)
    }
}

/// Evaluates expressions against one snapshot.
struct FleetEvaluator {
    let device: DeviceSnapshot
    let now: Date

    func holds(_ expression: FleetExpression) -> Bool {
        switch expression {
        case .and(let operands): operands.allSatisfy(holds)
        case .or(let operands): operands.contains(where: holds)
        case .not(let operand): !holds(operand)
        case .predicate(let predicate): holds(predicate)
        }
    }

    func holds(_ predicate: FleetPredicate) -> Bool {
        switch predicate {
        case .field(let field, let test): fieldHolds(field, test)
        case .tag(let test): tagHolds(test)
        case .parameter(let pattern, let test): rows(matching: pattern).contains { valueHolds(test, $0) }
        case .parameterExists(let pattern): !rows(matching: pattern).isEmpty
        }
    }

    // MARK: Fields

    private func fieldHolds(_ field: DeviceField, _ test: FieldTest) -> Bool {
        let stored = device.value(of: field)
        switch test {
        case .isNull: return stored == nil
        case .isNotNull: return stored != nil
        case .glob(let glob):
            guard field.kind == .text || field.kind == .version, case .text(let text)? = stored else { return false }
            return glob.matches(text)
        case .compare(let op, let value):
            guard let stored else { return false }
            return Self.compare(field.kind, stored, op, value, now: now)
        case .oneOf(let values):
            guard let stored, field.kind == .text || field.kind == .version || field.kind == .integer else { return false }
            return values.contains { Self.compare(field.kind, stored, .equal, $0, now: now) }
        }
    }

    /// `stored op value` for a field of `kind`; false when the value has another type.
    static func compare(_ kind: DeviceField.Kind, _ stored: FieldValue, _ op: FleetComparison, _ value: FieldValue, now: Date) -> Bool {
        switch (kind, stored, value) {
        case (.text, .text(let lhs), .text(let rhs)):
            return op.holds(op.isOrdering ? compareBytes(lhs, rhs) : (sameBytes(lhs, rhs) ? 0 : 1))
        case (.version, .text(let lhs), .text(let rhs)):
            return op.holds(op.isOrdering ? VersionKey(lhs).compare(to: VersionKey(rhs)) : (sameBytes(lhs, rhs) ? 0 : 1))
        case (.boolean, .boolean(let lhs), .boolean(let rhs)):
            return op.holds(lhs == rhs ? 0 : (lhs ? 1 : -1))
        case (.integer, .integer(let lhs), .integer(let rhs)):
            return op.holds(lhs == rhs ? 0 : (lhs < rhs ? -1 : 1))
        case (.timestamp, .time(let lhs), .time(let rhs)):
            let left = lhs.resolved(now: now), right = rhs.resolved(now: now)
            return op.holds(left == right ? 0 : (left < right ? -1 : 1))
        default:
            return false
        }
    }

    // MARK: Tags

    private func tagHolds(_ test: TagTest) -> Bool {
        switch test {
        case .has(let tag): device.tags.contains { sameBytes($0, tag) }
        case .lacks(let tag): !device.tags.contains { sameBytes($0, tag) }
        case .hasAny(let tags): device.tags.contains { have in tags.contains { sameBytes(have, $0) } }
        case .hasMatching(let glob): device.tags.contains { glob.matches($0) }
        }
    }

    // MARK: Parameters

    private func rows(matching pattern: ParameterPattern) -> [ParameterSnapshot] {
        device.parameters.compactMap { pattern.matches($0.key) ? $0.value : nil }
    }

    private func valueHolds(_ test: ParameterTest, _ row: ParameterSnapshot) -> Bool {
        guard let value = row.value else { return false }
        switch test {
        case .text(let op, let text):
            return op.holds(op.isOrdering ? compareBytes(value, text) : (sameBytes(value, text) ? 0 : 1))
        case .number(let op, let number):
            guard SQLWriter.numericValueTypes.contains(where: { sameBytes($0, row.type) }),
                  let stored = FleetDecimal.stored(value) else { return false }
            return op.holds(stored.compare(to: number))
        case .oneOf(let texts):
            return texts.contains { sameBytes(value, $0) }
        case .glob(let glob):
            return glob.matches(value)
        }
    }
}

/// Byte equality of the UTF-8 encodings, as PostgreSQL's deterministic collations compare (Swift's
/// `==` would also equate canonically equivalent strings such as precomposed and decomposed `é`).
func sameBytes(_ a: String, _ b: String) -> Bool { a.utf8.elementsEqual(b.utf8) }

/// Three-way comparison of the UTF-8 bytes, as `COLLATE "C"` orders text.
func compareBytes(_ a: String, _ b: String) -> Int {
    if a.utf8.lexicographicallyPrecedes(b.utf8) { return -1 }
    return sameBytes(a, b) ? 0 : 1
}
