import Dispatch
@testable import Kafka
import Testing

/// The hand-off between the consumer's poll thread and its reader: what was fetched while the
/// reader was busy comes as one batch (up to the largest batch size), each chunk taken frees a
/// fetch slot, and the sequence ends on finish or when the reader's task is cancelled.
@Suite struct ChunkBufferTests {
    private func chunk(_ offsets: ClosedRange<Int64>) -> [ConsumedRecord] {
        offsets.map { ConsumedRecord(topic: "t", partition: 0, offset: $0, key: nil, value: []) }
    }

    @Test func chunksFetchedWhileTheReaderWasBusyComeAsOneBatch() async {
        let slots = DispatchSemaphore(value: 0)
        let buffer = ChunkBuffer(slots: slots, maxBatchSize: 5)
        buffer.append(chunk(0...1))
        buffer.append(chunk(2...2))
        buffer.append(chunk(3...5))
        // 2 + 1 records fit in 5; the next chunk of 3 would not.
        #expect(await buffer.next()?.map(\.offset) == [0, 1, 2])
        #expect(buffer.taken == 2)
        #expect(await buffer.next()?.map(\.offset) == [3, 4, 5])
        #expect(buffer.taken == 3)
        // Three chunks taken: three slots freed, and no more.
        for _ in 0..<3 { #expect(slots.wait(timeout: .now()) == .success) }
        #expect(slots.wait(timeout: .now()) == .timedOut)
        buffer.finish()
        #expect(await buffer.next() == nil)
    }

    @Test func aWaitingReaderGetsTheNextChunkAtOnce() async {
        let buffer = ChunkBuffer(slots: DispatchSemaphore(value: 0), maxBatchSize: 10)
        let reader = Task { await buffer.next()?.map(\.offset) }
        // Give the reader time to wait (if it has not, the chunk is buffered: same result).
        try? await Task.sleep(for: .milliseconds(50))
        buffer.append(chunk(7...8))
        #expect(await reader.value == [7, 8])
        #expect(buffer.taken == 1)
    }

    @Test func cancellingAWaitingReaderEndsItsBatchWithoutLosingLaterChunks() async {
        let buffer = ChunkBuffer(slots: DispatchSemaphore(value: 0), maxBatchSize: 10)
        let reader = Task { await buffer.next() }
        try? await Task.sleep(for: .milliseconds(50))
        reader.cancel()
        #expect(await reader.value == nil)
        buffer.append(chunk(1...2))
        #expect(await buffer.next()?.map(\.offset) == [1, 2])
    }
}
