/// A small, strict-where-it-matters XML reader over UTF-8 bytes that builds an ``XMLTree``.
///
/// It supports exactly what SOAP needs: elements, attributes, namespaces, character data, CDATA,
/// the five predefined entities and numeric character references. Comments and processing
/// instructions (including the XML declaration) are skipped. Any `<!DOCTYPE`/`<!ENTITY`
/// declaration is refused, so entity expansion and external entities cannot happen, and every
/// resource it could be made to spend is bounded by ``CWMPDecodingLimits``. It never traps on
/// input: every failure is a ``CWMPCodecError``.
struct XMLReader {
    private let bytes: [UInt8]
    private let limits: CWMPDecodingLimits
    private var position = 0
    private var elements: [XMLElement] = []
    private var open: [OpenElement] = []
    /// In-scope namespace declarations, innermost last; prefix "" is the default namespace.
    private var bindings: [(prefix: String, uri: String)] = []
    /// Reused buffer for text that needs entity decoding or line-end normalisation.
    private var scratch: [UInt8] = []

    private struct OpenElement {
        var index: Int
        var nameStart: Int
        var nameEnd: Int
        var bindingMark: Int
        var lastChild = -1
        var text = ""
    }

    /// Parses `bytes` (a UTF-8 BOM is allowed) into a tree.
    static func parse(_ bytes: [UInt8], limits: CWMPDecodingLimits = .default) throws(CWMPCodecError) -> XMLTree {
        if bytes.count > limits.maxBytes {
            throw CWMPCodecError(.tooLarge, "message is \(bytes.count) bytes, more than the limit of \(limits.maxBytes)")
        }
        try UTF8Check.validate(bytes)
        var reader = XMLReader(bytes: bytes, limits: limits)
        if bytes.starts(with: [0xEF, 0xBB, 0xBF]) { reader.position = 3 }
        try reader.run()
        return XMLTree(elements: reader.elements)
    }

    private init(bytes: [UInt8], limits: CWMPDecodingLimits) {
        self.bytes = bytes
        self.limits = limits
    }

    // MARK: Main loop

    private mutating func run() throws(CWMPCodecError) {
        let count = bytes.count
        while position < count {
            if bytes[position] != UInt8(ascii: "<") {
                try characterData()
                continue
            }
            guard position + 1 < count else { throw truncated("a tag") }
            switch bytes[position + 1] {
            case UInt8(ascii: "?"):
                try skip(past: [UInt8(ascii: "?"), UInt8(ascii: ">")], from: position + 2, what: "processing instruction")
            case UInt8(ascii: "!"):
                try markupDeclaration()
            case UInt8(ascii: "/"):
                try endTag()
            default:
                if open.isEmpty && !elements.isEmpty {
                    throw malformed("a second root element after the end of <\(elements[0].localName)>")
                }
                try startTag()
            }
        }
        if let innermost = open.last {
            throw CWMPCodecError(.malformedXML, "input ends inside <\(name(innermost))> (truncated message?)", offset: count)
        }
        if elements.isEmpty {
            throw CWMPCodecError(.malformedXML, "no root element", offset: count)
        }
    }

    /// `<!--`, `<![CDATA[`, or a declaration, which is refused.
    private mutating func markupDeclaration() throws(CWMPCodecError) {
        if matches("<!--") {
            try skip(past: Array("-->".utf8), from: position + 4, what: "comment")
        } else if matches("<![CDATA[") {
            guard !open.isEmpty else { throw malformed("CDATA outside the root element") }
            let start = position + 9
            guard let end = find(Array("]]>".utf8), from: start) else { throw truncated("a CDATA section") }
            // CDATA is taken verbatim apart from XML's line-end normalisation.
            appendText(start, end, decodeEntities: false)
            position = end + 3
        } else {
            var end = position + 2
            while end < bytes.count, end < position + 12, isNameByte(bytes[end]) { end += 1 }
            let keyword = String(decoding: bytes[(position + 2)..<end], as: UTF8.self)
            throw CWMPCodecError(.forbiddenDeclaration, "<!\(keyword) declarations are refused: DTDs and entity declarations are not allowed in CWMP messages", offset: position)
        }
    }

    // MARK: Tags

