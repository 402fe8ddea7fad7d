import BusContracts
import Foundation
import HTTPTypes
import Hummingbird
import Kafka
import Twin
import TwinfleetModel

/// A command as the twin tracks it.
struct CommandJSON: Codable, Sendable {
    struct ErrorJSON: Codable, Sendable {
        var code: Int
        var message: String
    }
    var id: String
    var deviceId: String?
    var kind: String?
    var status: String
    var final: Bool
    var attempt: Int
    var createdAt: Date?
    var expiresAt: Date?
    var statusAt: Date
    var cancelRequestedAt: Date?
    var error: ErrorJSON?
    var request: CommandBody?

    init(_ command: TwinCommand) {
        id = command.commandID
        deviceId = command.command?.deviceID
        kind = command.kind
        status = command.status
        final = command.final
        attempt = command.attempt
        createdAt = command.createdAt
        expiresAt = command.expiresAt
        statusAt = command.statusAt
        cancelRequestedAt = command.cancelRequestedAt
        error = command.errorCode.map { ErrorJSON(code: $0, message: command.errorMessage ?? "") }
        request = command.command.map(CommandBody.init)
    }

    /// A command just queued (before the twin has recorded it).
    init(queued command: Twinfleet_Bus_V1_Command, at now: Date) {
        id = command.commandID
        deviceId = command.deviceID
        kind = command.kindName
        status = "queued"
        final = false
        attempt = 0
        createdAt = now
        expiresAt = command.expiresAtUs > 0 ? Date(unixMicroseconds: command.expiresAtUs) : nil
        statusAt = now
        var shown = command
        if case .download(var download) = shown.kind { download.password = ""; shown.download = download }
        if case .upload(var upload) = shown.kind { upload.password = ""; shown.upload = upload }
        request = CommandBody(shown)
    }

    /// Strong enough for `If-Match`: the status and its time change on every transition.
    var etag: String { "\"\(status)-\(Int64(statusAt.timeIntervalSince1970 * 1_000_000))\"" }
}

struct CommandPageJSON: Codable, Sendable {
    var items: [CommandJSON]
}

struct CancelJSON: Codable, Sendable {
    var reason: String?
}

/// Queue, list, read and cancel one device's commands. Writes go to `cpe.commands.v1`; reads
/// come from the twin, which records a command once the twin-store has applied it (usually
/// within milliseconds), so a command just queued may briefly read as 404.
struct CommandRoutes {
    let services: APIServices

    func queue(_ request: Request, context: APIRequestContext) async throws -> Response {
        let caller = try context.requireCaller()
        let device = try await DeviceRoutes.device(context.parameter("deviceId"), context: context, services: services)
        let bytes = try await request.body.collect(upTo: services.maxBodyBytes)
        let body = try APIJSON.decode(CommandBody.self, from: bytes)
        guard let deviceProtocol = DeviceProtocol(rawValue: device.protocolName) else {
            throw APIProblem(.conflict, "the device's protocol \(device.protocolName) is unknown")
        }
        let now = Date()
        var command = try services.builder.build(body, protocol: deviceProtocol, now: now)
        let idempotencyKey = try request.idempotencyKey()
        command.deviceID = device.deviceID
        command.tenantID = device.tenantID
        command.createdAtUs = now.unixMicroseconds
        command.correlation.userID = caller.userID
        command.correlation.requestID = context.requestID
        command.commandID = "api-" + UUID().uuidString.lowercased()
        let location = "/v1/devices/\(Self.escape(device.deviceID))/commands/"

        return try await Idempotency.run(
            key: idempotencyKey.map { "command:\(device.deviceID):\($0)" }, tenant: caller.tenantID,
            request: try APIJSON.bytes(body) + Array(device.deviceID.utf8), store: services.store, context: context
        ) {
            if let idempotencyKey { command.idempotencyKey = "api:\(idempotencyKey)" }
            var envelope = Twinfleet_Bus_V1_CommandEnvelope()
            envelope.requested.command = command
            _ = try await services.producer.send(OutgoingRecord(topic: services.commandsTopic, key: device.deviceID, value: try envelope.serializedBytes()))
            let shown = CommandJSON(queued: command, at: now)
            return Reply(status: .accepted, headers: [.location: location + command.commandID, .eTag: shown.etag], body: try APIJSON.bytes(shown))
        }
    }

    func list(_ request: Request, context: APIRequestContext) async throws -> Response {
        let device = try await DeviceRoutes.device(context.parameter("deviceId"), context: context, services: services)
        let pending = try request.queryBool("pending") ?? false
        let limit = try request.query("limit", default: 100, in: 1...1000)
        var commands = try await services.reader.commands(device.deviceID, pendingOnly: pending, limit: limit, logger: context.logger)
        if let status = request.query("status") { commands = commands.filter { $0.status == status } }
        return try APIJSON.response(CommandPageJSON(items: commands.map(CommandJSON.init)))
    }

