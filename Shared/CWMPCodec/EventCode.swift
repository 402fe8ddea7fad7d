/// An Inform event code: `0 BOOTSTRAP`, `M Reboot`, `X 00D09E MyEvent`…
///
/// A struct rather than an enum because vendors define their own (`X <OUI> <name>`) and the codec
/// must carry them; the standard ones are named constants.
public struct EventCode: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    /// The code as it goes on the wire.
    public var rawValue: String

    /// Wraps a code as it is.
    public init(rawValue: String) { self.rawValue = rawValue }

    /// Reads a code the way CPEs write it and returns its canonical form: surrounding whitespace
    /// dropped, inner runs of whitespace collapsed to one space, numbered codes upper-cased
    /// (`0 bootstrap` → `0 BOOTSTRAP`), `M` codes with the standard method name's spelling
    /// (`m reboot` → `M Reboot`), and the `M`/`X` marker upper-cased. Vendor names after
    /// `M X_`/`X <OUI>` keep their case.
    public init(normalizing text: String) {
        let words = text.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\n" || $0 == "\r" })
        guard let first = words.first else {
            self.init(rawValue: "")
            return
        }
        if first.allSatisfy(\.isASCII) && first.allSatisfy(\.isNumber) {
            self.init(rawValue: words.joined(separator: " ").uppercased())
            return
        }
        var rest = words.dropFirst().map(String.init)
        switch first.uppercased() {
        case "M":
            if rest.count == 1, let method = Self.methods.first(where: { $0.lowercased() == rest[0].lowercased() }) {
                rest[0] = method
            }
            self.init(rawValue: (["M"] + rest).joined(separator: " "))
        case "X":
            self.init(rawValue: (["X"] + rest).joined(separator: " "))
        default:
            self.init(rawValue: words.joined(separator: " "))
        }
    }

    /// The code.
    public var description: String { rawValue }

    /// The number of a numbered code (`1` for `1 BOOT`), nil for `M` and `X` codes.
    public var number: Int? {
        Int(rawValue.prefix { $0 != " " })
    }

    /// `0 BOOTSTRAP`.
    public static let bootstrap = Self(rawValue: "0 BOOTSTRAP")
    /// `1 BOOT`.
    public static let boot = Self(rawValue: "1 BOOT")
    /// `2 PERIODIC`.
    public static let periodic = Self(rawValue: "2 PERIODIC")
    /// `3 SCHEDULED`.
    public static let scheduled = Self(rawValue: "3 SCHEDULED")
    /// `4 VALUE CHANGE`.
    public static let valueChange = Self(rawValue: "4 VALUE CHANGE")
    /// `5 KICKED`.
    public static let kicked = Self(rawValue: "5 KICKED")
    /// `6 CONNECTION REQUEST`.
    public static let connectionRequest = Self(rawValue: "6 CONNECTION REQUEST")
    /// `7 TRANSFER COMPLETE`.
    public static let transferComplete = Self(rawValue: "7 TRANSFER COMPLETE")
    /// `8 DIAGNOSTICS COMPLETE`.
    public static let diagnosticsComplete = Self(rawValue: "8 DIAGNOSTICS COMPLETE")
    /// `9 REQUEST DOWNLOAD`.
    public static let requestDownload = Self(rawValue: "9 REQUEST DOWNLOAD")
    /// `10 AUTONOMOUS TRANSFER COMPLETE`.
    public static let autonomousTransferComplete = Self(rawValue: "10 AUTONOMOUS TRANSFER COMPLETE")
    /// `11 DU STATE CHANGE COMPLETE`.
    public static let duStateChangeComplete = Self(rawValue: "11 DU STATE CHANGE COMPLETE")
    /// `12 AUTONOMOUS DU STATE CHANGE COMPLETE`.
    public static let autonomousDUStateChangeComplete = Self(rawValue: "12 AUTONOMOUS DU STATE CHANGE COMPLETE")
    /// `M Reboot`.
    public static let mReboot = Self(rawValue: "M Reboot")
    /// `M ScheduleInform`.
    public static let mScheduleInform = Self(rawValue: "M ScheduleInform")
    /// `M Download`.
    public static let mDownload = Self(rawValue: "M Download")
    /// `M ScheduleDownload`.
    public static let mScheduleDownload = Self(rawValue: "M ScheduleDownload")
    /// `M Upload`.
    public static let mUpload = Self(rawValue: "M Upload")
    /// `M ChangeDUState`.
    public static let mChangeDUState = Self(rawValue: "M ChangeDUState")

    private static let methods = ["Reboot", "ScheduleInform", "Download", "ScheduleDownload", "Upload", "ChangeDUState"]
}