    private mutating func startTag() throws(CWMPCodecError) {
        let tagStart = position
        position += 1
        let (nameStart, nameEnd) = try qualifiedName(what: "element name")
        if open.count >= limits.maxDepth {
            throw CWMPCodecError(.tooDeep, "elements nest deeper than the limit of \(limits.maxDepth)", offset: tagStart)
        }
        if elements.count >= limits.maxElements {
            throw CWMPCodecError(.tooManyNodes, "more than the limit of \(limits.maxElements) elements", offset: tagStart)
        }
        let mark = bindings.count
        var attributes: [XMLAttribute] = []
        var attributeCount = 0
        var selfClosing = false
        while true {
            let hadSpace = skipSpace()
            guard position < bytes.count else { throw truncated("a start tag") }
            let byte = bytes[position]
            if byte == UInt8(ascii: ">") {
                position += 1
                break
            }
            if byte == UInt8(ascii: "/") {
                guard position + 1 < bytes.count else { throw truncated("a start tag") }
                guard bytes[position + 1] == UInt8(ascii: ">") else { throw malformed("'/' not followed by '>' in a start tag") }
                position += 2
                selfClosing = true
                break
            }
            guard hadSpace else { throw malformed("expected whitespace, '>' or '/>' in a start tag") }
            attributeCount += 1
            if attributeCount > limits.maxAttributesPerElement {
                throw CWMPCodecError(.tooManyNodes, "more than the limit of \(limits.maxAttributesPerElement) attributes on one element", offset: position)
            }
            let (attrStart, attrEnd) = try qualifiedName(what: "attribute name")
            _ = skipSpace()
            guard position < bytes.count else { throw truncated("an attribute") }
            guard bytes[position] == UInt8(ascii: "=") else { throw malformed("expected '=' after an attribute name") }
            position += 1
            _ = skipSpace()
            let value = try attributeValue()
            let qname = bytes[attrStart..<attrEnd]
            if qname.elementsEqual("xmlns".utf8) {
                bindings.append(("", value))
            } else if qname.starts(with: "xmlns:".utf8) {
                bindings.append((String(decoding: bytes[(attrStart + 6)..<attrEnd], as: UTF8.self), value))
            } else {
                let (prefix, local) = split(attrStart, attrEnd)
                attributes.append(XMLAttribute(prefix: prefix, localName: local, value: value))
            }
        }
        let (prefix, local) = split(nameStart, nameEnd)
        let index = elements.count
        elements.append(XMLElement(localName: local, namespaceURI: resolve(prefix ?? ""), attributes: attributes, text: "", offset: tagStart))
        if !open.isEmpty {
            let parent = open.count - 1
            if open[parent].lastChild >= 0 {
                elements[open[parent].lastChild].nextSibling = index
            } else {
                elements[open[parent].index].firstChild = index
                // Text before the first child is indentation: CWMP has no mixed content.
                open[parent].text = ""
            }
            open[parent].lastChild = index
        }
        if selfClosing {
            bindings.removeSubrange(mark...)
        } else {
            open.append(OpenElement(index: index, nameStart: nameStart, nameEnd: nameEnd, bindingMark: mark))
        }
    }

    private mutating func endTag() throws(CWMPCodecError) {
        let tagStart = position
        position += 2
        let (nameStart, nameEnd) = try qualifiedName(what: "end tag name")
        _ = skipSpace()
        guard position < bytes.count else { throw truncated("an end tag") }
        guard bytes[position] == UInt8(ascii: ">") else { throw malformed("expected '>' to close an end tag") }
        position += 1
        let endName = String(decoding: bytes[nameStart..<nameEnd], as: UTF8.self)
        guard let current = open.popLast() else {
            throw CWMPCodecError(.malformedXML, "end tag </\(endName)> without a start tag", offset: tagStart)
        }
        guard bytes[nameStart..<nameEnd].elementsEqual(bytes[current.nameStart..<current.nameEnd]) else {
            throw CWMPCodecError(.malformedXML, "end tag </\(endName)> does not match <\(name(current))>", offset: tagStart)
        }
        if current.lastChild < 0 {
            elements[current.index].text = current.text
        }
        bindings.removeSubrange(current.bindingMark...)
    }

    /// Reads `name` or `prefix:name`, returning its byte range.
    private mutating func qualifiedName(what: String) throws(CWMPCodecError) -> (Int, Int) {
        let start = position
        guard position < bytes.count else { throw truncated("a name") }
        let first = bytes[position]
        guard isNameByte(first), !(first >= UInt8(ascii: "0") && first <= UInt8(ascii: "9")),
              first != UInt8(ascii: "-"), first != UInt8(ascii: ".") else {
            throw malformed("invalid \(what) (unexpected \(describe(first)))")
        }
        while position < bytes.count, isNameByte(bytes[position]) { position += 1 }
        return (start, position)
    }

