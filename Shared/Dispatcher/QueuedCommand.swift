#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import BusContracts

/// Where a command is in the dispatcher's lifecycle.
///
/// ```
/// queued ──plan──▶ dispatched ──DELIVERED──▶ delivered ──IN_PROGRESS──▶ in-progress
///   ▲  │                │  │                    │                            │
///   │  └─expiry─▶ expired  └──NOT_DELIVERED / session gone / timeout──▶ queued (again)
///   │  └─cancel─▶ cancelled                                               │
///   └── retriable FAILED (backoff) ◀──────────────────────────────────────┘
///              SUCCEEDED ─▶ succeeded        final FAILED ─▶ failed
/// ```
public enum CommandState: String, Sendable, Hashable, CaseIterable {
    case queued
    case dispatched
    case delivered
    case inProgress = "in-progress"
    case succeeded
    case failed
    case expired
    case cancelled

    /// Nothing more happens to a command in a final state.
    public var isFinal: Bool {
        switch self {
        case .succeeded, .failed, .expired, .cancelled: true
        case .queued, .dispatched, .delivered, .inProgress: false
        }
    }

    /// Sent to an ingress and not yet answered.
    public var isInFlight: Bool {
        self == .dispatched || self == .delivered || self == .inProgress
    }
}

/// One command of a device's queue as the dispatcher keeps it.
public struct QueuedCommand: Sendable, Equatable {
    /// The command as requested (with file-server credentials: it must be delivered).
    public var command: Twinfleet_Bus_V1_Command
    /// Position in the device's queue (arrival order).
    public var sequence: Int64
    public var state: CommandState
    /// Deliveries so far (the `attempt` of the latest `CommandDelivery`).
    public var dispatches: Int
    /// Retriable failures so far.
    public var failures: Int
    /// Earliest time of the next delivery after a retriable failure.
    public var retryAt: Date?
    /// Session or connection and instance of the latest delivery.
    public var sessionID: String?
    public var instanceID: String?
    public var dispatchedAt: Date?
    /// When the session or connection of the delivery ended before its result was read.
    public var orphanedAt: Date?
    /// A cancellation arrived while the command was in flight: it ends as cancelled instead of
    /// being retried.
    public var cancelRequested: Bool
    public var lastError: Twinfleet_Bus_V1_CommandError?
    public var createdAt: Date
    public var finishedAt: Date?

    public init(command: Twinfleet_Bus_V1_Command, sequence: Int64, createdAt: Date) {
        self.command = command
        self.sequence = sequence
        state = .queued
        dispatches = 0
        failures = 0
        cancelRequested = false
        self.createdAt = createdAt
    }

    public var id: String { command.commandID }
    public var independent: Bool { command.independent }
    public var priority: Int32 { command.priority }
    public var notBefore: Date? { command.notBeforeUs > 0 ? Date(unixMicroseconds: command.notBeforeUs) : nil }
    public var expiresAt: Date? { command.expiresAtUs > 0 ? Date(unixMicroseconds: command.expiresAtUs) : nil }

    /// The CWMP CommandKey a transfer or reboot carries (the command ID unless the command
    /// names its own): a TransferComplete reports under it.
    public var commandKey: String? {
        let own: String
        switch command.kind {
        case .download(let download)?: own = download.commandKey
        case .upload(let upload)?: own = upload.commandKey
        case .reboot(let reboot)?: own = reboot.commandKey
        case .scheduleInform(let schedule)?: own = schedule.commandKey
        case .operate(let operate)?: own = operate.commandKey
        default: return nil
        }
        return own.isEmpty ? command.commandID : own
    }

    /// The kind, as stored (`set-parameters`, `download`, …).
    public var kind: String {
        switch command.kind {
        case .getParameters?: "get-parameters"
        case .setParameters?: "set-parameters"
        case .addObject?: "add-object"
        case .deleteObject?: "delete-object"
        case .reboot?: "reboot"
        case .factoryReset?: "factory-reset"
        case .download?: "download"
        case .upload?: "upload"
        case .operate?: "operate"
        case .refresh?: "refresh"
        case .scheduleInform?: "schedule-inform"
        case .setParameterAttributes?: "set-parameter-attributes"
        case nil: "unknown"
        }
    }

    /// A Download or Upload: it completes after the session, with a TransferComplete.
    var isTransfer: Bool {
        switch command.kind {
        case .download?, .upload?: true
        default: false
        }
    }

    /// True when the command may be delivered at `now` as far as its own times go.
    func isDue(at now: Date) -> Bool {
        if let notBefore, notBefore > now { return false }
        if let retryAt, retryAt > now { return false }
        return true
    }

    func isExpired(at now: Date) -> Bool {
        if let expiresAt { return expiresAt <= now }
        return false
    }

    /// Run order: higher priority first, then arrival order.
    static func runsBefore(_ a: QueuedCommand, _ b: QueuedCommand) -> Bool {
        a.priority != b.priority ? a.priority > b.priority : a.sequence < b.sequence
    }
}
