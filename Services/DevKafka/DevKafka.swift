import BusContracts
import Foundation
import Hummingbird
import Kafka
import Logging
import ServiceRuntime
import TwinfleetConfig

extension ConfigKey {
    static let devKafkaBrokers = ConfigKey("devkafka.brokers", default: "3", "Dev broker: number of mock brokers")
    static let devKafkaInstances = ConfigKey("devkafka.instances", default: "cwmp-0,usp-0", "Dev broker: ingress instance IDs whose delivery inbox topics are created at start")
    static let devKafkaTopics = ConfigKey("devkafka.topics", default: "", "Dev broker: extra topics to create at start")
    static let devKafkaBootstrapFile = ConfigKey("devkafka.bootstrap-file", default: "", "Dev broker: file that receives the bootstrap address once listening")
    static let devKafkaKeys: [ConfigKey] = [.devKafkaBrokers, .devKafkaInstances, .devKafkaTopics, .devKafkaBootstrapFile]
}

/// A topic creation request on the dev broker's admin endpoint.
struct TopicRequest: Codable {
    var name: String
    var partitions: Int32
}

/// The development Kafka broker: librdkafka's mock cluster in a process of its own, with the
/// Twinfleet topics created at start, an admin endpoint to create more (`POST /topics`), and the
/// usual operations endpoints. Everything is in memory and gone when it stops.
@main
struct DevKafka {
    static func main() async throws {
        let boot = ServiceBootstrap.start(service: "twinfleet-dev-kafka")
        let brokers = boot.require { try $0.int(.devKafkaBrokers, in: 1...9) }
        let partitions = boot.require { try $0.int(.kafkaPartitions, in: 1...10_000) }
        let instances = boot.require { try $0.list(.devKafkaInstances) }
        let extraTopics = boot.require { try $0.list(.devKafkaTopics) }
        let bootstrapFile = boot.require { $0.optionalString(.devKafkaBootstrapFile) ?? "" }
        let logger = boot.logger

        let cluster = try MockCluster(brokers: Int32(brokers))
        for topic in try Topic.all(instances: instances) + extraTopics {
            try cluster.createTopic(topic, partitions: Int32(partitions))
        }
        boot.health.set("mock-cluster", ready: true)

        let server = OperationsServer.application(
            runtime: boot.runtime, health: boot.health, registry: boot.registry, logger: logger,
            extraRoutes: { router in addAdminRoutes(router, cluster: cluster) },
            onListening: { port in
                // The file first, the line second: whoever waits for the line may read the file.
                if !bootstrapFile.isEmpty {
                    do {
                        try Data((cluster.bootstrapServers + "\n").utf8).write(to: URL(fileURLWithPath: bootstrapFile), options: .atomic)
                    } catch {
                        logger.error("could not write the bootstrap file", metadata: ["path": "\(bootstrapFile)", "error": "\(error)"])
                    }
                }
                let line = "bootstrap=\(cluster.bootstrapServers) http=\(boot.runtime.httpHost):\(port)"
                FileHandle.standardOutput.write(Data("twinfleet-dev-kafka: \(line)\n".utf8))
                logger.info("dev broker listening (in memory only)", metadata: ["bootstrap": "\(cluster.bootstrapServers)", "http.port": "\(port)"])
            })
        try await boot.run([cluster, server])
    }

    static func addAdminRoutes(_ router: Router<BasicRequestContext>, cluster: MockCluster) {
        router.get("/bootstrap") { _, _ in cluster.bootstrapServers }
        router.get("/topics") { _, _ -> Response in
            let body = cluster.createdTopics.sorted { $0.key < $1.key }
                .map { "{\"name\":\"\($0.key)\",\"partitions\":\($0.value)}" }.joined(separator: ",")
            return Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: .init(string: "[\(body)]")))
        }
        router.post("/topics") { request, context -> Response in
            let topic: TopicRequest
            do {
                topic = try await request.decode(as: TopicRequest.self, context: context)
            } catch {
                return problem(.badRequest, "body must be {\"name\": string, \"partitions\": integer}")
            }
            guard (1...10_000).contains(topic.partitions), !topic.name.isEmpty, topic.name.count <= 249,
                  topic.name.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "._-".contains($0)) }) else {
                return problem(.unprocessableContent, "invalid topic name or partition count")
            }
            do {
                try cluster.createTopic(topic.name, partitions: topic.partitions)
            } catch let error as KafkaError {
                return problem(.conflict, error.message)
            } catch {
                return problem(.internalServerError, "\(error)")
            }
            return Response(status: .created, headers: [.contentType: "application/json"],
                            body: .init(byteBuffer: .init(string: "{\"name\":\"\(topic.name)\",\"partitions\":\(topic.partitions)}")))
        }
    }

    static func problem(_ status: HTTPResponse.Status, _ detail: String) -> Response {
        ProblemResponse.make(status, detail)
    }
}