    private func split(_ start: Int, _ end: Int) -> (prefix: String?, local: String) {
        guard let colon = bytes[start..<end].firstIndex(of: UInt8(ascii: ":")) else {
            return (nil, String(decoding: bytes[start..<end], as: UTF8.self))
        }
        return (String(decoding: bytes[start..<colon], as: UTF8.self), String(decoding: bytes[(colon + 1)..<end], as: UTF8.self))
    }

    private func resolve(_ prefix: String) -> String? {
        for binding in bindings.reversed() where binding.prefix == prefix {
            return binding.uri.isEmpty ? nil : binding.uri
        }
        return nil
    }

    private func name(_ element: OpenElement) -> String {
        String(decoding: bytes[element.nameStart..<element.nameEnd], as: UTF8.self)
    }

    // MARK: Text

    private mutating func characterData() throws(CWMPCodecError) {
        let start = position
        var needsDecoding = false
        while position < bytes.count, bytes[position] != UInt8(ascii: "<") {
            let byte = bytes[position]
            if byte == UInt8(ascii: "&") || byte == 0x0D { needsDecoding = true }
            position += 1
        }
        guard let parent = open.indices.last else {
            if let junk = bytes[start..<position].firstIndex(where: { !XMLNode.isSpace($0) }) {
                throw CWMPCodecError(.malformedXML, "text outside the root element", offset: junk)
            }
            return
        }
        // Once an element has children its text is indentation; do not spend time on it.
        guard open[parent].lastChild < 0 else { return }
        if needsDecoding {
            try decodeText(start, position)
        } else {
            appendText(start, position, decodeEntities: false)
        }
    }

    private mutating func appendText(_ start: Int, _ end: Int, decodeEntities: Bool) {
        guard let parent = open.indices.last, open[parent].lastChild < 0, start < end else { return }
        if bytes[start..<end].contains(0x0D) {
            scratch.removeAll(keepingCapacity: true)
            appendNormalisingLineEnds(start, end)
            open[parent].text += String(decoding: scratch, as: UTF8.self)
        } else {
            open[parent].text += String(decoding: bytes[start..<end], as: UTF8.self)
        }
    }

    private mutating func decodeText(_ start: Int, _ end: Int) throws(CWMPCodecError) {
        scratch.removeAll(keepingCapacity: true)
        try decodeEntities(start, end, attribute: false)
        if let parent = open.indices.last {
            open[parent].text += String(decoding: scratch, as: UTF8.self)
        }
    }

    private mutating func attributeValue() throws(CWMPCodecError) -> String {
        guard position < bytes.count else { throw truncated("an attribute value") }
        let quote = bytes[position]
        guard quote == UInt8(ascii: "\"") || quote == UInt8(ascii: "'") else {
            throw malformed("attribute value is not quoted")
        }
        let start = position + 1
        var end = start
        var simple = true
        while end < bytes.count, bytes[end] != quote {
            let byte = bytes[end]
            if byte == UInt8(ascii: "<") {
                throw CWMPCodecError(.malformedXML, "'<' in an attribute value", offset: end)
            }
            if byte == UInt8(ascii: "&") || byte == 0x09 || byte == 0x0A || byte == 0x0D { simple = false }
            end += 1
        }
        guard end < bytes.count else { throw truncated("an attribute value") }
        position = end + 1
        if simple { return String(decoding: bytes[start..<end], as: UTF8.self) }
        scratch.removeAll(keepingCapacity: true)
        try decodeEntities(start, end, attribute: true)
        return String(decoding: scratch, as: UTF8.self)
    }