    func get(_ request: Request, context: APIRequestContext) async throws -> Response {
        let device = try await DeviceRoutes.device(context.parameter("deviceId"), context: context, services: services)
        let command = try await find(try context.parameter("commandId"), device: device, context: context)
        return try APIJSON.response(command, headers: [.eTag: command.etag])
    }

    func cancel(_ request: Request, context: APIRequestContext) async throws -> Response {
        let caller = try context.requireCaller()
        let device = try await DeviceRoutes.device(context.parameter("deviceId"), context: context, services: services)
        let bytes = try await request.body.collect(upTo: services.maxBodyBytes)
        let body = bytes.readableBytes == 0 ? CancelJSON() : try APIJSON.decode(CancelJSON.self, from: bytes)
        let command = try await find(try context.parameter("commandId"), device: device, context: context)
        if request.ifMatchFails(command.etag) {
            throw APIProblem(.preconditionFailed, "the command changed (now \(command.status)); read it again", headers: [.eTag: command.etag])
        }
        guard !command.final else { throw APIProblem(.commandFinal, "the command is already \(command.status)") }
        var envelope = Twinfleet_Bus_V1_CommandEnvelope()
        envelope.cancelled.commandID = command.id
        envelope.cancelled.deviceID = device.deviceID
        envelope.cancelled.tenantID = device.tenantID
        envelope.cancelled.reason = body.reason ?? "cancelled through the API"
        envelope.cancelled.requestedBy = caller.userID
        envelope.cancelled.cancelledAtUs = Date().unixMicroseconds
        _ = try await services.producer.send(OutgoingRecord(topic: services.commandsTopic, key: device.deviceID, value: try envelope.serializedBytes()))
        var shown = command
        shown.cancelRequestedAt = Date(unixMicroseconds: envelope.cancelled.cancelledAtUs)
        return try APIJSON.response(shown, status: .accepted, headers: [.eTag: shown.etag])
    }

    private func find(_ id: String, device: TwinDevice, context: APIRequestContext) async throws -> CommandJSON {
        guard let command = try await services.reader.command(id, device: device.deviceID, logger: context.logger) else {
            throw APIProblem(.notFound, "no command \(id) for device \(device.deviceID)")
        }
        var shown = CommandJSON(command)
        shown.deviceId = device.deviceID
        return shown
    }

    /// A device ID as one path segment.
    static func escape(_ text: String) -> String {
        var allowed = CharacterSet.urlPathAllowed
        allowed.remove(charactersIn: "/?#%")
        return text.addingPercentEncoding(withAllowedCharacters: allowed) ?? text
    }
}

/// `Idempotency-Key` (IETF draft-ietf-httpapi-idempotency-key-header): the first request with
/// a key runs and its response is stored; a repeat with the same body gets the stored response,
/// one with another body gets 409, one while the first is still running gets 409 too.
enum Idempotency {
    static func run(key: String?, tenant: String, request: [UInt8], store: ControlStore, context: APIRequestContext,
                    _ body: () async throws -> Reply) async throws -> Response {
        guard let key else { return try await body().response }
        switch try await store.reserve(tenant: tenant, key: key, request: request, logger: context.logger) {
        case .replay(let status, let stored, let location):
            var headers: HTTPFields = [.contentType: "application/json", HTTPField.Name("Idempotent-Replayed")!: "true"]
            if let location { headers[.location] = location }
            return Response(status: .init(code: status), headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: stored)))
        case .mismatch:
            throw APIProblem(.idempotencyKeyReused, "this Idempotency-Key was used for a different request")
        case .inFlight:
            throw APIProblem(.conflict, "a request with this Idempotency-Key is still being processed; retry later", headers: [.retryAfter: "1"])
        case .reserved:
            do {
                let reply = try await body()
                try await store.complete(tenant: tenant, key: key, status: reply.status.code, body: reply.body,
                                         location: reply.headers[.location], logger: context.logger)
                return reply.response
            } catch {
                try? await store.release(tenant: tenant, key: key, logger: context.logger)
                throw error
            }
        }
    }
}

/// A JSON response kept as bytes, so that it can also be stored for idempotent replays.
struct Reply: Sendable {
    var status: HTTPResponse.Status
    var headers: HTTPFields
    var body: [UInt8]

    var response: Response {
        var fields = headers
        fields[.contentType] = "application/json"
        return Response(status: status, headers: fields, body: .init(byteBuffer: ByteBuffer(bytes: body)))
    }
}
