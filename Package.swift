// swift-tools-version:6.1
import PackageDescription

// Layout: Services/<Name> are executables, Shared/<Module> are libraries, Tools/<Name> are
// developer executables, Tests/<Module>Tests test one module each. Dependency direction:
// Services → (Kafka | ShardedPostgres | codecs) → BusContracts → TwinfleetModel.

let nio: Target.Dependency = .product(name: "NIOCore", package: "swift-nio")
let nioPosix: Target.Dependency = .product(name: "NIOPosix", package: "swift-nio")
let nioLocks: Target.Dependency = .product(name: "NIOConcurrencyHelpers", package: "swift-nio")
let logging: Target.Dependency = .product(name: "Logging", package: "swift-log")
let metrics: Target.Dependency = .product(name: "Metrics", package: "swift-metrics")
let lifecycle: Target.Dependency = .product(name: "ServiceLifecycle", package: "swift-service-lifecycle")
let postgres: Target.Dependency = .product(name: "PostgresNIO", package: "postgres-nio")
let protobuf: Target.Dependency = .product(name: "SwiftProtobuf", package: "swift-protobuf")
let hummingbird: Target.Dependency = .product(name: "Hummingbird", package: "hummingbird")
let prometheus: Target.Dependency = .product(name: "Prometheus", package: "swift-prometheus")
let argumentParser: Target.Dependency = .product(name: "ArgumentParser", package: "swift-argument-parser")
let crypto: Target.Dependency = .product(name: "Crypto", package: "swift-crypto")
let asyncHTTPClient: Target.Dependency = .product(name: "AsyncHTTPClient", package: "async-http-client")

/// A library under Shared/.
func shared(_ name: String, deps: [Target.Dependency], exclude: [String] = []) -> Target {
    .target(name: name, dependencies: deps, path: "Shared/\(name)", exclude: exclude)
}

/// An executable under Services/.
func service(_ name: String, deps: [Target.Dependency]) -> Target {
    .executableTarget(name: name, dependencies: deps, path: "Services/\(name)")
}

/// A test target for one module under Tests/.
func tests(_ name: String, deps: [Target.Dependency]) -> Target {
    .testTarget(name: name, dependencies: deps, path: "Tests/\(name)")
}

