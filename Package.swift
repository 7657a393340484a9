// swift-tools-version:6.1
import PackageDescription

let package = Package(
    name: "Gateway",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "gateway", targets: ["GatewayCLI"]),
        .library(name: "Gateway", targets: ["Gateway"]),
        .library(name: "Telemetry", targets: ["Telemetry"]),
        .library(name: "AccessLog", targets: ["AccessLog"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-crypto", from: "3.12.3"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-protobuf", from: "1.39.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
    ],
    targets: [
        .systemLibrary(
            name: "CLiburing",
            path: "Sources/CLiburing",
            providers: [.apt(["liburing-dev"])]
        ),
        .systemLibrary(name: "CEpoll", path: "Sources/CEpoll"),
        .systemLibrary(
            name: "CSSL",
            path: "Sources/CSSL",
            providers: [.apt(["libssl-dev"])]
        ),
        // HTTP/2 framing, HPACK and flow control for client connections (the library curl and httpd use).
        .systemLibrary(
            name: "CNghttp2",
            path: "Sources/CNghttp2",
            providers: [.apt(["libnghttp2-dev"])]
        ),
        .systemLibrary(
            name: "CZlib",
            path: "Sources/CZlib",
            providers: [.apt(["zlib1g-dev"])]
        ),
        .systemLibrary(
            name: "CZstd",
            path: "Sources/CZstd",
            providers: [.apt(["libzstd-dev"])]
        ),
        .target(
            name: "Telemetry",
            dependencies: [
                "CZlib",
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
            ],
            exclude: ["Proto/metrics.proto"]
        ),
        .target(
            name: "AccessLog",
            dependencies: ["CZstd"]
        ),
        // W3C trace context, span records the workers push into per-worker rings, and the OTLP/HTTP
        // exporter thread that batches them.
        .target(
            name: "Tracing",
            dependencies: [
                "AccessLog",
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
            ],
            exclude: [
                "Proto/common.proto", "Proto/resource.proto", "Proto/trace.proto", "Proto/trace_service.proto",
            ]
        ),
        .target(
            name: "Gateway",
            dependencies: [
                "Tracing",
                "CLiburing",
                "CEpoll",
                "CSSL",
                "CNghttp2",
                "Telemetry",
                "AccessLog",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Yams", package: "Yams"),
                // jwt-auth: ECDSA and (from _CryptoExtras) RSA signature verification. HS* use the
                // gateway's own allocation-free SHA-2 HMAC (Plugins/Auth/HMACKey.swift).
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "_CryptoExtras", package: "swift-crypto"),
            ]
        ),
        .executableTarget(
            name: "GatewayCLI",
            dependencies: [
                "Gateway",
                "AccessLog",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            // Idle memory: packed relative relocations (RELR) shrink the 2 MB relocation table the
            // loader reads at start to ~16 KB, and not exporting every symbol dynamically drops a
            // ~0.8 MB dynamic symbol table it would page in. Together ~2.5 MB less resident at idle.
            linkerSettings: [
                .unsafeFlags(
                    [
                        "-use-ld=lld", "-Xlinker", "-z", "-Xlinker", "pack-relative-relocs", "-Xlinker",
                        "--no-export-dynamic",
                    ],
                    .when(platforms: [.linux])
                )
            ]
        ),
        // Helpers the test targets share (child processes, commands, polling, ports, a real Prometheus):
        // Foundation only, nothing from the package.
        .target(name: "TestSupport", path: "Tests/TestSupport"),
        .testTarget(name: "TelemetryTests", dependencies: ["Telemetry", "TestSupport"]),
        .testTarget(name: "AccessLogTests", dependencies: ["AccessLog", "TestSupport"]),
        .testTarget(name: "TracingTests", dependencies: ["Tracing", "TestSupport"]),
        .testTarget(
            name: "GatewayTests",
            dependencies: [
                "Gateway",
                "TestSupport",
                // SHA2Tests cross-checks the gateway's own SHA-2 and HMAC against swift-crypto's.
                .product(name: "Crypto", package: "swift-crypto"),
            ]
        ),
    ]
)
