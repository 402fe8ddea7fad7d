import Testing
@testable import FleetQuery

private func failure(_ text: String, limits: FleetFilter.Limits = .standard) -> FleetQueryError? {
    do {
        _ = try FleetFilter(parsing: text, limits: limits)
        return nil
    } catch {
        return error
    }
}

@Suite struct ParserErrorTests {
    @Test(arguments: [
        // (query, code, offset, words the message must contain)
        ("softwareVersion <", FleetQueryError.Code.syntax, 17, "expected a value after '<' at offset 17"),
        ("modelName = \"abc", .syntax, 12, "unterminated string starting at offset 12"),
        ("(tag = a OR tag = b", .syntax, 19, "expected ')' to close the '(' at offset 0"),
        ("tag = a)", .syntax, 7, "unbalanced ')' at offset 7"),
        ("tag = a tag = b", .syntax, 8, "expected AND, OR or the end of the query at offset 8"),
        ("modelNam = x", .unknownField, 0, "unknown field 'modelNam' at offset 0"),
        ("device.WiFi.SSID.1.SSID = x", .unknownField, 0, "parameter paths are case-sensitive"),
        ("online < true", .typeMismatch, 9, "only = and != apply"),
        ("tag > beta", .typeMismatch, 6, "tags cannot be ordered"),
        ("lastContact < yesterday", .invalidValue, 14, "ISO 8601"),
        ("lastContact < 5", .typeMismatch, 14, "is a timestamp"),
        ("partition = 1.5", .typeMismatch, 12, "whole number"),
        ("partition = 99999999999999999999", .invalidValue, 12, "too large"),
        ("tenant IS NULL", .typeMismatch, 7, "never null"),
        ("Device.WiFi.SSID.*.SSID IS NULL", .typeMismatch, 24, "NOT EXISTS Device.WiFi.SSID.*.SSID"),
        ("Device.WiFi..SSID = 1", .invalidValue, 12, "empty segment"),
        ("Device.WiFi.SSID.* = 1", .invalidValue, 17, "cannot end with '*'"),
        ("Device.WiFi.SSID.1* = 1", .invalidValue, 18, "'*' must be a whole segment"),
        ("Device.WiFi.SSID.1. = x", .typeMismatch, 22, "object path"),
        ("modelName = \"a\\qb\"", .syntax, 14, "unknown escape '\\q' at offset 14"),
        ("modelName = \"\\u12\"", .syntax, 13, "malformed escape at offset 13"),
        ("modelName = \"\\u0000\"", .invalidValue, 13, "NUL"),
        ("modelName ! x", .syntax, 10, "'!' must be followed by '='"),
        ("modelName x", .syntax, 10, "expected an operator (=, !=, <, <=, >, >=, ~, IN, IS) after 'modelName' at offset 10"),
        ("modelName NOT IN (a)", .syntax, 10, "NOT (modelName IN (…))"),
        ("modelName IN a", .syntax, 13, "expected '(' after IN at offset 13"),
        ("modelName IN (a b)", .syntax, 16, "expected ',' or ')' in the IN list"),
        ("modelName IN ()", .syntax, 14, "expected a value after '('"),
        ("modelName = AND", .syntax, 12, "quote it to use it as a value"),
        ("modelName = null", .syntax, 12, "IS NULL"),
        ("modelName IS x", .syntax, 13, "expected NULL after IS"),
        ("tag = a AND", .syntax, 11, "expected a condition at offset 11, found the end of the query"),
        ("NOT", .syntax, 3, "expected a condition after NOT"),
        ("()", .syntax, 1, "empty parentheses"),
        ("EXISTS modelName", .syntax, 7, "expected a parameter path after EXISTS"),
        ("\"x\" = 1", .syntax, 0, "expected a field, tag or parameter path"),
        ("protocol = http", .invalidValue, 11, "protocol is cwmp or usp"),
        ("Device.A.B = Device.C.D", .typeMismatch, 13, "comparing two parameters is not supported"),
        ("Device.A.B < true", .typeMismatch, 13, "booleans cannot be ordered"),
        ("Device.A.B = -7d", .typeMismatch, 13, "relative times"),
        ("lastContact > -1234567890d", .invalidValue, 14, "nine digits"),
        ("online IN (true)", .typeMismatch, 7, "IN applies to text"),
        ("lastBoot ~ 2026*", .typeMismatch, 11, "'~' applies to text fields"),
        ("modelName = a\u{7}", .syntax, 13, "control character"),
    ])
    func malformedQuery(_ text: String, _ code: FleetQueryError.Code, _ offset: Int, _ words: String) throws {
        let error = try #require(failure(text), "\(text) should be refused")
        #expect(error.code == code, "\(text): \(error.message)")
        #expect(error.offset == offset, "\(text): \(error.message)")
        #expect(error.message.contains(words), "\(text): \(error.message) should contain \(words)")
        #expect(error.message.contains("offset") || error.offset == 0, "the message locates the problem: \(error.message)")
    }

