#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import BusContracts

/// A daily maintenance window in UTC, `[start, end)` in minutes of the day; it may wrap past
/// midnight (22:00–04:00).
public struct MaintenanceWindow: Sendable, Equatable, CustomStringConvertible {
    public var startMinute: Int
    public var endMinute: Int

    public init(startMinute: Int, endMinute: Int) {
        self.startMinute = ((startMinute % 1440) + 1440) % 1440
        self.endMinute = ((endMinute % 1440) + 1440) % 1440
    }

    /// Parses `HH:MM-HH:MM` (UTC).
    public init?(parsing text: String) {
        let parts = text.split(separator: "-")
        guard parts.count == 2, let start = Self.minute(parts[0]), let end = Self.minute(parts[1]), start != end else { return nil }
        self.init(startMinute: start, endMinute: end)
    }

    private static func minute(_ text: Substring) -> Int? {
        let pieces = text.trimmingCharacters(in: .whitespaces).split(separator: ":")
        guard pieces.count == 2, let hours = Int(pieces[0]), let minutes = Int(pieces[1]), (0..<24).contains(hours), (0..<60).contains(minutes) else { return nil }
        return hours * 60 + minutes
    }

    /// Whether `date` falls inside the window.
    public func contains(_ date: Date) -> Bool {
        let seconds = Int(date.timeIntervalSince1970.rounded(.down))
        let minute = ((seconds / 60) % 1440 + 1440) % 1440
        if startMinute < endMinute { return minute >= startMinute && minute < endMinute }
        return minute >= startMinute || minute < endMinute
    }

    public var description: String {
        String(format: "%02d:%02d-%02d:%02d", startMinute / 60, startMinute % 60, endMinute / 60, endMinute % 60)
    }
}

/// Where a bulk operation is.
public enum BulkState: String, Sendable, CaseIterable {
    /// Fanning out (while inside its window).
    case running
    /// Stopped by an operator until resumed; nothing more is queued meanwhile.
    case paused
    /// Every matching device got its command.
    case completed
    /// Stopped for good by an operator; commands already queued stay queued (cancel them one by one).
    case cancelled
}

/// One request over a fleet query: the same command for every matching twin, queued at a rate
/// and inside an optional window.
public struct BulkOperation: Sendable, Equatable {
    public var id: String
    public var tenantID: String
    /// The fleet query (`Shared/FleetQuery/LANGUAGE.md`).
    public var query: String
    /// The command to queue per device (its device and command IDs are filled per device).
    public var template: Twinfleet_Bus_V1_Command
    /// Commands queued per second, at most.
    public var ratePerSecond: Int
    public var window: MaintenanceWindow?
    public var state: BulkState
    /// Devices matching when the operation started.
    public var matched: Int
    /// Commands queued so far.
    public var queued: Int
    /// Fleet cursor after the last device queued (nil: from the start).
    public var cursor: String?
    public var requestedBy: String
    public var createdAt: Date
    public var finishedAt: Date?

    public init(id: String, tenantID: String, query: String, template: Twinfleet_Bus_V1_Command, ratePerSecond: Int,
                window: MaintenanceWindow? = nil, requestedBy: String = "", createdAt: Date = Date()) {
        self.id = id
        self.tenantID = tenantID
        self.query = query
        self.template = template
        self.ratePerSecond = max(1, ratePerSecond)
        self.window = window
        state = .running
        matched = 0
        queued = 0
        self.requestedBy = requestedBy
        self.createdAt = createdAt
    }

    /// The command for one device: a deterministic ID (queuing it twice is harmless), the
    /// operation as correlation and idempotency key.
    public func command(for deviceID: String, now: Date) -> Twinfleet_Bus_V1_Command {
        var command = template
        command.commandID = "bulk-\(id)-\(deviceID)"
        command.deviceID = deviceID
        command.tenantID = tenantID
        command.idempotencyKey = "bulk:\(id)"
        command.correlation.bulkOperationID = id
        if !requestedBy.isEmpty { command.correlation.userID = requestedBy }
        command.createdAtUs = now.unixMicroseconds
        return command
    }
}
