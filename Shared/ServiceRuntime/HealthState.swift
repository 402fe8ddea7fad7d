import NIOConcurrencyHelpers

/// Readiness of a process: named checks that must all pass before `/health/ready` answers 200.
///
/// Liveness (`/health/live`) only says the process serves HTTP; readiness says it can do its work
/// (broker reachable, migrations applied, partitions assigned…). Components mark themselves.
public final class HealthState: Sendable {
    private let checks = NIOLockedValueBox<[String: Bool]>([:])
    private let shuttingDown = NIOLockedValueBox(false)

    /// Creates an empty state (ready, since nothing is pending).
    public init() {}

    /// Declares a check that starts out failing.
    public func register(_ name: String) {
        checks.withLockedValue { $0[name] = $0[name] ?? false }
    }

    /// Sets a check's result.
    public func set(_ name: String, ready: Bool) {
        checks.withLockedValue { $0[name] = ready }
    }

    /// Marks the process as draining: readiness fails so load balancers stop sending work.
    public func beginShutdown() {
        shuttingDown.withLockedValue { $0 = true }
    }

    /// Names of failing checks (empty when ready).
    public var failing: [String] {
        var names = checks.withLockedValue { $0.filter { !$0.value }.map(\.key) }.sorted()
        if shuttingDown.withLockedValue({ $0 }) { names.append("shutting-down") }
        return names
    }

    /// Whether every check passes.
    public var isReady: Bool { failing.isEmpty }
}
