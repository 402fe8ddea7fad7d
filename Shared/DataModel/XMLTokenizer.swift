#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// One piece of markup the tokenizer reports. Character data is never reported: everything the
/// data-model loader needs is in attributes, and skipping the (huge) descriptions with `memchr`
/// is what makes loading fast even in debug builds.
enum XMLEvent {
    /// A start tag (a self-closing tag is reported as a start followed by an end).
    case start(name: String, attributes: XMLAttributes, offset: Int)
    /// An end tag.
    case end(name: String, offset: Int)
}

/// The attributes of one start tag, in document order, with entities already expanded.
struct XMLAttributes {
    /// Qualified name (`name`, `dmr:previousParameter`) and value pairs.
    var pairs: [(name: String, value: String)] = []

    /// The value of the attribute called `name`, if present.
    subscript(_ name: String) -> String? {
        pairs.first { $0.name == name }?.value
    }
}

/// A small, strict, streaming XML tokenizer for Broadband Forum data-model files.
///
/// It checks well-formedness of the markup it reports (tags nest and match, attributes are
/// quoted, entities are known) and expands the internal DTD entities that `tr-106-types.xml`
/// uses in its patterns (`&octet;`). It does not validate against a schema, read external
/// entities or report text, comments or processing instructions.
struct XMLTokenizer {
    /// The whole document.
    let bytes: [UInt8]
    /// The name of the document, for error messages.
    let documentName: String

    /// Creates a tokenizer over a document held in memory.
    init(bytes: [UInt8], documentName: String) {
        self.bytes = bytes
        self.documentName = documentName
    }

    /// Reports every start and end tag to `handle`, in document order. Stops at the first
    /// error, from the document or from `handle`.
    func tokenize(_ handle: (XMLEvent) throws(SchemaLoadError) -> Void) throws(SchemaLoadError) {
        try bytes.withUnsafeBufferPointer { (buffer) throws(SchemaLoadError) in
            var scanner = Scanner(bytes: buffer, tokenizer: self)
            try scanner.run(handle)
        }
    }

    /// The 1-based line number of the byte at `offset`, for error messages.
    func lineNumber(at offset: Int) -> Int {
        var line = 1
        for byte in bytes.prefix(offset) where byte == UInt8(ascii: "\n") { line += 1 }
        return line
    }

    /// A `malformedXML` error that names the document and the line of `offset`.
    func error(_ message: String, at offset: Int, file: String = #fileID, line: Int = #line) -> SchemaLoadError {
        SchemaLoadError(.malformedXML, "\(documentName):\(lineNumber(at: offset)): \(message)", file: file, line: line)
    }
}

/// The cursor over the document while tokenizing; lives only inside `withUnsafeBufferPointer`.
private struct Scanner {
    let bytes: UnsafeBufferPointer<UInt8>
    let tokenizer: XMLTokenizer
    var index = 0
    var openElements: [String] = []
    /// Internal DTD entities; the five predefined ones are handled without a lookup.
    var entities: [String: String] = [:]

    init(bytes: UnsafeBufferPointer<UInt8>, tokenizer: XMLTokenizer) {
        self.bytes = bytes
        self.tokenizer = tokenizer
    }

    mutating func run(_ handle: (XMLEvent) throws(SchemaLoadError) -> Void) throws(SchemaLoadError) {
        while let open = find(UInt8(ascii: "<"), from: index) {
            index = open + 1
            switch peek {
            case UInt8(ascii: "?"):
                index = try end(of: "?>", what: "processing instruction", start: open)
            case UInt8(ascii: "!"):
                if starts(with: "!--") {
                    index = try end(of: "-->", what: "comment", start: open)
                } else if starts(with: "![CDATA[") {
                    index = try end(of: "]]>", what: "CDATA section", start: open)
                } else if starts(with: "!DOCTYPE") {
                    index += 8
                    try readDoctype(start: open)
                } else {
                    throw tokenizer.error("unknown markup declaration", at: open)
                }
            case UInt8(ascii: "/"):
                index += 1
                let name = try readName(at: open)
                skipSpaces()
                try expect(UInt8(ascii: ">"), at: open, what: "'>' to end </\(name)>")
                guard let expected = openElements.popLast() else {
                    throw tokenizer.error("</\(name)> closes nothing", at: open)
                }
                guard expected == name else {
                    throw tokenizer.error("</\(name)> found where </\(expected)> was expected", at: open)
                }
                try handle(.end(name: name, offset: open))
            default:
                try readStartTag(start: open, handle)
            }
        }
        if let unclosed = openElements.last {
            throw tokenizer.error("document ends inside <\(unclosed)>", at: bytes.count)
        }
    }

