import Foundation
import PostgresNIO
import ShardedPostgres
import Testing
import TestSupport

/// `NullableArray` against a real PostgreSQL: NULL elements stay NULL, the others read back as
/// bound, and an empty array is an empty array.
@Suite struct NullableArrayTests {
    let environment: TestEnvironment
    init() throws { environment = try TestEnvironment.current() }

    @Test func nullElementsStayNullAndOthersReadBackAsBound() async throws {
        let databases = try await TestDatabases.create(shards: 1, in: environment)
        try await withShardedPostgres(databases, partitionCount: 4) { postgres in
            let logger = TestEnvironment.logger
            let shard = postgres.client(forShard: 0)
            let texts: [String?] = ["a", nil, "", "ünï ✓", nil, String(repeating: "x", count: 5_000)]
            let numbers: [Int32?] = [1, nil, -7, Int32.max, nil, 0]
            let dates: [Date?] = [Date(timeIntervalSince1970: 1_795_000_000.123456), nil, Date(timeIntervalSince1970: -1.5), nil, Date(timeIntervalSince1970: 0), nil]
            let rows = try await shard.query("""
                SELECT n::int, t, t IS NULL, i, i IS NULL, d, d IS NULL
                FROM unnest(\(NullableArray(texts))::text[], \(NullableArray(numbers))::int[], \(NullableArray(dates))::timestamptz[])
                  WITH ORDINALITY AS x(t, i, d, n)
                ORDER BY n
                """, logger: logger)
            var seen = 0
            for try await (n, text, textIsNull, number, numberIsNull, date, dateIsNull) in rows.decode((Int, String?, Bool, Int32?, Bool, Date?, Bool).self) {
                let index = n - 1
                #expect(text == texts[index])
                #expect(textIsNull == (texts[index] == nil))
                #expect(number == numbers[index])
                #expect(numberIsNull == (numbers[index] == nil))
                #expect(dateIsNull == (dates[index] == nil))
                if let expected = dates[index] {
                    let got = try #require(date)
                    #expect(abs(got.timeIntervalSince(expected)) < 0.000_001)
                }
                seen += 1
            }
            #expect(seen == texts.count)
            // Empty: no rows, and its length is NULL like any empty PostgreSQL array's.
            let empty = try await shard.query(
                "SELECT cardinality(\(NullableArray([String?]()))::text[])::int", logger: logger)
            for try await count in empty.decode(Int.self) { #expect(count == 0) }
            // Only NULLs.
            let nulls = try await shard.query(
                "SELECT count(*)::int, count(x)::int FROM unnest(\(NullableArray([Int32?](repeating: nil, count: 3)))::int[]) AS x", logger: logger)
            for try await (all, nonNull) in nulls.decode((Int, Int).self) {
                #expect(all == 3)
                #expect(nonNull == 0)
            }
        }
    }
}
