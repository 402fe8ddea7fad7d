import APIAccess
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore

/// The request context of the public API: the caller and its tenant scope once the access
/// middleware has authenticated the request.
struct APIRequestContext: RequestContext, RemoteAddressRequestContext {
    var coreContext: CoreRequestContextStorage
    let remoteAddress: SocketAddress?
    /// `X-Request-Id` as received (when well-formed) or generated; echoed in every response.
    var requestID = ""
    /// The authenticated caller (nil only on public routes).
    var caller: Caller?
    /// The tenants the caller may see; nil for the root tenant, which sees every device.
    var scope: [String]?
    /// The matched route.
    var route: APIRoute?

    init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        remoteAddress = source.channel.remoteAddress
    }

    /// The caller, for routes behind authentication.
    func requireCaller() throws -> Caller {
        guard let caller else { throw APIProblem(.unauthenticated, "authentication required") }
        return caller
    }

    /// Whether the caller may see resources of `tenant`.
    func sees(tenant: String) -> Bool { scope.map { $0.contains(tenant) } ?? true }

    /// The client's IP address, for the audit log.
    var remoteAddressText: String { remoteAddress?.ipAddress ?? "" }

    /// A path parameter, percent-decoded.
    func parameter(_ name: String) throws -> String {
        let raw = try parameters.require(name)
        guard let decoded = raw.removingPercentEncoding, !decoded.isEmpty else {
            throw APIProblem.field(name, "is not a valid percent-encoded path segment", kind: .badRequest)
        }
        return decoded
    }
}

extension Request {
    /// A query parameter, nil when absent or empty. Decoded as HTML forms encode it (`+` is a
    /// space, as `curl --data-urlencode` and browsers send it), then percent-decoded.
    func query(_ name: String) -> String? {
        guard let raw = uri.query else { return nil }
        func decode(_ text: Substring) -> String {
            let spaced = text.replacingOccurrences(of: "+", with: " ")
            return spaced.removingPercentEncoding ?? spaced
        }
        for pair in raw.split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            guard decode(parts[0]) == name else { continue }
            let value = parts.count > 1 ? decode(parts[1]) : ""
            return value.isEmpty ? nil : value
        }
        return nil
    }

    /// `Idempotency-Key`, if sent (1 to 255 characters).
    func idempotencyKey() throws -> String? {
        guard let key = headers[HTTPField.Name("Idempotency-Key")!] else { return nil }
        guard !key.isEmpty, key.utf8.count <= 255 else { throw APIProblem.field("Idempotency-Key", "must be 1 to 255 characters", kind: .badRequest) }
        return key
    }

    /// `from` and `to` query times; `to` defaults to now, `from` to a week before `to`.
    func timeRange() throws -> (from: Date, to: Date) {
        let to = try queryTime("to") ?? Date()
        let from = try queryTime("from") ?? to.addingTimeInterval(-7 * 86_400)
        guard from <= to else { throw APIProblem.field("from", "must not be after to", kind: .badRequest) }
        return (from, to)
    }

    /// Whether `If-Match` is present and names none of `etag` (nor `*`): the change must not happen.
    func ifMatchFails(_ etag: String) -> Bool {
        guard let header = headers[.ifMatch] else { return false }
        return !Self.etags(header).contains { $0 == etag || $0 == "*" }
    }

    /// Whether `If-None-Match` names `etag` (or `*`): the client's copy is current.
    func ifNoneMatchHolds(_ etag: String) -> Bool {
        guard let header = headers[.ifNoneMatch] else { return false }
        return Self.etags(header).contains { $0 == etag || $0 == "*" }
    }

    private static func etags(_ header: String) -> [String] {
        header.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
    }

    /// An integer query parameter within `range`.
    func query(_ name: String, default fallback: Int, in range: ClosedRange<Int>) throws -> Int {
        guard let text = query(name) else { return fallback }
        guard let value = Int(text), range.contains(value) else {
            throw APIProblem.field(name, "must be an integer from \(range.lowerBound) to \(range.upperBound)", kind: .badRequest)
        }
        return value
    }

    /// A date-time query parameter.
    func queryTime(_ name: String) throws -> Date? {
        guard let text = query(name) else { return nil }
        guard let date = APIJSON.parseTime(text) else {
            throw APIProblem.field(name, "must be an RFC 3339 date-time with a zone, e.g. 2026-11-23T10:00:00Z", kind: .badRequest)
        }
        return date
    }

    /// A boolean query parameter.
    func queryBool(_ name: String) throws -> Bool? {
        guard let text = query(name) else { return nil }
        switch text {
        case "true": return true
        case "false": return false
        default: throw APIProblem.field(name, "must be true or false", kind: .badRequest)
        }
    }
}
