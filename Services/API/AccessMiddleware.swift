import APIAccess
import FleetQuery
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import Metrics
import NIOCore
import PostgresNIO

/// The edge of every API request, in order: request ID; route lookup (404/405); authentication
/// (API key or bearer token); the rate limit of the caller; the permission of the route; the
/// caller's tenant scope; then the handler. Every error becomes problem+json, and every write —
/// refused or not — is recorded in the audit log.
struct AccessMiddleware: RouterMiddleware {
    typealias Context = APIRequestContext

    let routes: APIRoutes
    let store: ControlStore
    let tokens: BearerTokenVerifier?
    let limiter: RateLimiter
    let logger: Logger

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var context = context
        context.requestID = Self.requestID(request.headers[HTTPField.Name("X-Request-Id")!])
        context.logger[metadataKey: "request.id"] = .string(context.requestID)
        let started = ContinuousClock.now
        var response: Response
        var route: APIRoute?
        do {
            switch routes.route(method: request.method, path: request.uri.path) {
            case .failure(let problem): throw problem
            case .success(let found): route = found
            }
            context.route = route
            // PostgreSQL text cannot hold NUL: refuse it at the edge rather than fail later.
            if let query = request.uri.query, query.contains("%00") || query.contains("\0") {
                throw APIProblem(.badRequest, "query parameters must not contain NUL characters")
            }
            if request.uri.path.contains("%00") { throw APIProblem(.badRequest, "the path must not contain NUL characters") }
            if route?.access != .everyone {
                let caller = try await authenticate(request, context: context)
                context.caller = caller
                context.logger[metadataKey: "api.user"] = .string(caller.userID)
                if let wait = limiter.acquire(caller.rateLimitKey) {
                    throw APIProblem(.rateLimited, "rate limit of \(Int(limiter.perSecond)) requests per second exceeded; retry after \(wait) s",
                                     headers: [.retryAfter: String(wait)])
                }
                if case .permission(let permission) = route?.access, !caller.role.allows(permission) {
                    throw APIProblem(.forbidden, "the role \(caller.role.rawValue) does not have \(permission.rawValue)")
                }
                context.scope = caller.tenantID == store.rootTenant ? nil : try await store.subtree(of: caller.tenantID, logger: context.logger)
            }
            if route?.isWrite == true, let type = request.headers[.contentType], !type.lowercased().hasPrefix("application/json") {
                throw APIProblem(.unsupportedMediaType, "send application/json")
            }
            response = try await next(request, context)
        } catch {
            response = Self.problem(for: error, logger: context.logger).response(path: request.uri.path, requestID: context.requestID)
        }
        response.headers[HTTPField.Name("X-Request-Id")!] = context.requestID
        let status = response.status.code
        Counter(label: "twinfleet_api_requests_total", dimensions: [("operation", route?.operationID ?? "unmatched"), ("status", String(status))]).increment()
        let elapsed = (ContinuousClock.now - started).components
        Timer(label: "twinfleet_api_request_duration_seconds", dimensions: [("operation", route?.operationID ?? "unmatched")], preferredDisplayUnit: .seconds)
            .recordNanoseconds(elapsed.seconds * 1_000_000_000 + elapsed.attoseconds / 1_000_000_000)
        if let route, route.isWrite {
            await audit(request, context: context, route: route, response: response)
        }
        return response
    }

    private func authenticate(_ request: Request, context: Context) async throws -> Caller {
        let challenge: HTTPFields = [.wwwAuthenticate: "Bearer realm=\"twinfleet\""]
        var presented = request.headers[HTTPField.Name("X-API-Key")!]
        if presented == nil, let header = request.headers[.authorization] {
            guard header.count > 7, header.prefix(7).lowercased() == "bearer " else {
                throw APIProblem(.unauthenticated, "use Authorization: Bearer <API key or token>", headers: challenge)
            }
            presented = String(header.dropFirst(7)).trimmingCharacters(in: .whitespaces)
        }
        guard let presented, !presented.isEmpty else {
            throw APIProblem(.unauthenticated, "authentication required: an API key (X-API-Key or Authorization: Bearer) or a bearer token", headers: challenge)
        }
        if presented.hasPrefix(APIKey.prefix) {
            guard let key = APIKey(parsing: presented), let caller = try await store.authenticate(key, now: Date(), logger: context.logger) else {
                throw APIProblem(.unauthenticated, "invalid API key", headers: challenge)
            }
            return caller
        }
        guard let tokens else { throw APIProblem(.unauthenticated, "bearer tokens are not enabled here; use an API key", headers: challenge) }
        do {
            let caller = try tokens.verify(presented)
            guard try await store.tenant(caller.tenantID, logger: context.logger) != nil else {
                throw APIProblem(.unauthenticated, "the token's tenant does not exist", headers: challenge)
            }
            return caller
        } catch let error as TokenError {
            context.logger.info("bearer token refused", metadata: ["reason": "\(error.reason)"])
            throw APIProblem(.unauthenticated, "invalid token", headers: challenge)
        }
    }

    private func audit(_ request: Request, context: Context, route: APIRoute, response: Response) async {
        let entry = AuditRow(
            id: 0, at: Date(), tenantID: context.caller?.tenantID ?? "", actor: context.caller?.userID ?? "anonymous",
            keyID: context.caller?.keyID, role: context.caller?.role.rawValue, action: route.operationID, method: request.method.rawValue,
            path: request.uri.path, status: response.status.code, requestID: context.requestID, remoteAddress: context.remoteAddressText,
            detail: response.headers[.location])
        do {
            try await store.audit(entry, logger: context.logger)
        } catch {
            Counter(label: "twinfleet_api_audit_failures_total").increment()
            context.logger.error("audit entry not written", metadata: ["error": "\(String(reflecting: error))", "action": "\(route.operationID)"])
        }
    }

    /// A well-formed client request ID, or a new one.
    static func requestID(_ header: String?) -> String {
        if let header, (1...128).contains(header.utf8.count),
           header.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "-_.:".contains($0)) }) {
            return header
        }
        return UUID().uuidString.lowercased()
    }

    static func problem(for error: any Error, logger: Logger) -> APIProblem {
        switch error {
        case let problem as APIProblem:
            return problem
        case let error as HTTPError:
            switch error.status {
            case .contentTooLarge: return APIProblem(.payloadTooLarge, "the body is larger than this API accepts")
            case .notFound: return APIProblem(.notFound, "no such resource")
            case .badRequest: return APIProblem(.badRequest, error.body ?? "bad request")
            default:
                logger.error("request failed", metadata: ["error": "\(error)"])
                return APIProblem(error.status.code >= 500 ? .internalError : .badRequest, error.body ?? error.status.reasonPhrase)
            }
        case let error as PSQLError where ["22021", "22P05", "22001", "54000"].contains(error.serverInfo?[.sqlState] ?? ""):
            // Invalid byte sequences (NUL), values too long for their column, oversized index rows.
            return APIProblem(.badRequest, "a value cannot be stored: \(error.serverInfo?[.message] ?? "invalid text")")
        case is NIOTooManyBytesError:
            return APIProblem(.payloadTooLarge, "the body is larger than this API accepts")
        case let error as FleetQueryError:
            return APIProblem(.invalidQuery, error.message, errors: [.init(field: "q", message: error.message)])
        default:
            logger.error("request failed", metadata: ["error": "\(String(reflecting: error))"])
            return APIProblem(.internalError, "the request failed on the server; quote the request ID when reporting it")
        }
    }
}