    /// Appends `bytes[start..<end]` to ``scratch`` with references resolved, line ends normalised
    /// and, in attribute values, whitespace characters turned into spaces (XML 1.0 §3.3.3).
    private mutating func decodeEntities(_ start: Int, _ end: Int, attribute: Bool) throws(CWMPCodecError) {
        var index = start
        while index < end {
            let byte = bytes[index]
            if byte == UInt8(ascii: "&") {
                guard let semicolon = bytes[index..<end].prefix(12).firstIndex(of: UInt8(ascii: ";")) else {
                    throw CWMPCodecError(.malformedXML, "'&' that does not start a reference (escape it as &amp;)", offset: index)
                }
                try appendReference(bytes[(index + 1)..<semicolon], at: index)
                index = semicolon + 1
            } else if byte == 0x0D {
                scratch.append(attribute ? 0x20 : 0x0A)
                index += (index + 1 < end && bytes[index + 1] == 0x0A) ? 2 : 1
            } else {
                scratch.append(attribute && (byte == 0x09 || byte == 0x0A) ? 0x20 : byte)
                index += 1
            }
        }
    }

    private mutating func appendNormalisingLineEnds(_ start: Int, _ end: Int) {
        var index = start
        while index < end {
            if bytes[index] == 0x0D {
                scratch.append(0x0A)
                index += (index + 1 < end && bytes[index + 1] == 0x0A) ? 2 : 1
            } else {
                scratch.append(bytes[index])
                index += 1
            }
        }
    }

    private mutating func appendReference(_ name: ArraySlice<UInt8>, at offset: Int) throws(CWMPCodecError) {
        switch String(decoding: name, as: UTF8.self) {
        case "lt": scratch.append(UInt8(ascii: "<"))
        case "gt": scratch.append(UInt8(ascii: ">"))
        case "amp": scratch.append(UInt8(ascii: "&"))
        case "quot": scratch.append(UInt8(ascii: "\""))
        case "apos": scratch.append(UInt8(ascii: "'"))
        case let text where text.hasPrefix("#"):
            let hex = text.hasPrefix("#x")
            let digits = text.dropFirst(hex ? 2 : 1)
            guard !digits.isEmpty, digits.count <= 8, digits.allSatisfy(\.isHexDigit), let value = UInt32(digits, radix: hex ? 16 : 10),
                  let scalar = Unicode.Scalar(value), UTF8Check.isXMLCharacter(value) else {
                throw CWMPCodecError(.malformedXML, "character reference &\(text); is not an XML character", offset: offset)
            }
            scratch.append(contentsOf: String(Character(scalar)).utf8)
        case let text:
            throw CWMPCodecError(.unknownEntity, "unknown entity &\(CWMPCodecError.quote(text, limit: 16).dropFirst().dropLast()); (only &lt; &gt; &amp; &quot; &apos; and numeric references are allowed)", offset: offset)
        }
    }

    // MARK: Scanning helpers

    private mutating func skipSpace() -> Bool {
        let start = position
        while position < bytes.count, XMLNode.isSpace(bytes[position]) { position += 1 }
        return position > start
    }

    private func matches(_ literal: StaticString) -> Bool {
        let count = literal.utf8CodeUnitCount
        guard position + count <= bytes.count else { return false }
        return literal.withUTF8Buffer { bytes[position..<(position + count)].elementsEqual($0) }
    }

    private func find(_ needle: [UInt8], from start: Int) -> Int? {
        guard start <= bytes.count - needle.count else { return nil }
        var index = start
        let last = bytes.count - needle.count
        while index <= last {
            if bytes[index] == needle[0] && bytes[index..<(index + needle.count)].elementsEqual(needle) { return index }
            index += 1
        }
        return nil
    }

    private mutating func skip(past terminator: [UInt8], from start: Int, what: String) throws(CWMPCodecError) {
        guard let end = find(terminator, from: start) else { throw truncated("a \(what)") }
        position = end + terminator.count
    }

    /// Name characters: ASCII letters, digits, `_ - . :`, and any non-ASCII byte (already known
    /// to be valid UTF-8), which covers XML's non-ASCII name characters without tables.
    private func isNameByte(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
             UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "_"), UInt8(ascii: "-"),
             UInt8(ascii: "."), UInt8(ascii: ":"), 0x80...0xFF:
            return true
        default:
            return false
        }
    }

    private func describe(_ byte: UInt8) -> String {
        byte >= 0x21 && byte < 0x7F ? "'\(Character(Unicode.Scalar(byte)))'" : "byte 0x\(String(byte, radix: 16))"
    }

    private func malformed(_ message: String) -> CWMPCodecError {
        CWMPCodecError(.malformedXML, message, offset: position)
    }

    private func truncated(_ what: String) -> CWMPCodecError {
        CWMPCodecError(.malformedXML, "input ends inside \(what) (truncated message?)", offset: bytes.count)
    }
}
