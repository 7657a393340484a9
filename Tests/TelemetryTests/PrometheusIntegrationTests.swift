import Foundation
import TestSupport
import Testing

@testable import Telemetry

/// A real Prometheus 2.42 scrapes the registry over HTTP (protobuf, with native histograms) and the
/// test reads the data back through Prometheus' HTTP API.
// A bound that catches a hang, with room for a loaded machine (CI shares two cores with everything).
@Suite(.timeLimit(.minutes(3))) struct PrometheusIntegrationTests {
    @Test func prometheusScrapesCountersBucketsNativeHistogramsAndExemplars() async throws {
        let registry = MetricRegistry(writerCapacity: 1)
        let writer = try registry.registerWriter()
        try registry.counter("test_requests_total", help: "Requests.", labelNames: ["route"]).handle(["api"])
            .increment(by: 42, on: writer)
        let classic = try registry.histogram(
            "test_classic_seconds",
            help: "Classic only.",
            buckets: [0.1, 0.5, 1],
            native: nil,
            exemplarLabelName: "request_id"
        ).handle()
        for value in [0.05, 0.2, 0.3, 0.7, 3] {
            classic.observe(value, on: writer)
        }
        classic.observe(0.4, exemplar: "req-7f3a", on: writer)
        let native = try registry.histogram("test_native_seconds", help: "Native.").handle()
        for step in 1...100 {
            native.observe(Double(step) / 100, on: writer)
        }

        let server = try ScrapeServer(registry: registry)
        defer { server.stop() }
        let directory = try TestFiles.makeTemporaryDirectory("telemetry-prometheus")
        defer { try? FileManager.default.removeItem(at: directory) }
        let prometheus = try PrometheusServer(
            target: "127.0.0.1:\(server.port)",
            job: "telemetry",
            features: ["native-histograms", "exemplar-storage"],
            in: directory
        )
        do {
            try await Self.check(prometheus, server)
        } catch {
            await prometheus.stop()
            throw error
        }
        await prometheus.stop()
    }

    /// What Prometheus asked for and read back.
    static func check(_ prometheus: PrometheusServer, _ server: ScrapeServer) async throws {
        try await prometheus.waitForUp(timeout: .seconds(40))
        #expect(server.acceptHeaders.withLock { $0.first }?.hasPrefix("application/vnd.google.protobuf") == true)

        #expect(try await prometheus.scalar("test_requests_total{route=\"api\"}") == 42)
        #expect(try await prometheus.scalar("test_classic_seconds_bucket{le=\"0.5\"}") == 4)
        #expect(try await prometheus.scalar("test_classic_seconds_bucket{le=\"+Inf\"}") == 6)
        #expect(try await prometheus.scalar("test_classic_seconds_count") == 6)
        #expect(try await prometheus.scalar("histogram_count(test_native_seconds)") == 100)
        let sum = try #require(try await prometheus.scalar("histogram_sum(test_native_seconds)"))
        #expect(abs(sum - 50.5) < 1e-9)
        // Schema 3 buckets are ~9% wide: the median of 0.01...1.00 must land near 0.5.
        let median = try #require(try await prometheus.scalar("histogram_quantile(0.5, test_native_seconds)"))
        #expect(median > 0.45 && median < 0.56)
        // The native histogram replaces the classic series in Prometheus 2.42.
        #expect(try await prometheus.scalar("test_native_seconds_count") == nil)

        let exemplars = try await prometheus.exemplars("test_classic_seconds_bucket")
        #expect(exemplars.contains { $0.labels["request_id"] == "req-7f3a" && $0.value == 0.4 })
    }
}
