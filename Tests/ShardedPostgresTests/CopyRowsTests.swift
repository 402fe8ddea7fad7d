import Foundation
import Logging
import PostgresNIO
import ShardedPostgres
import Testing
import TestSupport

/// `CopyRows` against a real PostgreSQL: what goes in with COPY reads back as it was written,
/// and a timestamp copied equals the same `Date` bound as a parameter.
@Suite struct CopyRowsTests {
    let environment: TestEnvironment
    init() throws { environment = try TestEnvironment.current() }

    @Test func copiedRowsReadBackExactlyAndTimestampsMatchBoundDates() async throws {
        let databases = try await TestDatabases.create(shards: 1, in: environment)
        try await withShardedPostgres(databases, partitionCount: 4) { postgres in
            let logger = TestEnvironment.logger
            let shard = postgres.client(forShard: 0)
            try await shard.query("CREATE TABLE copy_t (id int, label text, flag boolean, at timestamptz)", logger: logger)
            let texts: [String?] = [
                "plain", "tab\there", "line\nbreak", "carriage\rreturn", #"back\slash"#, #"\N"#, "", nil,
                "ünïcödé ✓ 日本", String(repeating: "x", count: 10_000),
            ]
            let dates = [
                Date(timeIntervalSince1970: 0), Date(timeIntervalSince1970: 1_795_000_000.123456),
                Date(timeIntervalSince1970: 1_795_000_000.9999999), Date(timeIntervalSince1970: -1.5),
                Date(timeIntervalSince1970: 951_782_400.000001), // 2000-02-29
                Date(timeIntervalSince1970: -62_000_000_000), // year 35
                Date(timeIntervalSince1970: 4_102_444_799.999999), // 2099-12-31 23:59:59.999999
                Date(),
            ]
            var rows = CopyRows()
            for index in 0..<max(texts.count, dates.count) {
                rows.integer(index)
                rows.text(texts[index % texts.count])
                rows.boolean(index % 3 == 0 ? nil : index % 3 == 1)
                rows.timestamp(dates[index % dates.count])
                rows.endRow()
            }
            #expect(rows.count == max(texts.count, dates.count))
            try await shard.withConnection { connection in
                try await rows.copy(into: "copy_t", columns: ["id", "label", "flag", "at"], connection: connection, logger: logger)
            }

            for index in 0..<rows.count {
                let date = dates[index % dates.count]
                let read = try await shard.query(
                    "SELECT label, flag, at = \(date) FROM copy_t WHERE id = \(index)", logger: logger
                ).collect()
                #expect(read.count == 1)
                let (label, flag, sameInstant) = try read[0].decode((String?, Bool?, Bool).self)
                #expect(label == texts[index % texts.count], "row \(index)")
                #expect(flag == (index % 3 == 0 ? nil : index % 3 == 1), "row \(index)")
                #expect(sameInstant, "row \(index): \(date) copied as a different instant")
            }
            // Nothing to copy: no statement, no error.
            try await shard.withConnection { connection in
                try await CopyRows().copy(into: "copy_t", columns: ["id"], connection: connection, logger: logger)
            }
            let total = try await shard.query("SELECT count(*)::int FROM copy_t", logger: logger).collect()
            #expect(try total[0].decode(Int.self) == rows.count)
        }
    }
}
