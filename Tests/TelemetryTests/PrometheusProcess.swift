import Foundation

#if canImport(Glibc)
import Glibc
#endif

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
        self.process = try ProcessRunner.start(
            "/usr/bin/prometheus",
            [
                "--config.file=\(configFile.path)",
                "--storage.tsdb.path=\(self.directory.appendingPathComponent("data").path)",
                "--web.listen-address=127.0.0.1:\(self.port)",
                "--enable-feature=native-histograms,exemplar-storage",
            ],
            logFile: self.directory.appendingPathComponent("prometheus.log")
        )
    }

    func stop() {
        self.process.terminate()
        self.process.waitUntilExit()
        try? FileManager.default.removeItem(at: self.directory)
    }

    /// Waits until the target has been scraped successfully (the first scrape comes after an offset).
    func waitForUp(timeout: Duration = .seconds(40)) async throws {
        let deadline = ContinuousClock.now.advanced(by: timeout)
        while ContinuousClock.now < deadline && self.process.isRunning {
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