    @Test func lengthLimit() throws {
        let long = "modelName = \"" + String(repeating: "x", count: 5000) + "\""
        let error = try #require(failure(long))
        #expect(error.code == .tooComplex)
        #expect(error.message.contains("4096"))
        // Multi-byte characters count in bytes: 1,400 three-byte characters exceed 4 KiB.
        #expect(failure("modelName = \"" + String(repeating: "€", count: 1400) + "\"")?.code == .tooComplex)
        #expect(failure("modelName = \"" + String(repeating: "x", count: 4000) + "\"") == nil)
    }

    @Test func depthLimit() throws {
        let limits = FleetFilter.Limits.standard
        let ok = String(repeating: "(", count: limits.maxDepth) + "tag = a" + String(repeating: ")", count: limits.maxDepth)
        #expect(failure(ok) == nil)
        let deep = String(repeating: "(", count: limits.maxDepth + 1) + "tag = a" + String(repeating: ")", count: limits.maxDepth + 1)
        let error = try #require(failure(deep))
        #expect(error.code == .tooComplex)
        #expect(error.offset == limits.maxDepth)
        let nots = String(repeating: "NOT ", count: limits.maxDepth + 1) + "tag = a"
        #expect(failure(nots)?.code == .tooComplex)
        // Deep nesting far beyond the limit fails fast instead of exhausting the stack.
        #expect(failure(String(repeating: "(", count: 2000))?.code == .tooComplex)
    }

    @Test func predicateLimit() throws {
        let limits = FleetFilter.Limits(maxLength: 100_000, maxDepth: 32, maxPredicates: 100, maxListItems: 256)
        let ok = (0..<100).map { "tag = t\($0)" }.joined(separator: " OR ")
        #expect(failure(ok, limits: limits) == nil)
        let tooMany = (0..<101).map { "tag = t\($0)" }.joined(separator: " OR ")
        let error = try #require(failure(tooMany, limits: limits))
        #expect(error.code == .tooComplex)
        #expect(error.message.contains("more than 100 conditions"))
    }

    @Test func listLimit() throws {
        let limits = FleetFilter.Limits(maxLength: 100_000, maxDepth: 32, maxPredicates: 100, maxListItems: 256)
        let ok = "tag IN (" + (0..<256).map { "t\($0)" }.joined(separator: ", ") + ")"
        #expect(failure(ok, limits: limits) == nil)
        let tooMany = "tag IN (" + (0..<257).map { "t\($0)" }.joined(separator: ", ") + ")"
        let error = try #require(failure(tooMany, limits: limits))
        #expect(error.code == .tooComplex)
        #expect(error.message.contains("more than 256 values"))
    }

    @Test func messagesQuoteSafely() throws {
        let junk = String(repeating: "ü", count: 500)
        let error = try #require(failure(junk + " = 1"))
        #expect(error.code == .unknownField)
        #expect(error.message.count < 600, "the offending text is cut in the message")
        #expect(error.message.contains("…"))
    }
}
