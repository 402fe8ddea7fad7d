import Foundation
import HTTPTypes
import Hummingbird

/// JSON in and out: RFC 3339 times in UTC with milliseconds, keys as the OpenAPI document
/// names them.
enum APIJSON {
    static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        encoder.dateEncodingStrategy = .custom { date, encoder in
            var container = encoder.singleValueContainer()
            try container.encode(time(date))
        }
        return encoder
    }()

    static let decoder: JSONDecoder = {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .custom { decoder in
            let container = try decoder.singleValueContainer()
            let text = try container.decode(String.self)
            guard let date = parseTime(text) else {
                throw DecodingError.dataCorruptedError(in: container, debugDescription: "not an RFC 3339 date-time with a zone: \(text)")
            }
            return date
        }
        return decoder
    }()

    /// `2026-11-23T19:50:55.123Z`.
    static func time(_ date: Date) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return formatter.string(from: date)
    }

    /// An RFC 3339 date-time with a zone, with or without fractional seconds.
    static func parseTime(_ text: String) -> Date? {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        if let date = formatter.date(from: text) { return date }
        formatter.formatOptions = [.withInternetDateTime]
        return formatter.date(from: text)
    }

    /// The encoder `userInfo` key of a field selection (`Set<String>`).
    static let fieldsKey = CodingUserInfoKey(rawValue: "twinfleet.fields")!

    /// A JSON response; `fields` limits what selectable objects encode.
    static func response(_ value: some Encodable, status: HTTPResponse.Status = .ok, headers: HTTPFields = [:], fields selection: Set<String>? = nil) throws -> Response {
        var fields = headers
        fields[.contentType] = "application/json"
        var data: Data
        if let selection {
            let selecting = JSONEncoder()
            selecting.outputFormatting = encoder.outputFormatting
            selecting.dateEncodingStrategy = encoder.dateEncodingStrategy
            selecting.userInfo[fieldsKey] = selection
            data = try selecting.encode(value)
        } else {
            data = try encoder.encode(value)
        }
        return Response(status: status, headers: fields, body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }

    /// The JSON bytes of a value.
    static func bytes(_ value: some Encodable) throws -> [UInt8] { Array(try encoder.encode(value)) }

    /// Decodes a request body; a decoding error becomes a problem naming the field.
    static func decode<T: Decodable>(_ type: T.Type, from buffer: ByteBuffer) throws -> T {
        do {
            return try decoder.decode(T.self, from: Data(buffer: buffer))
        } catch let error as DecodingError {
            throw problem(error)
        } catch let problem as APIProblem {
            throw problem
        } catch {
            throw APIProblem(.badRequest, "the body is not valid JSON")
        }
    }

    static func pointer(_ path: [any CodingKey]) -> String {
        "/" + path.map { $0.intValue.map(String.init) ?? $0.stringValue }.joined(separator: "/")
    }

    static func problem(_ error: DecodingError) -> APIProblem {
        switch error {
        case .keyNotFound(let key, let context):
            return .field(pointer(context.codingPath + [key]), "is required")
        case .typeMismatch(let type, let context):
            return .field(pointer(context.codingPath), "expected \(describe(type))")
        case .valueNotFound(let type, let context):
            return .field(pointer(context.codingPath), "expected \(describe(type)), found null")
        case .dataCorrupted(let context):
            if context.codingPath.isEmpty { return APIProblem(.badRequest, "the body is not valid JSON") }
            return .field(pointer(context.codingPath), context.debugDescription)
        @unknown default:
            return APIProblem(.badRequest, "the body could not be read")
        }
    }

    static func describe(_ type: Any.Type) -> String {
        switch type {
        case is String.Type: "a string"
        case is Int.Type, is Int32.Type, is Int64.Type, is UInt32.Type, is UInt64.Type: "an integer"
        case is Bool.Type: "a boolean"
        case is Double.Type: "a number"
        default: String(describing: type).contains("Array") ? "an array" : "an object"
        }
    }
}
