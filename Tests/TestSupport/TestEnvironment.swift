import AsyncHTTPClient
import Foundation
import Kafka
import Logging
import NIOCore
import PostgresNIO
import ShardedPostgres

/// What the test command (scripts/test.sh) starts and passes to the tests through the environment.
///
/// Tests fail (never skip) when something is missing: run them through `scripts/test.sh`.
public struct TestEnvironment: Sendable {
    /// Dev broker bootstrap servers.
    public let kafkaBrokers: String
    /// Dev broker operations/admin URL, e.g. `http://127.0.0.1:19092`.
    public let devKafkaURL: String
    /// Superuser URL of the throwaway PostgreSQL server (database `postgres`).
    public let postgresURL: String
    /// Folder with the built executables.
    public let binDirectory: String
    /// Partitions of the dev broker's platform topics.
    public let partitionCount: Int32
    /// Port of the mosquitto broker on 127.0.0.1.
    public let mqttPort: Int

    /// A missing variable.
    public struct Missing: Error, CustomStringConvertible {
        public let description: String
    }

    /// Reads the environment set by scripts/test.sh.
    public static func current() throws -> TestEnvironment {
        let env = ProcessInfo.processInfo.environment
        func need(_ name: String) throws -> String {
            guard let value = env[name], !value.isEmpty else {
                throw Missing(description: "\(name) is not set: run the tests with scripts/test.sh, which starts PostgreSQL, the dev broker and mosquitto")
            }
            return value
        }
        return TestEnvironment(
            kafkaBrokers: try need("TWINFLEET_TEST_KAFKA_BROKERS"),
            devKafkaURL: try need("TWINFLEET_TEST_DEVKAFKA_URL"),
            postgresURL: try need("TWINFLEET_TEST_POSTGRES_URL"),
            binDirectory: try need("TWINFLEET_TEST_BIN_DIR"),
            partitionCount: Int32(try need("TWINFLEET_TEST_KAFKA_PARTITIONS")) ?? 12,
            mqttPort: Int(try need("TWINFLEET_TEST_MQTT_PORT")) ?? 1883)
    }

    /// A logger for tests (warnings and above).
    public static let logger: Logger = {
        var logger = Logger(label: "twinfleet-tests")
        logger.logLevel = .warning
        return logger
    }()

    /// Kafka configuration pointing at the dev broker.
    public func kafka(clientID: String = "twinfleet-tests") -> KafkaConfiguration {
        KafkaConfiguration(brokers: kafkaBrokers, clientID: clientID)
    }

    /// A name no other test uses.
    public static func unique(_ prefix: String) -> String {
        "\(prefix)-\(UUID().uuidString.prefix(8).lowercased())"
    }

    /// Creates a topic on the dev broker with a partition count (through its admin endpoint).
    public func createTopic(_ name: String, partitions: Int32) async throws {
        var request = HTTPClientRequest(url: "\(devKafkaURL)/topics")
        request.method = .POST
        request.headers.add(name: "content-type", value: "application/json")
        request.body = .bytes(ByteBuffer(string: "{\"name\":\"\(name)\",\"partitions\":\(partitions)}"))
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(10))
        guard response.status == .created else {
            let body = try await response.body.collect(upTo: 1 << 16)
            throw Missing(description: "topic creation failed: \(response.status) \(String(buffer: body))")
        }
    }

    /// Environment for a child executable: the platform variables pointing at the test servers.
    public func childEnvironment(postgres: TestDatabases? = nil, extra: [String: String] = [:]) -> [String: String] {
        var env = ProcessInfo.processInfo.environment
        env["KAFKA_BROKERS"] = kafkaBrokers
        env["KAFKA_PARTITIONS"] = String(partitionCount)
        env["LOG_FORMAT"] = "text"
        if let postgres {
            env["POSTGRES_CONTROL_URL"] = postgres.controlURL
            env["POSTGRES_SHARDS"] = postgres.shardURLs.joined(separator: ",")
        }
        env.merge(extra) { _, new in new }
        return env
    }
}
