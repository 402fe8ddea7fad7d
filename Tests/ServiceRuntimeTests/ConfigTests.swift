import Foundation
import Kafka
import ServiceRuntime
import ShardedPostgres
import Testing
import TwinfleetConfig

@Suite struct ConfigTests {
    @Test func keysMapToEnvironmentVariables() {
        #expect(ConfigKey.kafkaBrokers.environmentName == "KAFKA_BROKERS")
        #expect(ConfigKey.postgresControlURL.environmentName == "POSTGRES_CONTROL_URL")
        #expect(ConfigKey.httpPort.environmentName == "HTTP_PORT")
    }

    @Test func valuesDefaultsAndErrors() throws {
        let config = ServiceConfig(environment: ["HTTP_PORT": "9000", "KAFKA_PARTITIONS": "x", "LOG_LEVEL": "loud"])
        #expect(try config.int(.httpPort) == 9000)
        #expect(try config.string(.kafkaBrokers) == "127.0.0.1:9092")
        do {
            _ = try config.int(.kafkaPartitions)
            Issue.record("a non-integer must be refused")
        } catch {
            #expect(error.description.contains("KAFKA_PARTITIONS"))
        }
        #expect(throws: ConfigError.self) { try RuntimeConfig(config: config) }
        #expect(throws: ConfigError.self) { try ServiceConfig(environment: ["HTTP_PORT": "70000"]).int(.httpPort, in: 0...65535) }
        #expect(throws: ConfigError.self) { try RuntimeConfig(config: ServiceConfig(environment: ["INSTANCE_ID": "Pod_1"])) }
        let runtime = try RuntimeConfig(config: ServiceConfig(environment: ["LOG_FORMAT": "text", "INSTANCE_ID": "cwmp-3"]))
        #expect(runtime.jsonLogs == false)
        #expect(runtime.instanceID == "cwmp-3")
    }

    @Test func kafkaPropertiesAreParsed() throws {
        let config = ServiceConfig(environment: ["KAFKA_BROKERS": "k:1", "KAFKA_PROPERTIES": "security.protocol=ssl; linger.ms = 7"])
        let kafka = try KafkaConfiguration(config: config, clientID: "t")
        #expect(kafka["bootstrap.servers"] == "k:1")
        #expect(kafka["security.protocol"] == "ssl")
        #expect(kafka["linger.ms"] == "7")
        #expect(kafka["partitioner"] == "murmur2_random")
        #expect(throws: ConfigError.self) { try KafkaConfiguration(config: ServiceConfig(environment: ["KAFKA_PROPERTIES": "novalue"]), clientID: "t") }
    }

    @Test func everyKeyIsDocumented() throws {
        let docs = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("docs/CONFIGURATION.md")
        let text = try String(contentsOf: docs, encoding: .utf8)
        for key in ConfigKey.runtimeKeys + ConfigKey.kafkaKeys + ConfigKey.postgresKeys {
            #expect(text.contains("`\(key.environmentName)`"), "\(key.environmentName) missing from docs/CONFIGURATION.md")
        }
    }

    /// Services declare their own keys (`ConfigKey("scope.name", …)`), which this module cannot
    /// import: their sources are read instead.
    @Test func everyServiceKeyIsDocumented() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let text = try String(contentsOf: root.appendingPathComponent("docs/CONFIGURATION.md"), encoding: .utf8)
        var found = 0
        for folder in ["Services", "Tools"] {
            let base = root.appendingPathComponent(folder)
            guard let files = FileManager.default.enumerator(at: base, includingPropertiesForKeys: nil) else { continue }
            for case let file as URL in files where file.pathExtension == "swift" {
                let source = try String(contentsOf: file, encoding: .utf8)
                var rest = source[...]
                while let start = rest.range(of: "ConfigKey(\"") {
                    let name = rest[start.upperBound...].prefix { $0 != "\"" }
                    rest = rest[start.upperBound...]
                    let key = ConfigKey(String(name), default: nil, "")
                    found += 1
                    #expect(text.contains("`\(key.environmentName)`"), "\(key.environmentName) (\(file.lastPathComponent)) missing from docs/CONFIGURATION.md")
                }
            }
        }
        #expect(found > 20)
    }

    @Test func jsonLogLinesEscapeEverything() {
        var line = ""
        JSONLogHandler.appendQuoted("a\"b\\c\nd\u{1}", to: &line)
        #expect(line == #""a\"b\\c\nd\u0001""#)
    }
}
