import AsyncHTTPClient
import Foundation
import NIOConcurrencyHelpers

/// An executable of ours started by a test, with its stdout collected line by line.
public final class ChildProcess: Sendable {
    private let process: Process
    private let lines = NIOLockedValueBox<[String]>([])
    private let errorTail = NIOLockedValueBox<String>("")

    /// Starts `executable` (a product name in the bin directory) with arguments and environment.
    public init(_ executable: String, _ arguments: [String], environment: TestEnvironment, variables: [String: String]) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: environment.binDirectory).appendingPathComponent(executable)
        process.arguments = arguments
        process.environment = variables
        let out = Pipe()
        let err = Pipe()
        process.standardOutput = out
        process.standardError = err
        let lines = self.lines
        let buffer = NIOLockedValueBox(Data())
        out.fileHandleForReading.readabilityHandler = { handle in
            let data = handle.availableData
            buffer.withLockedValue { pending in
                pending.append(data)
                while let newline = pending.firstIndex(of: UInt8(ascii: "\n")) {
                    let line = String(decoding: pending[pending.startIndex..<newline], as: UTF8.self)
                    pending.removeSubrange(pending.startIndex...newline)
                    lines.withLockedValue { $0.append(line) }
                }
            }
        }
        let errorTail = self.errorTail
        // With TWINFLEET_TEST_CHILD_LOGS set, every child's whole stderr is kept there too.
        let logFile: FileHandle? = ProcessInfo.processInfo.environment["TWINFLEET_TEST_CHILD_LOGS"].flatMap { directory in
            let path = "\(directory)/\(executable)-\(UUID().uuidString.prefix(8)).log"
            FileManager.default.createFile(atPath: path, contents: nil)
            return FileHandle(forWritingAtPath: path)
        }
        err.fileHandleForReading.readabilityHandler = { handle in
            let data = handle.availableData
            logFile?.write(data)
            let text = String(decoding: data, as: UTF8.self)
            errorTail.withLockedValue { $0 = String(($0 + text).suffix(4000)) }
        }
        try process.run()
        self.process = process
        ChildProcess.register(process.processIdentifier)
    }

    /// Children still running when the test process exits (one a test kept referenced to the
    /// end, so no deinit ran) are killed then, not left behind on the machine.
    private static let running: NIOLockedValueBox<Set<Int32>> = {
        atexit {
            for pid in ChildProcess.running.withLockedValue({ $0 }) { kill(pid, SIGKILL) }
        }
        return NIOLockedValueBox([])
    }()

    private static func register(_ pid: Int32) {
        running.withLockedValue { _ = $0.insert(pid) }
    }

    /// Lines printed so far.
    public var output: [String] { lines.withLockedValue { $0 } }

    /// The last few kilobytes of standard error (for failure messages).
    public var standardErrorTail: String { errorTail.withLockedValue { $0 } }

    /// Lines parsed as JSON objects.
    public var events: [[String: Any]] {
        output.compactMap { line in
            (try? JSONSerialization.jsonObject(with: Data(line.utf8))) as? [String: Any]
        }
    }

    /// Whether the process is still running.
    public var isRunning: Bool { process.isRunning }

    /// Sends a signal (SIGKILL for a crash, SIGTERM for a graceful stop).
    public func signal(_ signal: Int32) {
        kill(process.processIdentifier, signal)
    }

    /// Waits for exit and returns the status, or nil after the timeout.
    public func waitForExit(timeout: Duration) async -> Int32? {
        let deadline = ContinuousClock.now + timeout
        while process.isRunning {
            if ContinuousClock.now > deadline { return nil }
            try? await Task.sleep(for: .milliseconds(50))
        }
        return process.terminationStatus
    }

    deinit {
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        ChildProcess.running.withLockedValue { _ = $0.remove(process.processIdentifier) }
    }
}

/// Polls `condition` until it holds or the timeout passes; returns whether it held.
public func eventually(timeout: Duration, every interval: Duration = .milliseconds(100), _ condition: () async throws -> Bool) async rethrows -> Bool {
    let deadline = ContinuousClock.now + timeout
    while ContinuousClock.now < deadline {
        if try await condition() { return true }
        try? await Task.sleep(for: interval)
    }
    return try await condition()
}

/// A TCP port on 127.0.0.1 that nothing listens on now, below Linux's ephemeral range
/// (32768–60999), so that no client connection of the suite (Kafka, PostgreSQL, HTTP) can take
/// it between this check and the server binding it.
public func freeLocalPort() -> Int {
    for _ in 0..<200 {
        let port = Int.random(in: 10_000..<32_000)
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { continue }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        if bound == 0 { return port }
    }
    return Int.random(in: 10_000..<32_000)
}

/// Waits until a service's `/health/ready` on 127.0.0.1:`opsPort` answers 200.
public func waitUntilReady(opsPort: Int, timeout: Duration = .seconds(60)) async -> Bool {
    await eventually(timeout: timeout, every: .milliseconds(250)) {
        let response = try? await HTTPClient.shared.execute(HTTPClientRequest(url: "http://127.0.0.1:\(opsPort)/health/ready"), timeout: .seconds(2))
        return response?.status == .ok
    }
}
