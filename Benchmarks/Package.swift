// swift-tools-version:6.1
import Foundation
import PackageDescription

// SwiftPM names a path dependency after its folder, which is whatever the checkout is called.
let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().lastPathComponent

// Benchmarks live in their own package so the main build and CI test run stay light.
// Run: `cd Benchmarks && swift package --disable-sandbox benchmark` (release builds).
let package = Package(
    name: "GatewayBenchmarks",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(path: ".."),
        .package(url: "https://github.com/ordo-one/benchmark", from: "1.38.1", traits: ["MallocInterposer"]),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
    ],
    targets: [
        .executableTarget(
            name: "TelemetryBenchmarks",
            dependencies: [
                .product(name: "Benchmark", package: "benchmark"),
                .product(name: "Telemetry", package: root),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ],
            path: "Benchmarks/TelemetryBenchmarks",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ),
        .executableTarget(
            name: "AccessLogBenchmarks",
            dependencies: [
                .product(name: "Benchmark", package: "benchmark"),
                .product(name: "AccessLog", package: root),
            ],
            path: "Benchmarks/AccessLogBenchmarks",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ),
        .systemLibrary(name: "CBenchSSL", path: "Benchmarks/CBenchSSL"),
        .executableTarget(
            name: "GatewayBenchmarks",
            dependencies: [
                "CBenchSSL",
                .product(name: "Benchmark", package: "benchmark"),
                .product(name: "Gateway", package: root),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Benchmarks/GatewayBenchmarks",
            exclude: ["Thresholds"],
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ),
        // Not a benchmark-plugin target: timed outside the harness (see its header).
        .executableTarget(
            name: "TelemetryThreads",
            dependencies: [
                .product(name: "Telemetry", package: root),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ],
            path: "Tools/TelemetryThreads"
        ),
    ]
)
