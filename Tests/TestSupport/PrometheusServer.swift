import Foundation

/// A real Prometheus (Debian's 2.42, `/usr/bin/prometheus`) scraping one target every second, queried
/// through its HTTP API.
package final class PrometheusServer: Sendable {
    package let port: Int
    package let directory: URL
    package let job: String
    private let process: ManagedProcess

    /// Starts Prometheus on a loopback port with its config, storage and log in `prometheus-JOB` under
    /// `parent` (the caller removes `parent`). It scrapes `target` (`HOST:PORT`) as job `job`; `features` go
    /// to `--enable-feature` (e.g. `native-histograms`, `exemplar-storage`).
    package init(
        target: String,
        job: String,
        features: [String] = [],
        ruleFiles: [URL] = [],
        evaluationInterval: String? = nil,
        in parent: URL,
        executable: URL = URL(fileURLWithPath: "/usr/bin/prometheus")
    ) throws {
        self.port = try Loopback.unusedPort()
        self.job = job
        self.directory = parent.appendingPathComponent("prometheus-\(job)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        // `ruleFiles` are loaded and evaluated every `evaluationInterval` (Prometheus's default: 1m).
        let evaluation = evaluationInterval.map { "\n  evaluation_interval: \($0)" } ?? ""
        let rules =
            ruleFiles.isEmpty ? "" : "rule_files:\n" + ruleFiles.map { "  - \"\($0.path)\"\n" }.joined()
        let config = """
            global:
              scrape_interval: 1s
              scrape_timeout: 1s\(evaluation)
            \(rules)scrape_configs:
              - job_name: \(job)
                static_configs:
                  - targets: ["\(target)"]

            """
        let configFile = directory.appendingPathComponent("prometheus.yml")
        try config.writeTestFile(to: configFile)
        var arguments = [
            "--config.file=\(configFile.path)",
            "--storage.tsdb.path=\(directory.appendingPathComponent("data").path)",
            "--web.listen-address=127.0.0.1:\(port)",
        ]
        if !features.isEmpty {
            arguments.append("--enable-feature=\(features.joined(separator: ","))")
        }
        process = try ManagedProcess(
            "prometheus",
            executable: executable,
            arguments: arguments,
            logFile: directory.appendingPathComponent("prometheus.log")
        )
    }

    package var log: String {
        (try? String(contentsOf: directory.appendingPathComponent("prometheus.log"), encoding: .utf8)) ?? ""
    }

    /// SIGTERM, then SIGKILL after 5 s; returns once Prometheus has exited.
    package func stop() async {
        await process.terminate(grace: .seconds(5))
    }

    /// Waits until the target has been scraped successfully (the first scrape comes after an offset).
    package func waitForUp(timeout: Duration = .seconds(30)) async throws {
        var up = false
        _ = try await eventually(timeout: timeout, interval: .milliseconds(200)) {
            up = (try? await scalar("up{job=\"\(job)\"}")) == 1
            return up || !process.isRunning
        }
        if up { return }
        throw IntegrationError("Prometheus never scraped \(job) successfully; log:\n\(log.suffix(3000))")
    }

    /// Runs an instant query and returns its single value, or nil for an empty result.
    package func scalar(_ query: String) async throws -> Double? {
        let json = try await get("/api/v1/query", ["query": query])
        guard let data = json["data"] as? [String: Any], let result = data["result"] as? [[String: Any]] else {
            throw IntegrationError("unexpected answer to \(query): \(json)")
        }
        guard let first = result.first, let value = first["value"] as? [Any], let text = value.last as? String else {
            return nil
        }
        return Double(text)
    }

    /// Runs an instant query and returns how many series it answered; throws if Prometheus rejects it.
    package func seriesCount(_ query: String) async throws -> Int {
        let json = try await get("/api/v1/query", ["query": query])
        return ((json["data"] as? [String: Any])?["result"] as? [Any])?.count ?? 0
    }

    /// Exemplars of the series selected by `query` over the last ten minutes.
    package func exemplars(_ query: String) async throws -> [(labels: [String: String], value: Double)] {
        let now = Date().timeIntervalSince1970
        let json = try await get(
            "/api/v1/query_exemplars",
            ["query": query, "start": String(now - 600), "end": String(now + 60)]
        )
        var found: [(labels: [String: String], value: Double)] = []
        for series in json["data"] as? [[String: Any]] ?? [] {
            for exemplar in series["exemplars"] as? [[String: Any]] ?? [] {
                found.append(
                    (exemplar["labels"] as? [String: String] ?? [:], Double(exemplar["value"] as? String ?? "") ?? .nan)
                )
            }
        }
        return found
    }

    /// The alerts Prometheus holds now (`/api/v1/alerts`): each with its `labels` and `state`
    /// (`pending` or `firing`).
    package func alerts() async throws -> [(labels: [String: String], state: String)] {
        let json = try await get("/api/v1/alerts", [:])
        let alerts = (json["data"] as? [String: Any])?["alerts"] as? [[String: Any]] ?? []
        return alerts.map { ($0["labels"] as? [String: String] ?? [:], $0["state"] as? String ?? "") }
    }

    private func get(_ path: String, _ parameters: [String: String]) async throws -> [String: Any] {
        var arguments = ["-sS", "--max-time", "5", "-G", "http://127.0.0.1:\(port)\(path)"]
        for (name, value) in parameters.sorted(by: { $0.key < $1.key }) {
            arguments += ["--data-urlencode", "\(name)=\(value)"]
        }
        // curl gives up after 5 s itself; a run that still did not finish was the harness's hang (seen on
        // CI under a loaded suite), so it is tried once more before the query counts as failed.
        let result: CommandResult
        do {
            result = try await Command.run("curl", arguments, in: directory, timeout: .seconds(10))
        } catch {
            result = try await Command.run("curl", arguments, in: directory, timeout: .seconds(10))
        }
        guard result.exitCode == 0,
            let json = try? JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any]
        else {
            throw IntegrationError("curl \(path) failed: \(result.log) \(result.stdout)")
        }
        guard json["status"] as? String == "success" else {
            throw IntegrationError("Prometheus rejected \(parameters): \(json)")
        }
        return json
    }
}
