import Foundation
import HTTPTypes
import Hummingbird

/// An RFC 9457 problem: every error the API returns. `type` is stable (clients switch on it),
/// `detail` is for people, `errors` names the fields at fault.
struct APIProblem: Error, HTTPResponseError, Sendable {
    /// The stable problem types (`https://twinfleet.dev/problems/<slug>`).
    enum Kind: String, Sendable, CaseIterable {
        case badRequest = "bad-request"
        case validationFailed = "validation-failed"
        case invalidQuery = "invalid-query"
        case unauthenticated
        case forbidden
        case notFound = "not-found"
        case methodNotAllowed = "method-not-allowed"
        case conflict
        case commandFinal = "command-final"
        case idempotencyKeyReused = "idempotency-key-reused"
        case preconditionFailed = "precondition-failed"
        case payloadTooLarge = "payload-too-large"
        case unsupportedMediaType = "unsupported-media-type"
        case rateLimited = "rate-limited"
        case internalError = "internal-error"
        case unavailable

        var status: HTTPResponse.Status {
            switch self {
            case .badRequest, .invalidQuery: .badRequest
            case .validationFailed: .unprocessableContent
            case .unauthenticated: .unauthorized
            case .forbidden: .forbidden
            case .notFound: .notFound
            case .methodNotAllowed: .methodNotAllowed
            case .conflict, .commandFinal, .idempotencyKeyReused: .conflict
            case .preconditionFailed: .preconditionFailed
            case .payloadTooLarge: .contentTooLarge
            case .unsupportedMediaType: .unsupportedMediaType
            case .rateLimited: .tooManyRequests
            case .internalError: .internalServerError
            case .unavailable: .serviceUnavailable
            }
        }

        var uri: String { "https://twinfleet.dev/problems/\(rawValue)" }
    }

    /// One field at fault: a JSON pointer into the body (`/parameters/0/value`) or a query
    /// parameter name (`q`).
    struct FieldError: Codable, Sendable, Equatable {
        var field: String
        var message: String
    }

    var kind: Kind
    var detail: String
    var errors: [FieldError] = []
    var headers: HTTPFields = [:]

    init(_ kind: Kind, _ detail: String, errors: [FieldError] = [], headers: HTTPFields = [:]) {
        self.kind = kind
        self.detail = detail
        self.errors = errors
        self.headers = headers
    }

    static func field(_ field: String, _ message: String, kind: Kind = .validationFailed) -> APIProblem {
        APIProblem(kind, "\(field): \(message)", errors: [FieldError(field: field, message: message)])
    }

    var status: HTTPResponse.Status { kind.status }

    struct Body: Encodable {
        var type: String
        var title: String
        var status: Int
        var detail: String
        var instance: String
        var requestId: String
        var errors: [FieldError]?
    }

    func response(from request: Request, context: some RequestContext) throws -> Response {
        response(path: request.uri.path, requestID: (context as? APIRequestContext)?.requestID ?? "")
    }

    func response(path: String, requestID: String) -> Response {
        let body = Body(type: kind.uri, title: status.reasonPhrase, status: status.code, detail: detail, instance: path,
                        requestId: requestID, errors: errors.isEmpty ? nil : errors)
        var fields = headers
        fields[.contentType] = "application/problem+json"
        let data = (try? APIJSON.encoder.encode(body)) ?? Data()
        return Response(status: status, headers: fields, body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }
}