    private mutating func readStartTag(start: Int, _ handle: (XMLEvent) throws(SchemaLoadError) -> Void) throws(SchemaLoadError) {
        let name = try readName(at: start)
        var attributes = XMLAttributes()
        while true {
            let hadSpace = skipSpaces()
            guard let byte = peek else { throw tokenizer.error("document ends inside <\(name)>", at: start) }
            if byte == UInt8(ascii: ">") {
                index += 1
                openElements.append(name)
                try handle(.start(name: name, attributes: attributes, offset: start))
                return
            }
            if byte == UInt8(ascii: "/") {
                index += 1
                try expect(UInt8(ascii: ">"), at: start, what: "'>' after '/' in <\(name)>")
                try handle(.start(name: name, attributes: attributes, offset: start))
                try handle(.end(name: name, offset: start))
                return
            }
            guard hadSpace else { throw tokenizer.error("expected a space before an attribute in <\(name)>", at: index) }
            let attribute = try readName(at: index)
            skipSpaces()
            try expect(UInt8(ascii: "="), at: index, what: "'=' after attribute \(attribute)")
            skipSpaces()
            guard let quote = peek, quote == UInt8(ascii: "\"") || quote == UInt8(ascii: "'") else {
                throw tokenizer.error("value of attribute \(attribute) in <\(name)> is not quoted", at: index)
            }
            index += 1
            guard let close = find(quote, from: index) else {
                throw tokenizer.error("unterminated value of attribute \(attribute) in <\(name)>", at: start)
            }
            let value = try attributeValue(index..<close, entityDepth: 0)
            index = close + 1
            if attributes[attribute] != nil {
                throw tokenizer.error("attribute \(attribute) repeated in <\(name)>", at: start)
            }
            attributes.pairs.append((attribute, value))
        }
    }

