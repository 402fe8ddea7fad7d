/// Writes XML straight into a byte buffer: no intermediate strings, escaping done per byte.
///
/// Element names are trusted (they come from this codec); text and attribute values are escaped,
/// including `\r` and (in attributes) tab and line feed as character references, because a reader
/// would otherwise normalise them away and the value would not round-trip.
struct XMLWriter {
    /// The bytes written so far.
    private(set) var bytes: [UInt8] = []

    init(capacity: Int = 1024) {
        bytes.reserveCapacity(capacity)
    }

    /// Appends trusted markup as it is.
    mutating func raw(_ text: StaticString) {
        text.withUTF8Buffer { bytes.append(contentsOf: $0) }
    }

    /// Appends trusted markup (a name built by the codec) as it is.
    mutating func raw(_ text: String) {
        bytes.append(contentsOf: text.utf8)
    }

    /// `<name>`.
    mutating func open(_ name: StaticString) {
        bytes.append(UInt8(ascii: "<"))
        raw(name)
        bytes.append(UInt8(ascii: ">"))
    }

    /// `</name>`.
    mutating func close(_ name: StaticString) {
        bytes.append(UInt8(ascii: "<"))
        bytes.append(UInt8(ascii: "/"))
        raw(name)
        bytes.append(UInt8(ascii: ">"))
    }

    /// `<name>escaped text</name>`.
    mutating func element(_ name: StaticString, _ text: String) {
        open(name)
        self.text(text)
        close(name)
    }

    /// `<name>number</name>`.
    mutating func element(_ name: StaticString, _ number: some BinaryInteger) {
        open(name)
        raw(String(number))
        close(name)
    }

    /// `<name>true|false</name>`.
    mutating func element(_ name: StaticString, _ flag: Bool) {
        open(name)
        raw(flag ? "true" : "false")
        close(name)
    }

    /// Appends character data, escaping `&`, `<`, `>` and `\r`.
    mutating func text(_ text: String) {
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "&"): raw("&amp;")
            case UInt8(ascii: "<"): raw("&lt;")
            // `>` only needs escaping after `]]`, but escaping it always is simpler and harmless.
            case UInt8(ascii: ">"): raw("&gt;")
            case 0x0D: raw("&#xD;")
            default: bytes.append(byte)
            }
        }
    }

    /// Appends ` name="escaped value"`.
    mutating func attribute(_ name: StaticString, _ value: String) {
        bytes.append(UInt8(ascii: " "))
        raw(name)
        raw("=\"")
        for byte in value.utf8 {
            switch byte {
            case UInt8(ascii: "&"): raw("&amp;")
            case UInt8(ascii: "<"): raw("&lt;")
            case UInt8(ascii: ">"): raw("&gt;")
            case UInt8(ascii: "\""): raw("&quot;")
            case UInt8(ascii: "'"): raw("&apos;")
            case 0x09: raw("&#x9;")
            case 0x0A: raw("&#xA;")
            case 0x0D: raw("&#xD;")
            default: bytes.append(byte)
            }
        }
        bytes.append(UInt8(ascii: "\""))
    }

    /// `<name soap-enc:arrayType="type[count]">`, the SOAP-encoded array wrapper CWMP uses.
    mutating func openArray(_ name: StaticString, type: StaticString, count: Int) {
        bytes.append(UInt8(ascii: "<"))
        raw(name)
        raw(" soap-enc:arrayType=\"")
        raw(type)
        bytes.append(UInt8(ascii: "["))
        raw(String(count))
        raw("]\">")
    }

    /// `<name soap-enc:arrayType="xsd:string[N]"><string>…</string>…</name>`.
    mutating func stringArray(_ name: StaticString, _ strings: [String]) {
        openArray(name, type: "xsd:string", count: strings.count)
        for string in strings { element("string", string) }
        close(name)
    }
}
