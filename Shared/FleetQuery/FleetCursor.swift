import Foundation

/// Where a page of fleet query results ended: the last device ID returned (results are ordered
/// by `device_id` across all shards), tied to the filter's fingerprint so that a cursor cannot
/// be replayed with another query.
///
/// The encoded form is URL-safe base64 (no padding) of: a format byte (1), the fingerprint as
/// 8 bytes big-endian, the device ID in UTF-8. It is opaque to clients but not secret.
public struct FleetCursor: Sendable, Equatable {
    /// The last device ID of the previous page; the next page starts after it
    /// (`d.device_id > $n`).
    public let lastDeviceID: String
    /// ``FleetFilter/fingerprint`` of the filter the cursor was issued for.
    public let filterFingerprint: UInt64

    /// Longest device ID a cursor carries, in UTF-8 bytes.
    public static let maxDeviceIDLength = 512

    private static let format: UInt8 = 1

    /// A cursor after `lastDeviceID` for `filter`.
    public init(lastDeviceID: String, filter: FleetFilter) {
        self.lastDeviceID = lastDeviceID
        self.filterFingerprint = filter.fingerprint
    }

    /// The opaque URL-safe text to hand to the client.
    public var encoded: String {
        var bytes: [UInt8] = [Self.format]
        for shift in stride(from: 56, through: 0, by: -8) { bytes.append(UInt8(truncatingIfNeeded: filterFingerprint >> UInt64(shift))) }
        bytes.append(contentsOf: lastDeviceID.utf8)
        return Data(bytes).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-")
            .replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }

    /// Decodes a cursor received from a client and checks that it belongs to `filter`.
    public init(decoding text: String, for filter: FleetFilter) throws(FleetQueryError) {
        let limit = (1 + 8 + Self.maxDeviceIDLength) * 4 / 3 + 4
        guard !text.isEmpty, text.utf8.count <= limit else {
            throw FleetQueryError(.invalidCursor, at: 0, "the cursor is empty or too long; pass the cursor returned with the previous page unchanged")
        }
        var base64 = ""
        for (index, scalar) in text.unicodeScalars.enumerated() {
            switch scalar {
            case "A"..."Z", "a"..."z", "0"..."9": base64.unicodeScalars.append(scalar)
            case "-": base64 += "+"
            case "_": base64 += "/"
            default:
                throw FleetQueryError(.invalidCursor, at: index, "the cursor has a character that is not URL-safe base64 at offset \(index)")
            }
        }
        while base64.utf8.count % 4 != 0 { base64 += "=" }
        guard let data = Data(base64Encoded: base64), data.count >= 10, data.first == Self.format else {
            throw FleetQueryError(.invalidCursor, at: 0, "the cursor is not one this service issued; pass the cursor returned with the previous page unchanged")
        }
        let bytes = Array(data)
        let fingerprint = bytes[1...8].reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
        let idBytes = bytes[9...]
        guard idBytes.count <= Self.maxDeviceIDLength, !idBytes.contains(0),
              let deviceID = String(validating: idBytes, as: UTF8.self) else {
            throw FleetQueryError(.invalidCursor, at: 0, "the cursor holds a malformed device ID; pass the cursor returned with the previous page unchanged")
        }
        guard fingerprint == filter.fingerprint else {
            throw FleetQueryError(.cursorMismatch, at: 0, "the cursor was issued for a different filter; start again without a cursor or repeat the original filter")
        }
        self.lastDeviceID = deviceID
        self.filterFingerprint = fingerprint
    }
}
