import BusContracts
import Crypto
import FleetQuery
import Kafka
import Foundation
import HTTPTypes
import Hummingbird
import Twin
import TwinfleetModel

/// A device as the API shows it.
struct DeviceJSON: Codable, Sendable {
    var id: String
    var tenantId: String
    var `protocol`: String
    var oui: String?
    var productClass: String?
    var serialNumber: String?
    var manufacturer: String?
    var modelName: String?
    var hardwareVersion: String?
    var softwareVersion: String?
    var tags: [String]
    var online: Bool
    var instance: String?
    var firstSeen: Date
    var lastContact: Date
    var lastBoot: Date?
    var twinVersion: Int64

    static let fieldNames = ["id", "tenantId", "protocol", "oui", "productClass", "serialNumber", "manufacturer", "modelName",
                             "hardwareVersion", "softwareVersion", "tags", "online", "instance", "firstSeen", "lastContact", "lastBoot",
                             "twinVersion"]

    init(_ device: TwinDevice) {
        id = device.deviceID
        tenantId = device.tenantID
        self.protocol = device.protocolName
        oui = device.oui
        productClass = device.productClass
        serialNumber = device.serialNumber
        manufacturer = device.manufacturer
        modelName = device.modelName
        hardwareVersion = device.hardwareVersion
        softwareVersion = device.softwareVersion
        tags = device.tags
        online = device.online
        instance = device.instanceID
        firstSeen = device.firstSeen
        lastContact = device.lastContact
        lastBoot = device.lastBoot
        twinVersion = device.twinVersion
    }

    /// Every field, or only those in the encoder's ``APIJSON/fieldsKey`` (field selection).
    func encode(to encoder: any Encoder) throws {
        let only = encoder.userInfo[APIJSON.fieldsKey] as? Set<String>
        var container = encoder.container(keyedBy: CodingKeys.self)
        func put<T: Encodable>(_ value: T?, _ key: CodingKeys) throws {
            guard only?.contains(key.stringValue) ?? true else { return }
            try container.encodeIfPresent(value, forKey: key)
        }
        try put(id, .id); try put(tenantId, .tenantId); try put(self.protocol, .protocol); try put(oui, .oui)
        try put(productClass, .productClass); try put(serialNumber, .serialNumber); try put(manufacturer, .manufacturer)
        try put(modelName, .modelName); try put(hardwareVersion, .hardwareVersion); try put(softwareVersion, .softwareVersion)
        try put(tags, .tags); try put(online, .online); try put(instance, .instance); try put(firstSeen, .firstSeen)
        try put(lastContact, .lastContact); try put(lastBoot, .lastBoot); try put(twinVersion, .twinVersion)
    }
}

/// A typed value: `{"type": "unsignedInt", "value": "6"}`.
struct TypedValueJSON: Codable, Sendable {
    var type: String
    var value: String

    init(_ value: ParameterValue) {
        type = value.type.rawValue
        self.value = value.wireString
    }
}

/// One parameter of a twin, reported and desired side by side.
struct ParameterJSON: Codable, Sendable {
    var path: String
    var type: String
    var value: String
    var writable: Bool?
    var reportedSince: Date
    var desired: TypedValueJSON?
    var pendingCommandId: String?
}

struct TwinJSON: Codable, Sendable {
    var device: DeviceJSON
    var parameters: [ParameterJSON]
    var pendingCommands: [CommandJSON]
}

struct DevicePageJSON: Encodable, Sendable {
    var items: [DeviceJSON]
    var nextCursor: String?
}

struct CountJSON: Codable, Sendable {
    struct Group: Codable, Sendable {
        var value: String?
        var count: Int
    }
    var count: Int
    var groupBy: String?
    var groups: [Group]?
}

struct HistoryJSON: Codable, Sendable {
    struct Entry: Codable, Sendable {
        var at: Date
        /// Absent when the parameter was removed at `at`.
        var type: String?
        var value: String?
    }
    var path: String
    var from: Date
    var to: Date
    var items: [Entry]
}

struct SnapshotJSON: Codable, Sendable {
    var asOf: Date
    var parameters: [PathValueJSON]
}

struct PathValueJSON: Codable, Sendable {
    var path: String
    var type: String
    var value: String
}

struct EventsJSON: Codable, Sendable {
    struct Entry: Codable, Sendable {
        var at: Date
        var kind: String
        var detail: String
    }
    var items: [Entry]
}

/// Device reads: fleet search, count and group-by, the twin, history, the twin as of a time,
/// connectivity events.
struct DeviceRoutes {
    let services: APIServices

