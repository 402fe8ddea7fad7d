import BusContracts
import Foundation
import Logging
import PostgresNIO

/// A command as the twin knows it.
public struct TwinCommand: Sendable, Equatable {
    public var commandID: String
    /// `set-parameters`, `download`, …; nil while only a result has been seen.
    public var kind: String?
    /// `queued`, `accepted`, `delivered`, `in-progress`, `succeeded`, `failed`, `not-delivered`,
    /// `expired` or `cancelled`.
    public var status: String
    public var final: Bool
    public var attempt: Int
    public var createdAt: Date?
    public var expiresAt: Date?
    public var statusAt: Date
    public var cancelRequestedAt: Date?
    public var errorCode: Int?
    public var errorMessage: String?
    /// The command as queued, without file-server passwords; nil while only a result was seen.
    public var command: Twinfleet_Bus_V1_Command?
}

extension TwinReader {
    /// The device's commands, newest first: the pending ones only, or all (most `limit`).
    public func commands(_ deviceID: String, pendingOnly: Bool, limit: Int = 100, logger: Logger) async throws -> [TwinCommand] {
        let rows = try await client(deviceID).query("""
            SELECT command_id, kind, status, final, attempt, created_at, expires_at, status_at, cancel_requested_at,
                   error_code, error_message, command
            FROM device_commands WHERE device_id = \(deviceID) AND (NOT \(pendingOnly) OR NOT final)
            ORDER BY coalesce(created_at, status_at) DESC, command_id LIMIT \(limit)
            """, logger: logger)
        var result: [TwinCommand] = []
        for try await row in rows { result.append(try Self.command(from: row)) }
        return result
    }

    static func command(from row: PostgresRow) throws -> TwinCommand {
        let c = row.makeRandomAccess()
        let bytes = try c[11].decode(ByteBuffer?.self)
        return TwinCommand(
            commandID: try c[0].decode(String.self), kind: try c[1].decode(String?.self), status: try c[2].decode(String.self),
            final: try c[3].decode(Bool.self), attempt: try c[4].decode(Int.self), createdAt: try c[5].decode(Date?.self),
            expiresAt: try c[6].decode(Date?.self), statusAt: try c[7].decode(Date.self), cancelRequestedAt: try c[8].decode(Date?.self),
            errorCode: try c[9].decode(Int?.self), errorMessage: try c[10].decode(String?.self),
            command: bytes.flatMap { try? Twinfleet_Bus_V1_Command(serializedBytes: Array(buffer: $0)) })
    }
}

extension TwinReader {
    /// One command of a device, or nil.
    public func command(_ commandID: String, device deviceID: String, logger: Logger) async throws -> TwinCommand? {
        let rows = try await client(deviceID).query("""
            SELECT command_id, kind, status, final, attempt, created_at, expires_at, status_at, cancel_requested_at,
                   error_code, error_message, command
            FROM device_commands WHERE device_id = \(deviceID) AND command_id = \(commandID)
            """, logger: logger)
        for try await row in rows { return try Self.command(from: row) }
        return nil
    }
}
