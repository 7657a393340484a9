import Foundation
import TestSupport

/// What the observability tests add to a ``GatewayConfigBuilder`` config: control plane, access log, metrics.
struct ObservabilitySettings {
    var base = GatewayConfigBuilder()
    /// `shutdown.delay` in seconds (nil leaves it out).
    var shutdownDelay: Double?
    /// The `metrics:` section's flow mapping.
    var metrics = "{enabled: true, node_labels: true, native_histograms: true}"
    var accessLog = true
    var flushInterval = 0.2
    /// Extra top-level YAML appended as is.
    var extra = ""
    /// Extra keys appended inside the `access_log:` flow mapping (starting with ", ").
    var accessLogExtra = ""

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
                access_log: {enabled: true, path: "\(accessLogFile.path)", format: json, flush_interval: \(flushInterval)\(accessLogExtra)}

                """
        }
        return text + extra
    }
}

/// One upstream and one gateway with its control plane, torn down by ``finish()``.
final class ObservedGateway: Sendable {
    let gateway: GatewayProcess
    let upstream: UpstreamProcess
    let directory: URL
    let accessLogFile: URL

    private init(gateway: GatewayProcess, upstream: UpstreamProcess, directory: URL, accessLogFile: URL) {
        self.gateway = gateway
        self.upstream = upstream
        self.directory = directory
        self.accessLogFile = accessLogFile
    }

    /// Starts both processes and returns once the data plane and the control plane accept connections.
    static func start(
        _ label: String,
        _ settings: ObservabilitySettings = ObservabilitySettings()
    ) async throws
        -> ObservedGateway
    {
        let directory = try IntegrationEnvironment.makeTemporaryDirectory(label)
        let accessLogFile = directory.appendingPathComponent("access.log.zst")
        let upstream = try await UpstreamProcess.start(in: directory)
        do {
            let gateway = try await GatewayProcess.start(in: directory) { controlPort in
                settings.yaml(upstreamPort: upstream.port, controlPort: controlPort, accessLogFile: accessLogFile)
            }
            return ObservedGateway(
                gateway: gateway,
                upstream: upstream,
                directory: directory,
                accessLogFile: accessLogFile
            )
        } catch {
            await upstream.stop()
            throw error
        }
    }

    var controlPort: Int { gateway.controlPort }

    var controlURL: String { gateway.controlURL }

    /// `GET` on the control plane with curl (`arguments` go before the URL).
    func control(_ path: String, _ arguments: [String] = []) async throws -> CurlResult {
        try await Curl.run(controlURL + path, arguments, in: directory, timeout: .seconds(15))
    }

    /// One scrape of `/metrics` in the Prometheus text format, parsed.
    func scrapeText() async throws -> (text: String, exposition: MetricsExposition) {
        try await gateway.scrape()
    }

    /// SIGTERM and the exit status; the gateway is not expected to run after this.
    @discardableResult
    func stopGateway(grace: Duration = .seconds(10)) async -> Int32? {
        await gateway.stop(grace: grace)
    }

    /// Marks the gateway as stopped on purpose (after the test signalled it itself).
    func expectExit() {
        gateway.expectExit()
    }

    /// The access log, decompressed with the real `zstd -dc`, one string per line.
    func accessLogLines() async throws -> [String] {
        try await Command.zstdLines(of: accessLogFile, in: directory)
    }

    /// Stops whatever still runs; a gateway that died unasked, or exited non-zero, is a test failure.
    /// Returns whether the gateway ended cleanly.
    func finish() async -> Bool {
        let clean = await gateway.finish()
        await upstream.stop()
        return clean
    }
}

/// Runs `body` with an ``ObservedGateway`` and tears it down even when `body` throws.
func withObservedGateway<T>(
    _ label: String,
    _ settings: ObservabilitySettings = ObservabilitySettings(),
    _ body: (ObservedGateway) async throws -> T
) async throws -> T {
    let observed = try await ObservedGateway.start(label, settings)
    return try await IntegrationEnvironment.withTearDown(of: observed.directory) {
        try await body(observed)
    } tearDown: {
        await observed.finish()
    }
}