    /// The caller's device, or 404 (also for devices of other tenants: their existence is not revealed).
    static func device(_ id: String, context: APIRequestContext, services: APIServices) async throws -> TwinDevice {
        guard let device = try await services.reader.device(id, logger: context.logger), context.sees(tenant: device.tenantID) else {
            throw APIProblem(.notFound, "no device \(id)")
        }
        return device
    }

    func list(_ request: Request, context: APIRequestContext) async throws -> Response {
        let filter = try FleetScope.filter(request.query("q"), scope: context.scope)
        let limit = try request.query("limit", default: 100, in: 1...TwinReader.maxPageSize)
        let fields = try Self.fields(request.query("fields"))
        let page: FleetPage
        do {
            page = try await services.reader.fleet(filter, after: request.query("cursor"), limit: limit, logger: context.logger)
        } catch let error as FleetQueryError {
            throw APIProblem.field("cursor", error.message, kind: .badRequest)
        }
        return try APIJSON.response(DevicePageJSON(items: page.devices.map(DeviceJSON.init), nextCursor: page.nextCursor), fields: fields)
    }

    static func fields(_ text: String?) throws -> Set<String>? {
        guard let text else { return nil }
        var fields: Set<String> = ["id"]
        for name in text.split(separator: ",").map({ $0.trimmingCharacters(in: .whitespaces) }) where !name.isEmpty {
            guard DeviceJSON.fieldNames.contains(name) else {
                throw APIProblem.field("fields", "unknown field \(name); fields are \(DeviceJSON.fieldNames.joined(separator: ", "))", kind: .badRequest)
            }
            fields.insert(name)
        }
        return fields
    }

    func count(_ request: Request, context: APIRequestContext) async throws -> Response {
        let filter = try FleetScope.filter(request.query("q"), scope: context.scope)
        guard let groupText = request.query("groupBy") else {
            return try APIJSON.response(CountJSON(count: try await services.reader.fleetCount(filter, logger: context.logger)))
        }
        let key: FleetGroupKey
        do { key = try FleetGroupKey(parsing: groupText) } catch { throw APIProblem.field("groupBy", error.message, kind: .badRequest) }
        let groups = try await services.reader.fleetGroups(filter, by: key, logger: context.logger)
        return try APIJSON.response(CountJSON(
            count: groups.reduce(0) { $0 + $1.count }, groupBy: key.description,
            groups: groups.map { CountJSON.Group(value: $0.value, count: $0.count) }))
    }

    func twin(_ request: Request, context: APIRequestContext) async throws -> Response {
        let device = try await Self.device(context.parameter("deviceId"), context: context, services: services)
        let prefix = request.query("path") ?? ""
        let parameters = try await services.reader.parameters(device.deviceID, under: prefix, logger: context.logger)
        let pending = try await services.reader.commands(device.deviceID, pendingOnly: true, logger: context.logger)
        let twin = TwinJSON(
            device: DeviceJSON(device),
            parameters: parameters.map {
                ParameterJSON(path: $0.path, type: $0.value.type.rawValue, value: $0.value.wireString, writable: $0.writable,
                              reportedSince: $0.valueSince, desired: $0.desired.map(TypedValueJSON.init), pendingCommandId: $0.desiredCommandID)
            },
            pendingCommands: pending.map(CommandJSON.init))
        // The ETag is a digest of the representation itself, so it changes with anything shown
        // (last contact, desired values, pending commands), and differs per `path`.
        let body = try APIJSON.bytes(twin)
        let etag = "\"" + SHA256.hash(data: body).prefix(12).map { String(format: "%02x", $0) }.joined() + "\""
        if request.ifNoneMatchHolds(etag) {
            return Response(status: .notModified, headers: [.eTag: etag])
        }
        return Reply(status: .ok, headers: [.eTag: etag], body: body).response
    }

    func history(_ request: Request, context: APIRequestContext) async throws -> Response {
        let device = try await Self.device(context.parameter("deviceId"), context: context, services: services)
        guard let path = request.query("path") else { throw APIProblem.field("path", "is required", kind: .badRequest) }
        let (from, to) = try request.timeRange()
        let entries = try await services.reader.history(device.deviceID, path: path, from: from, to: to, logger: context.logger)
        return try APIJSON.response(HistoryJSON(path: path, from: from, to: to, items: entries.map {
            HistoryJSON.Entry(at: $0.changedAt, type: $0.value?.type.rawValue, value: $0.value?.wireString)
        }))
    }

