import Logging
import PostgresNIO

/// Runs `work` (given the connection that holds the lock) while this process holds a session-level advisory lock on one connection of
/// `client`: the way one replica among many is elected to do a job (relay a shard's outbox, fan
/// out bulk operations). Returns false at once when another session holds the lock. The lock is
/// released before the connection goes back to the pool, whether `work` returns or throws (a
/// dead connection releases it by itself).
public func withAdvisoryLeadership(
    _ client: PostgresClient, key: Int64, logger: Logger, _ work: (PostgresConnection) async throws -> Void
) async throws -> Bool {
    try await client.withConnection { connection in
        var leader = false
        for try await locked in try await connection.query("SELECT pg_try_advisory_lock(\(key))", logger: logger).decode(Bool.self) {
            leader = locked
        }
        guard leader else { return false }
        do { try await work(connection) } catch {
            _ = try? await connection.query("SELECT pg_advisory_unlock(\(key))", logger: logger)
            throw error
        }
        _ = try? await connection.query("SELECT pg_advisory_unlock(\(key))", logger: logger)
        return true
    }
}
