/// A parsed XML document held as one flat array of elements, linked by index, so a whole envelope
/// costs a single array plus one string per element name and text (short ones live inline).
///
/// Only what SOAP needs is kept: element names with their resolved namespace, attributes, and the
/// text of leaf elements. Text between child elements (indentation) is dropped, since CWMP has no
/// mixed content.
struct XMLTree: Sendable {
    /// Every element in document order; index 0 is the root.
    var elements: [XMLElement]

    /// The root element.
    var root: XMLNode { XMLNode(tree: self, index: 0) }
}

/// One element of an ``XMLTree``.
struct XMLElement: Sendable {
    /// The name without its prefix: `Inform` for `cwmp:Inform`.
    var localName: String
    /// The namespace the prefix (or the default namespace) resolves to; nil when there is none or
    /// the prefix is not declared (tolerated: some CPEs forget declarations).
    var namespaceURI: String?
    /// Attributes other than namespace declarations.
    var attributes: [XMLAttribute]
    /// The character data of a leaf element, entities and CDATA resolved; empty for an element
    /// with children.
    var text: String
    /// Byte offset of the element's `<` in the input, for error messages.
    var offset: Int
    /// Index of the first child element, or -1.
    var firstChild: Int = -1
    /// Index of the next sibling element, or -1.
    var nextSibling: Int = -1
}

/// One attribute of an ``XMLElement``.
struct XMLAttribute: Sendable {
    /// The prefix as written (`xsi` in `xsi:type`), nil when there is none.
    var prefix: String?
    /// The name without its prefix.
    var localName: String
    /// The value, entities resolved and whitespace normalised as XML requires.
    var value: String
}

/// A cheap handle on one element of a tree, with the lookups the CWMP decoder needs.
struct XMLNode: Sendable {
    let tree: XMLTree
    let index: Int

    private var element: XMLElement { tree.elements[index] }

    /// The local name (no prefix).
    var name: String { element.localName }
    /// The resolved namespace, if any.
    var namespaceURI: String? { element.namespaceURI }
    /// The element's text exactly as sent (entities resolved).
    var text: String { element.text }
    /// The element's byte offset in the input.
    var offset: Int { element.offset }

    /// The text without surrounding XML whitespace: what identifiers, numbers and flags mean when
    /// a CPE pretty-prints its values.
    var trimmedText: String {
        let utf8 = element.text.utf8
        guard let first = utf8.firstIndex(where: { !XMLNode.isSpace($0) }) else { return "" }
        let last = utf8.lastIndex(where: { !XMLNode.isSpace($0) })!
        if first == utf8.startIndex && last == utf8.index(before: utf8.endIndex) { return element.text }
        return String(element.text[first...last])
    }

    /// True when the element has child elements.
    var hasChildren: Bool { element.firstChild >= 0 }

    /// The child elements in document order.
    var children: Children { Children(tree: tree, upcoming: element.firstChild) }

    /// The first child with local name `name`.
    func child(_ name: String) -> XMLNode? {
        children.first { $0.name == name }
    }

    /// The value of the first attribute with local name `name`, whatever its prefix.
    func attribute(_ name: String) -> String? {
        element.attributes.first { $0.localName == name }?.value
    }

    /// The child elements of one element.
    struct Children: Sequence, IteratorProtocol {
        let tree: XMLTree
        var upcoming: Int

        mutating func next() -> XMLNode? {
            guard upcoming >= 0 else { return nil }
            let node = XMLNode(tree: tree, index: upcoming)
            upcoming = tree.elements[upcoming].nextSibling
            return node
        }
    }

    static func isSpace(_ byte: UInt8) -> Bool {
        byte == 0x20 || byte == 0x09 || byte == 0x0A || byte == 0x0D
    }
}