    /// Expands references and normalises white space as XML 1.0 §3.3.3 asks for CDATA attributes.
    private func attributeValue(_ range: Range<Int>, entityDepth: Int) throws(SchemaLoadError) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(range.count)
        var at = range.lowerBound
        while at < range.upperBound {
            let byte = bytes[at]
            if byte == UInt8(ascii: "<") {
                throw tokenizer.error("'<' inside an attribute value", at: at)
            }
            if byte == UInt8(ascii: "&") {
                guard let semicolon = (at + 1..<range.upperBound).first(where: { bytes[$0] == UInt8(ascii: ";") }) else {
                    throw tokenizer.error("'&' without a closing ';' in an attribute value", at: at)
                }
                let name = String(decoding: UnsafeBufferPointer(rebasing: bytes[at + 1..<semicolon]), as: UTF8.self)
                out.append(contentsOf: try expand(entity: name, at: at, depth: entityDepth).utf8)
                at = semicolon + 1
                continue
            }
            out.append(byte == UInt8(ascii: "\n") || byte == UInt8(ascii: "\t") || byte == UInt8(ascii: "\r") ? UInt8(ascii: " ") : byte)
            at += 1
        }
        return String(decoding: out, as: UTF8.self)
    }

    private func expand(entity name: String, at offset: Int, depth: Int) throws(SchemaLoadError) -> String {
        switch name {
        case "lt": return "<"
        case "gt": return ">"
        case "amp": return "&"
        case "quot": return "\""
        case "apos": return "'"
        default: break
        }
        if name.hasPrefix("#") {
            let hex = name.hasPrefix("#x")
            guard let code = UInt32(name.dropFirst(hex ? 2 : 1), radix: hex ? 16 : 10), let scalar = Unicode.Scalar(code) else {
                throw tokenizer.error("bad character reference &\(name);", at: offset)
            }
            return String(Character(scalar))
        }
        guard let value = entities[name] else {
            throw tokenizer.error("undefined entity &\(name);", at: offset)
        }
        // Entity values may refer to other entities; a small depth limit stops "billion laughs".
        guard depth < 8 else { throw tokenizer.error("entities nested too deeply in &\(name);", at: offset) }
        guard value.contains("&") else { return value }
        return try Self.expandReferences(in: value, scanner: self, at: offset, depth: depth + 1)
    }

    private static func expandReferences(in value: String, scanner: Scanner, at offset: Int, depth: Int) throws(SchemaLoadError) -> String {
        var out = ""
        var rest = Substring(value)
        while let amp = rest.firstIndex(of: "&") {
            out += rest[..<amp]
            guard let semicolon = rest[amp...].firstIndex(of: ";") else {
                throw scanner.tokenizer.error("'&' without ';' in an entity value", at: offset)
            }
            out += try scanner.expand(entity: String(rest[rest.index(after: amp)..<semicolon]), at: offset, depth: depth)
            rest = rest[rest.index(after: semicolon)...]
        }
        return out + rest
    }

    /// Reads `<!DOCTYPE name [ <!ENTITY n "v"> ... ]>`, keeping the general entities.
    private mutating func readDoctype(start: Int) throws(SchemaLoadError) {
        while let byte = peek, byte != UInt8(ascii: "[") && byte != UInt8(ascii: ">") { index += 1 }
        guard let byte = peek else { throw tokenizer.error("document ends inside <!DOCTYPE", at: start) }
        index += 1
        if byte == UInt8(ascii: ">") { return }
        while true {
            skipSpaces()
            guard let next = peek else { throw tokenizer.error("document ends inside the DOCTYPE's internal subset", at: start) }
            if next == UInt8(ascii: "]") {
                index += 1
                skipSpaces()
                try expect(UInt8(ascii: ">"), at: start, what: "'>' to end the DOCTYPE")
                return
            }
            let declaration = index
            if starts(with: "<!--") {
                index = try end(of: "-->", what: "comment", start: declaration)
            } else if starts(with: "<!ENTITY") {
                index += 8
                skipSpaces()
                if peek == UInt8(ascii: "%") {
                    // Parameter entities only matter to validating parsers; skip the declaration.
                    index = try end(of: ">", what: "entity declaration", start: declaration)
                    continue
                }
                let name = try readName(at: declaration)
                skipSpaces()
                guard let quote = peek, quote == UInt8(ascii: "\"") || quote == UInt8(ascii: "'"),
                      let close = find(quote, from: index + 1) else {
                    throw tokenizer.error("entity \(name) has no quoted value (external entities are not supported)", at: declaration)
                }
                entities[name] = String(decoding: UnsafeBufferPointer(rebasing: bytes[index + 1..<close]), as: UTF8.self)
                index = close + 1
                skipSpaces()
                try expect(UInt8(ascii: ">"), at: declaration, what: "'>' to end entity \(name)")
            } else if starts(with: "<!") || starts(with: "<?") {
                index = try end(of: ">", what: "declaration", start: declaration)
            } else if next == UInt8(ascii: "%") {
                index = try end(of: ";", what: "parameter-entity reference", start: declaration)
            } else {
                throw tokenizer.error("unexpected content in the DOCTYPE's internal subset", at: declaration)
            }
        }
    }

    private var peek: UInt8? { index < bytes.count ? bytes[index] : nil }

    private func starts(with text: StaticString) -> Bool {
        let count = text.utf8CodeUnitCount
        guard index + count <= bytes.count else { return false }
        return memcmp(bytes.baseAddress! + index, text.utf8Start, count) == 0
    }

    private func find(_ byte: UInt8, from start: Int) -> Int? {
        guard start < bytes.count, let base = bytes.baseAddress,
              let hit = memchr(base + start, Int32(byte), bytes.count - start) else { return nil }
        return base.distance(to: hit.assumingMemoryBound(to: UInt8.self))
    }

    /// The index just after the next `terminator`.
    private func end(of terminator: StaticString, what: String, start: Int) throws(SchemaLoadError) -> Int {
        let first = terminator.utf8Start.pointee
        let count = terminator.utf8CodeUnitCount
        var from = index
        while let hit = find(first, from: from) {
            if hit + count <= bytes.count, memcmp(bytes.baseAddress! + hit, terminator.utf8Start, count) == 0 {
                return hit + count
            }
            from = hit + 1
        }
        throw tokenizer.error("unterminated \(what)", at: start)
    }

    @discardableResult
    private mutating func skipSpaces() -> Bool {
        let start = index
        while let byte = peek, byte == 0x20 || byte == 0x0A || byte == 0x09 || byte == 0x0D { index += 1 }
        return index != start
    }

    private mutating func readName(at offset: Int) throws(SchemaLoadError) -> String {
        let start = index
        while let byte = peek {
            switch byte {
            case 0x20, 0x0A, 0x09, 0x0D, UInt8(ascii: "/"), UInt8(ascii: ">"), UInt8(ascii: "="), UInt8(ascii: "<"),
                 UInt8(ascii: "\""), UInt8(ascii: "'"):
                break
            default:
                index += 1
                continue
            }
            break
        }
        guard index > start else { throw tokenizer.error("expected a name", at: offset) }
        return String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<index]), as: UTF8.self)
    }

    private mutating func expect(_ byte: UInt8, at offset: Int, what: String) throws(SchemaLoadError) {
        guard peek == byte else { throw tokenizer.error("expected \(what)", at: offset) }
        index += 1
    }
}
