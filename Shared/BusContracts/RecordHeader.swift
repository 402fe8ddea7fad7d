import SwiftProtobuf

/// Header names and values put on Twinfleet's Kafka records, so a record can be recognised
/// (in the dead-letter topic, by tooling) without knowing the topic it came from.
public enum RecordHeader {
    /// `content-type`: `application/x-protobuf; message=<fully qualified message name>`.
    public static let contentType = "content-type"
    /// `schema`: the fully qualified message name alone, e.g. `twinfleet.bus.v1.DeviceEvent`.
    public static let schema = "schema"
    /// `twinfleet-error-code`: on dead letters, the machine-readable reason.
    public static let errorCode = "twinfleet-error-code"

    /// The `content-type` value for a message type:
    /// `application/x-protobuf; message=twinfleet.bus.v1.DeviceEvent`.
    public static func contentType<M: SwiftProtobuf.Message>(of type: M.Type) -> String {
        "application/x-protobuf; message=\(M.protoMessageName)"
    }

    /// The `schema` value for a message type: `twinfleet.bus.v1.DeviceEvent`.
    public static func schema<M: SwiftProtobuf.Message>(of type: M.Type) -> String {
        M.protoMessageName
    }

    /// Both headers for a message type, as (name, value) pairs ready for a producer.
    public static func describing<M: SwiftProtobuf.Message>(_ type: M.Type) -> [(name: String, value: String)] {
        [(contentType, contentType(of: type)), (schema, schema(of: type))]
    }
}