    func snapshot(_ request: Request, context: APIRequestContext) async throws -> Response {
        let device = try await Self.device(context.parameter("deviceId"), context: context, services: services)
        guard let asOf = try request.queryTime("asOf") else { throw APIProblem.field("asOf", "is required", kind: .badRequest) }
        let values = try await services.reader.parameters(device.deviceID, asOf: asOf, under: request.query("path") ?? "", logger: context.logger)
        let parameters = values.sorted { $0.key.utf8.lexicographicallyPrecedes($1.key.utf8) }.map {
            PathValueJSON(path: $0.key, type: $0.value.type.rawValue, value: $0.value.wireString)
        }
        return try APIJSON.response(SnapshotJSON(asOf: asOf, parameters: parameters))
    }

    func events(_ request: Request, context: APIRequestContext) async throws -> Response {
        let device = try await Self.device(context.parameter("deviceId"), context: context, services: services)
        let (from, to) = try request.timeRange()
        let events = try await services.reader.events(device.deviceID, from: from, to: to, logger: context.logger)
        return try APIJSON.response(EventsJSON(items: events.map { EventsJSON.Entry(at: $0.at, kind: $0.kind, detail: $0.detail) }))
    }
}

/// The caller's fleet: a fleet query limited to the tenants the caller sees.
enum FleetScope {
    static func filter(_ text: String?, scope: [String]?, field: String = "q") throws -> FleetFilter {
        let parsed: FleetFilter
        do { parsed = try FleetFilter(parsing: text ?? "") } catch {
            throw APIProblem(.invalidQuery, "\(field): \(error.message)", errors: [.init(field: field, message: "at offset \(error.offset): \(error.message)")])
        }
        guard let scope else { return parsed }
        let tenants = FleetExpression.predicate(.field(.tenant, .oneOf(scope.map { .text($0) })))
        let root: FleetExpression
        switch parsed.root {
        case nil: root = tenants
        case .and(let operands)?: root = .and([tenants] + operands)
        case let other?: root = .and([tenants, other])
        }
        var limits = FleetFilter.Limits.standard
        limits.maxListItems = max(limits.maxListItems, scope.count)
        limits.maxPredicates += 1
        limits.maxLength += scope.reduce(64) { $0 + $1.utf8.count + 4 }
        return try FleetFilter(root: root, limits: limits)
    }
}

/// What a tag change or a forget request queued.
struct DeviceChangeJSON: Codable, Sendable {
    var deviceId: String
    /// The tags once the change is applied (tag changes only).
    var tags: [String]?
    /// `queued`: on `cpe.commands.v1`; the twin shows it once the twin-store applied it.
    var status: String
}

/// Device writes: tags and forgetting. Like commands they go through `cpe.commands.v1`.
struct DeviceWriteRoutes {
    let services: APIServices

    static func tag(_ text: String) throws -> String {
        guard (1...64).contains(text.utf8.count), text.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "-_.:".contains($0)) }) else {
            throw APIProblem.field("tag", "must be 1 to 64 characters: letters, digits, '-', '_', '.', ':'")
        }
        return text
    }

    func setTag(_ request: Request, context: APIRequestContext, adding: Bool) async throws -> Response {
        let caller = try context.requireCaller()
        let device = try await DeviceRoutes.device(context.parameter("deviceId"), context: context, services: services)
        let tag = try Self.tag(context.parameter("tag"))
        var envelope = Twinfleet_Bus_V1_CommandEnvelope()
        envelope.tagsChanged.deviceID = device.deviceID
        envelope.tagsChanged.tenantID = device.tenantID
        if adding { envelope.tagsChanged.add = [tag] } else { envelope.tagsChanged.remove = [tag] }
        envelope.tagsChanged.requestedBy = caller.userID
        envelope.tagsChanged.changedAtUs = Date().unixMicroseconds
        _ = try await services.producer.send(OutgoingRecord(topic: services.commandsTopic, key: device.deviceID, value: try envelope.serializedBytes()))
        var tags = Set(device.tags)
        if adding { tags.insert(tag) } else { tags.remove(tag) }
        return try APIJSON.response(DeviceChangeJSON(deviceId: device.deviceID, tags: tags.sorted(), status: "queued"), status: .accepted)
    }

    func forget(_ request: Request, context: APIRequestContext) async throws -> Response {
        let caller = try context.requireCaller()
        let device = try await DeviceRoutes.device(context.parameter("deviceId"), context: context, services: services)
        var envelope = Twinfleet_Bus_V1_CommandEnvelope()
        envelope.forgotten.deviceID = device.deviceID
        envelope.forgotten.tenantID = device.tenantID
        envelope.forgotten.requestedBy = caller.userID
        envelope.forgotten.forgottenAtUs = Date().unixMicroseconds
        _ = try await services.producer.send(OutgoingRecord(topic: services.commandsTopic, key: device.deviceID, value: try envelope.serializedBytes()))
        return try APIJSON.response(DeviceChangeJSON(deviceId: device.deviceID, tags: nil, status: "queued"), status: .accepted)
    }
}