let package = Package(
    name: "Twinfleet",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "twinfleet-dev-kafka", targets: ["DevKafka"]),
        .executable(name: "twinfleet-devtool", targets: ["DevTool"]),
        .executable(name: "twinfleet-twin-store", targets: ["TwinStore"]),
        .executable(name: "twinfleet-cwmp-ingress", targets: ["CWMPIngress"]),
        .executable(name: "twinfleet-command-dispatcher", targets: ["CommandDispatcher"]),
        .executable(name: "twinfleet-usp-ingress", targets: ["USPIngress"]),
        .executable(name: "twinfleet-api", targets: ["API"]),
        .executable(name: "twinfleet-cpe-sim", targets: ["CPESim"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.37.6"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-protobuf", from: "1.39.0"),
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.37.0"),
        .package(url: "https://github.com/vapor/postgres-nio", from: "1.33.2"),
        .package(url: "https://github.com/apple/swift-crypto", from: "4.5.2"),
        .package(url: "https://github.com/apple/swift-http-types", from: "1.0.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/hummingbird-project/hummingbird-websocket", from: "2.8.1"),
        .package(url: "https://github.com/hummingbird-project/swift-websocket", from: "1.6.2"),
    ],
    targets: [
        shared("TwinfleetModel", deps: []),
        shared("TwinfleetConfig", deps: []),
        shared("BusContracts", deps: ["TwinfleetModel", protobuf], exclude: ["Protos"]),
        .systemLibrary(
            name: "CRdKafka", path: "Shared/CRdKafka", pkgConfig: "rdkafka",
            providers: [.apt(["librdkafka-dev"])]),
        .systemLibrary(
            name: "CMosquitto", path: "Shared/CMosquitto", pkgConfig: "libmosquitto",
            providers: [.apt(["libmosquitto-dev"])]),
        shared("MQTT", deps: ["CMosquitto", logging, nioLocks]),
        shared("Kafka", deps: ["CRdKafka", "TwinfleetConfig", "BusContracts", protobuf, logging, metrics, lifecycle, nioLocks]),
        shared("ShardedPostgres", deps: ["Kafka", "TwinfleetConfig", nioLocks, "BusContracts", "TwinfleetModel", postgres, protobuf, .product(name: "NIOSSL", package: "swift-nio-ssl"), logging, metrics, lifecycle]),
        shared("ServiceRuntime", deps: ["TwinfleetConfig", hummingbird, logging, metrics, prometheus, lifecycle, nioLocks]),

        shared("CWMPCodec", deps: ["TwinfleetModel"]),
        shared("DataModel", deps: ["TwinfleetModel"]),
        shared("CWMPSession", deps: ["CWMPCodec", "BusContracts", "TwinfleetModel", protobuf]),
        shared("HTTPAuth", deps: [crypto]),
        shared("APIAccess", deps: [crypto]),
        shared("USPCodec", deps: ["BusContracts", "TwinfleetModel", protobuf]),
        shared("USPSession", deps: ["USPCodec", "BusContracts", "TwinfleetModel", protobuf]),
        shared("FleetQuery", deps: ["TwinfleetModel"], exclude: ["LANGUAGE.md"]),
        shared("DeviceSim", deps: ["CWMPCodec", "HTTPAuth", "USPCodec", "MQTT", "DataModel", "TwinfleetModel", asyncHTTPClient, hummingbird, crypto, protobuf,
            .product(name: "WSClient", package: "swift-websocket"), .product(name: "NIOSSL", package: "swift-nio-ssl"), .product(name: "HTTPTypes", package: "swift-http-types"),
            nio, nioPosix, nioLocks, logging, metrics]),
        shared("Twin", deps: ["FleetQuery", "ShardedPostgres", "BusContracts", "TwinfleetModel", "Kafka", postgres, protobuf, logging, lifecycle]),
        shared("Dispatcher", deps: ["ShardedPostgres", "BusContracts", "Kafka", "Twin", "FleetQuery", "TwinfleetModel", postgres, protobuf, logging, metrics, lifecycle, nioLocks]),
        service("CommandDispatcher", deps: ["Dispatcher", "ShardedPostgres", "Kafka", "BusContracts", "ServiceRuntime", "TwinfleetConfig", logging, lifecycle]),
        service("TwinStore", deps: ["Twin", "ShardedPostgres", "Kafka", "BusContracts", "ServiceRuntime", "TwinfleetConfig", logging, lifecycle]),
        service("CWMPIngress", deps: ["CWMPSession", "CWMPCodec", "HTTPAuth", "Kafka", asyncHTTPClient, nio,
            .product(name: "HummingbirdTLS", package: "hummingbird"), .product(name: "HummingbirdCore", package: "hummingbird"),
            .product(name: "NIOSSL", package: "swift-nio-ssl"), "BusContracts", "ServiceRuntime", "TwinfleetConfig", hummingbird, .product(name: "HTTPTypes", package: "swift-http-types"), logging, metrics, lifecycle, nioLocks, protobuf]),
        service("USPIngress", deps: ["USPSession", "USPCodec", "Kafka", "MQTT", "BusContracts", "ServiceRuntime", "TwinfleetConfig", "TwinfleetModel", hummingbird,
            .product(name: "HummingbirdWebSocket", package: "hummingbird-websocket"), .product(name: "HummingbirdTLS", package: "hummingbird"),
            .product(name: "HummingbirdCore", package: "hummingbird"), .product(name: "NIOSSL", package: "swift-nio-ssl"), nio,
            .product(name: "HTTPTypes", package: "swift-http-types"), logging, metrics, lifecycle, nioLocks, protobuf]),
        .executableTarget(
            name: "API",
            dependencies: ["APIAccess", "Twin", "Dispatcher", "DataModel", "FleetQuery", "Kafka", "ShardedPostgres", "BusContracts", "ServiceRuntime",
                "TwinfleetConfig", "TwinfleetModel", hummingbird, .product(name: "HummingbirdTLS", package: "hummingbird"), .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"), .product(name: "HTTPTypes", package: "swift-http-types"), nio, postgres, crypto,
                asyncHTTPClient, .product(name: "NIOHTTP1", package: "swift-nio"), logging, metrics, lifecycle, protobuf],
            path: "Services/API", resources: [.copy("openapi.json")]),
        service("DevKafka", deps: ["Kafka", "ServiceRuntime", "TwinfleetConfig", "BusContracts", "CRdKafka", hummingbird, logging, lifecycle]),
        .executableTarget(
            name: "DevTool",
            dependencies: ["Kafka", "ShardedPostgres", "BusContracts", "ServiceRuntime", "TwinfleetConfig", "Twin", "Dispatcher", "HTTPAuth", "FleetQuery", "DataModel", "TwinfleetModel", "USPCodec", "DeviceSim", protobuf, argumentParser, postgres, logging, lifecycle,
                hummingbird, .product(name: "HummingbirdWebSocket", package: "hummingbird-websocket"), .product(name: "WSClient", package: "swift-websocket"),
                .product(name: "HTTPTypes", package: "swift-http-types"), nio, nioLocks, asyncHTTPClient, .product(name: "UnixSignals", package: "swift-service-lifecycle")],
            path: "Tools/DevTool"),

        .executableTarget(name: "CPESim", dependencies: ["DeviceSim", "ServiceRuntime", argumentParser, hummingbird, logging], path: "Tools/CPESim"),

        .target(name: "TestSupport", dependencies: ["DeviceSim", "Kafka", "ShardedPostgres", "CWMPCodec", "BusContracts", "HTTPAuth", "TwinfleetModel", "USPCodec", "MQTT", protobuf,
            .product(name: "WSClient", package: "swift-websocket"), .product(name: "NIOSSL", package: "swift-nio-ssl"), asyncHTTPClient, hummingbird, .product(name: "HTTPTypes", package: "swift-http-types"), postgres, logging, nioPosix], path: "Tests/TestSupport"),
        tests("TwinfleetModelTests", deps: ["TwinfleetModel"]),
        tests("CWMPSessionTests", deps: ["CWMPSession", "CWMPCodec", "BusContracts", "TwinfleetModel", protobuf]),
        tests("HTTPAuthTests", deps: ["HTTPAuth"]),
        tests("APIAccessTests", deps: ["APIAccess"]),
        tests("APITests", deps: ["TestSupport", "APIAccess", "BusContracts", "TwinfleetModel", "Kafka", asyncHTTPClient, nio, .product(name: "NIOHTTP1", package: "swift-nio"),
            hummingbird, .product(name: "HTTPTypes", package: "swift-http-types"), .product(name: "NIOSSL", package: "swift-nio-ssl"), logging, protobuf]),
        tests("FleetQueryTests", deps: ["FleetQuery"]),
        tests("DeviceSimTests", deps: ["DeviceSim", "DataModel", "HTTPAuth", "TwinfleetModel", "CWMPCodec", asyncHTTPClient, hummingbird, nio, nioLocks]),
        tests("CWMPIngressTests", deps: ["TestSupport", "BusContracts", "Kafka", "HTTPAuth", asyncHTTPClient, protobuf, nio, .product(name: "NIOSSL", package: "swift-nio-ssl")]),
        tests("USPSessionTests", deps: ["USPSession", "USPCodec", "BusContracts", "TwinfleetModel", protobuf]),
        tests("USPIngressTests", deps: ["TestSupport", "USPCodec", "BusContracts", "Kafka", protobuf, nio, nioPosix, .product(name: "NIOSSL", package: "swift-nio-ssl")]),
        tests("USPCodecTests", deps: ["USPCodec", "BusContracts", "TwinfleetModel", protobuf]),
        tests("BusContractsTests", deps: ["BusContracts", "TwinfleetModel", protobuf]),
        tests("KafkaTests", deps: ["Kafka", "TestSupport", "CRdKafka"]),
        tests("ShardedPostgresTests", deps: ["ShardedPostgres", "Kafka", "TestSupport", postgres, nioLocks]),
        tests("CWMPCodecTests", deps: ["CWMPCodec", "TwinfleetModel"]),
        tests("DataModelTests", deps: ["DataModel", "TwinfleetModel"]),
        tests("DispatcherTests", deps: ["Dispatcher", "Twin", "ShardedPostgres", "Kafka", "BusContracts", "TestSupport", "HTTPAuth", postgres, protobuf]),
        tests("TwinTests", deps: ["Twin", "FleetQuery", "ShardedPostgres", "Kafka", "BusContracts", "TwinfleetModel", "TestSupport", postgres, protobuf]),
        tests("ServiceRuntimeTests", deps: ["ServiceRuntime", "TwinfleetConfig", "Kafka", "ShardedPostgres", "TestSupport", asyncHTTPClient, hummingbird]),
    ],
    swiftLanguageModes: [.v6]
)
