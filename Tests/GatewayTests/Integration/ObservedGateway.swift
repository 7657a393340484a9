import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// What the observability tests add to a ``GatewayConfigBuilder`` config: control plane, access log, metrics.
struct ObservabilitySettings {
    var base = GatewayConfigBuilder()
    /// `shutdown.delay` in seconds (nil leaves it out).
    var shutdownDelay: Double?
    /// The `metrics:` section's flow mapping.
    var metrics = "{enabled: true, node_labels: true, native_histograms: true}"
    var accessLog = true
    var flushInterval = 0.2

    /// The base config with the observability sections appended as top-level keys.
    func yaml(upstreamPort: Int, controlPort: Int, accessLogFile: URL) -> String {
        var text = base.yaml(upstreamPort: upstreamPort)
        if let shutdownDelay {
            let plain = "shutdown: {drain_timeout: \(base.drainTimeout)}"
            precondition(text.contains(plain), "GatewayConfigBuilder's shutdown line changed")
            text = text.replacingOccurrences(
                of: plain,
                with: "shutdown: {drain_timeout: \(base.drainTimeout), delay: \(shutdownDelay)}"
            )
        }
        text += """
            control: {listen: "127.0.0.1:\(controlPort)"}
            metrics: \(metrics)

            """
        if accessLog {
            text += """
                access_log: {enabled: true, path: "\(accessLogFile.path)", format: json, flush_interval: \(flushInterval)}

                """
        }
        return text
    }
}

/// One upstream and one gateway with its control plane on a fixed port, torn down by ``finish()``.
final class ObservedGateway: Sendable {
    let gateway: GatewayProcess
    let upstream: UpstreamProcess
    let directory: URL
    let controlPort: Int
    let accessLogFile: URL
    /// Set once a test has stopped the gateway on purpose, so teardown does not call it a crash.
    private let stoppedByTest = LockedValue(false)

    private init(gateway: GatewayProcess, upstream: UpstreamProcess, directory: URL, controlPort: Int) {
        self.gateway = gateway
        self.upstream = upstream
        self.directory = directory
        self.controlPort = controlPort
        self.accessLogFile = directory.appendingPathComponent("access.log.zst")
    }

    /// Starts both processes and returns once the data plane and the control plane accept connections.
    static func start(
        _ label: String,
        _ settings: ObservabilitySettings = ObservabilitySettings()
    ) async throws
        -> ObservedGateway
    {
        let directory = try IntegrationEnvironment.makeTemporaryDirectory(label)
        let upstream = try await UpstreamProcess.start(in: directory)
        var lastError: Error = IntegrationError("gateway not started")
        // The control port is chosen here and may be taken by someone else before the gateway binds it.
        for _ in 0..<3 {
            do {
                let controlPort = try IntegrationEnvironment.unusedPort()
                let yaml = settings.yaml(
                    upstreamPort: upstream.port,
                    controlPort: controlPort,
                    accessLogFile: directory.appendingPathComponent("access.log.zst")
                )
                let gateway = try await GatewayProcess.start(yaml: yaml, in: directory)
                let observed = ObservedGateway(
                    gateway: gateway,
                    upstream: upstream,
                    directory: directory,
                    controlPort: controlPort
                )
                try await observed.waitForControlPlane()
                return observed
            } catch {
                lastError = error
            }
        }
        await upstream.stop()
        throw lastError
    }

    private func waitForControlPlane() async throws {
        let clock = ContinuousClock()
        let deadline = clock.now.advanced(by: .seconds(10))
        while clock.now < deadline {
            if gateway.log.contains("control plane on 127.0.0.1:\(controlPort)"),
                IntegrationEnvironment.portAccepts(controlPort)
            {
                return
            }
            if !gateway.process.isRunning { break }
            try await Task.sleep(for: .milliseconds(20))
        }
        await gateway.stop(grace: .seconds(2))
        throw IntegrationError("control plane did not come up on \(controlPort):\n\(gateway.logTail)")
    }

    var controlURL: String { "http://127.0.0.1:\(controlPort)" }

    /// `GET` on the control plane with curl.
    func control(_ path: String, _ arguments: [String] = []) async throws -> CurlResult {
        try await Curl.run(controlURL + path, arguments, in: directory, timeout: .seconds(15))
    }

    /// One scrape of `/metrics` in the Prometheus text format, parsed.
    func scrapeText() async throws -> (text: String, exposition: MetricsExposition) {
        let response = try await control("/metrics", ["-H", "Accept: text/plain"])
        guard response.status == 200 else {
            throw IntegrationError("/metrics answered \(response.status): \(response.bodyString)")
        }
        return (response.bodyString, try MetricsExposition(response.bodyString))
    }

    /// SIGTERM and the exit status; the gateway is not expected to run after this.
    @discardableResult
    func stopGateway(grace: Duration = .seconds(10)) async -> Int32? {
        stoppedByTest.withLock { $0 = true }
        return await gateway.stop(grace: grace)
    }

    /// Marks the gateway as stopped on purpose (after the test signalled it itself).
    func expectExit() {
        stoppedByTest.withLock { $0 = true }
    }

    /// The access log, decompressed with the real `zstd -dc`, one string per line.
    func accessLogLines() async throws -> [String] {
        let result = try await Command.run("zstd", ["-dc", accessLogFile.path], in: directory, timeout: .seconds(20))
        guard result.exitCode == 0 else {
            throw IntegrationError("zstd -dc \(accessLogFile.path) failed (\(result.exitCode)): \(result.log)")
        }
        return result.stdout.split(separator: "\n", omittingEmptySubsequences: true).map(String.init)
    }

    /// Stops whatever still runs; a gateway that died unasked, or exited non-zero, is a test failure.
    func finish(keepDirectory: Bool = false) async {
        if gateway.process.exitCode != nil && !stoppedByTest.value {
            Issue.record("gateway died during the test (status \(gateway.process.exitCode!)):\n\(gateway.logTail)")
        } else if gateway.process.isRunning {
            let code = await gateway.stop()
            #expect(code == 0, "gateway exit status after SIGTERM: \(String(describing: code))\n\(gateway.logTail)")
        }
        await upstream.stop()
        if !keepDirectory {
            try? FileManager.default.removeItem(at: directory)
        }
    }
}

/// Runs `body` with an ``ObservedGateway`` and tears it down even when `body` throws.
func withObservedGateway<T>(
    _ label: String,
    _ settings: ObservabilitySettings = ObservabilitySettings(),
    _ body: (ObservedGateway) async throws -> T
) async throws -> T {
    let observed = try await ObservedGateway.start(label, settings)
    let result: Result<T, Error>
    do {
        result = .success(try await body(observed))
    } catch {
        result = .failure(error)
    }
    var failed = false
    if case .failure = result { failed = true }
    await observed.finish(keepDirectory: failed)
    return try result.get()
}
