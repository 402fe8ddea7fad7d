/// Validates UTF-8 up front, so every later `String(decoding:)` is exact, and refuses the C0
/// control characters XML 1.0 forbids (everything below U+0020 except tab, line feed and
/// carriage return).
enum UTF8Check {
    /// Throws ``CWMPCodecError/Code/invalidUTF8`` at the first bad byte.
    static func validate(_ bytes: [UInt8]) throws(CWMPCodecError) {
        var index = 0
        let count = bytes.count
        while index < count {
            let lead = bytes[index]
            if lead < 0x80 {
                if lead < 0x20 && lead != 0x09 && lead != 0x0A && lead != 0x0D {
                    throw CWMPCodecError(.invalidUTF8, "control character U+\(hex(UInt32(lead))) is not allowed in XML", offset: index)
                }
                index += 1
                continue
            }
            let length: Int
            var scalar: UInt32
            switch lead {
            case 0xC2...0xDF: length = 2; scalar = UInt32(lead & 0x1F)
            case 0xE0...0xEF: length = 3; scalar = UInt32(lead & 0x0F)
            case 0xF0...0xF4: length = 4; scalar = UInt32(lead & 0x07)
            default: throw invalid(index)
            }
            guard index + length <= count else { throw invalid(index) }
            for offset in 1..<length {
                let byte = bytes[index + offset]
                guard byte & 0xC0 == 0x80 else { throw invalid(index) }
                scalar = scalar << 6 | UInt32(byte & 0x3F)
            }
            // Overlong forms, UTF-16 surrogates and values past U+10FFFF are not UTF-8.
            let minimum: UInt32 = length == 3 ? 0x800 : length == 4 ? 0x10000 : 0x80
            guard scalar >= minimum, scalar <= 0x10FFFF, !(0xD800...0xDFFF).contains(scalar) else { throw invalid(index) }
            index += length
        }
    }

    /// XML 1.0's `Char` production.
    static func isXMLCharacter(_ value: UInt32) -> Bool {
        switch value {
        case 0x09, 0x0A, 0x0D, 0x20...0xD7FF, 0xE000...0xFFFD, 0x10000...0x10FFFF: true
        default: false
        }
    }

    private static func invalid(_ offset: Int) -> CWMPCodecError {
        CWMPCodecError(.invalidUTF8, "invalid UTF-8 sequence", offset: offset)
    }

    private static func hex(_ value: UInt32) -> String {
        let digits = String(value, radix: 16, uppercase: true)
        return String(repeating: "0", count: max(0, 4 - digits.count)) + digits
    }
}
