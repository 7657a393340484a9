import Foundation
import Testing

@testable import Telemetry

#if canImport(Glibc)
import Glibc
#endif

/// A real Prometheus 2.42 scrapes the registry over HTTP (protobuf, with native histograms) and the
/// test reads the data back through Prometheus' HTTP API.
@Suite(.timeLimit(.minutes(1))) struct PrometheusIntegrationTests {
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
        let prometheus = try PrometheusProcess(target: "127.0.0.1:\(server.port)")
        defer { prometheus.stop() }

        try await prometheus.waitForUp()
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

/// A Prometheus server started for one test, with its own port and storage directory.
final class PrometheusProcess: Sendable {
    let port: UInt16
    let directory: URL
    private let process: Process

    init(target: String) throws {
        self.port = try Self.freePort()
        self.directory = FileManager.default.temporaryDirectory.appendingPathComponent("prom-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: self.directory, withIntermediateDirectories: true)
        let config = """
            global:
              scrape_interval: 1s
              scrape_timeout: 1s
            scrape_configs:
              - job_name: telemetry
                static_configs:
                  - targets: ["\(target)"]
            """
        let configFile = self.directory.appendingPathComponent("prometheus.yml")
        try config.write(to: configFile, atomically: true, encoding: .utf8)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/prometheus")
        process.arguments = [
            "--config.file=\(configFile.path)",
            "--storage.tsdb.path=\(self.directory.appendingPathComponent("data").path)",
            "--web.listen-address=127.0.0.1:\(self.port)",
            "--enable-feature=native-histograms,exemplar-storage",
        ]
        let log = try FileHandle(forWritingTo: Self.makeFile(self.directory.appendingPathComponent("prometheus.log")))
        process.standardOutput = log
        process.standardError = log
        try process.run()
        self.process = process
    }

    func stop() {
        self.process.terminate()
        self.process.waitUntilExit()
        try? FileManager.default.removeItem(at: self.directory)
    }

    /// Waits until the target has been scraped successfully (the first scrape comes after an offset).
    func waitForUp() async throws {
        for _ in 0..<200 {
            if (try? await self.scalar("up{job=\"telemetry\"}")) == 1 {
                return
            }
            try await Task.sleep(for: .milliseconds(200))
        }
        let log =
            (try? String(contentsOf: self.directory.appendingPathComponent("prometheus.log"), encoding: .utf8)) ?? ""
        throw PrometheusTestError(message: "target never came up; log:\n\(log.suffix(2000))")
    }

    /// Runs an instant query and returns its single value, or nil for an empty result.
    func scalar(_ query: String) async throws -> Double? {
        let json = try self.get("/api/v1/query", ["query": query])
        guard let data = json["data"] as? [String: Any], let result = data["result"] as? [[String: Any]] else {
            throw PrometheusTestError(message: "unexpected answer to \(query): \(json)")
        }
        guard let first = result.first, let value = first["value"] as? [Any], let text = value.last as? String else {
            return nil
        }
        return Double(text)
    }

    func exemplars(_ query: String) async throws -> [(labels: [String: String], value: Double)] {
        let now = Date().timeIntervalSince1970
        let json = try self.get(
            "/api/v1/query_exemplars",
            ["query": query, "start": String(now - 600), "end": String(now + 60)]
        )
        var found: [(labels: [String: String], value: Double)] = []
        for series in json["data"] as? [[String: Any]] ?? [] {
            for exemplar in series["exemplars"] as? [[String: Any]] ?? [] {
                found.append(
                    (
                        exemplar["labels"] as? [String: String] ?? [:],
                        Double(exemplar["value"] as? String ?? "") ?? .nan
                    )
                )
            }
        }
        return found
    }

    private func get(_ path: String, _ parameters: [String: String]) throws -> [String: Any] {
        var arguments = ["-sS", "--max-time", "5", "-G", "http://127.0.0.1:\(self.port)\(path)"]
        for (name, value) in parameters {
            arguments += ["--data-urlencode", "\(name)=\(value)"]
        }
        let result = try ProcessRunner.run("/usr/bin/curl", arguments)
        guard result.status == 0,
            let json = try JSONSerialization.jsonObject(with: Data(result.output)) as? [String: Any]
        else {
            throw PrometheusTestError(message: "curl \(path) failed: \(String(decoding: result.error, as: UTF8.self))")
        }
        return json
    }

    private static func makeFile(_ url: URL) -> URL {
        FileManager.default.createFile(atPath: url.path, contents: nil)
        return url
    }

    private static func freePort() throws -> UInt16 {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(descriptor) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(descriptor, $0, length) }
        }
        guard bound == 0 else { throw PrometheusTestError(message: "no free port") }
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(descriptor, $0, &length) }
        }
        return UInt16(bigEndian: address.sin_port)
    }
}

struct PrometheusTestError: Error, CustomStringConvertible {
    var message: String
    var description: String { self.message }
}
