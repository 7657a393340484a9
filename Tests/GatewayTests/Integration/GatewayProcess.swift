import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// The built `gateway` binary running `gateway run --config FILE` on a kernel-chosen loopback port.
final class GatewayProcess: Sendable {
    let process: ManagedProcess
    let port: Int
    let configFile: URL
    let logFile: URL

    private init(process: ManagedProcess, port: Int, configFile: URL, logFile: URL) {
        self.process = process
        self.port = port
        self.configFile = configFile
        self.logFile = logFile
    }

    var pid: Int32 { process.pid }

    /// Writes `yaml` (whose listen address must be `127.0.0.1:0`) to a config file, starts the gateway and
    /// returns once the port from its "listening on" log line accepts connections.
    /// `launcher` runs first and is given the gateway's command line (e.g. a seccomp wrapper).
    static func start(yaml: String, in directory: URL, launcher: [String] = []) async throws -> GatewayProcess {
        let binary = IntegrationEnvironment.gatewayBinary
        guard FileManager.default.isExecutableFile(atPath: binary.path) else {
            throw IntegrationError("\(binary.path) is missing: run `swift build` before `swift test`")
        }
        let tag = UUID().uuidString.prefix(8)
        let configFile = directory.appendingPathComponent("gateway-\(tag).yaml")
        let logFile = directory.appendingPathComponent("gateway-\(tag).log")
        try IntegrationEnvironment.withTestEngine(yaml).write(to: configFile, atomically: true, encoding: .utf8)
        let command = launcher + [binary.path, "run", "--config", configFile.path]
        let process = try ManagedProcess(
            "gateway",
            executable: URL(fileURLWithPath: launcher.isEmpty ? binary.path : "/usr/bin/env"),
            arguments: launcher.isEmpty ? Array(command.dropFirst()) : command,
            logFile: logFile
        )
        let clock = ContinuousClock()
        let deadline = clock.now.advanced(by: .seconds(60))
        while clock.now < deadline {
            let log = (try? String(contentsOf: logFile, encoding: .utf8)) ?? ""
            if let port = listeningPort(in: log), IntegrationEnvironment.portAccepts(port) {
                return GatewayProcess(process: process, port: port, configFile: configFile, logFile: logFile)
            }
            if !process.isRunning { break }
            try await Task.sleep(for: .milliseconds(20))
        }
        await process.terminate(grace: .seconds(2))
        let log = (try? String(contentsOf: logFile, encoding: .utf8)) ?? ""
        throw IntegrationError("gateway did not start (exit \(String(describing: process.exitCode))):\n\(log)")
    }

    /// The port of the first "listening on 127.0.0.1:PORT" line.
    static func listeningPort(in log: String) -> Int? {
        guard let range = log.range(of: "listening on 127.0.0.1:") else { return nil }
        let digits = log[range.upperBound...].prefix { $0.isNumber }
        return Int(digits)
    }

    var log: String { (try? String(contentsOf: logFile, encoding: .utf8)) ?? "" }

    /// The start of the log and its crash report, if any, trimmed for test messages.
    var logTail: String {
        let text = log
        guard text.count > 3000 else { return text }
        return String(text.prefix(3000)) + "\n..."
    }

    var residentKiB: Int? { IntegrationEnvironment.residentKiB(of: pid) }

    /// SIGTERM and wait for exit; returns the exit status (nil if it had to be killed).
    @discardableResult
    func stop(grace: Duration = .seconds(10)) async -> Int32? {
        await process.terminate(grace: grace)
    }

    var url: String { "http://127.0.0.1:\(port)" }
}

/// Builds gateway configs for the tests: one upstream `backend` and a few standard routes.
struct GatewayConfigBuilder {
    var workers = 1
    // Generous defaults: with the whole suite running on two shared cores, the Python upstream can be slow to
    // answer. Tests of a timeout set that timeout short themselves.
    var connectTimeout = 1.0
    var sendTimeout = 10.0
    var readTimeout = 10.0
    var headerTimeout = 10.0
    var keepaliveTimeout = 30.0
    var drainTimeout = 5.0
    var passHost = "pass"
    /// Extra YAML list items placed under `upstreams:` (indented two spaces, starting with "  - id:");
    /// `UPSTREAM_PORT` in them stands for the test upstream's port.
    var extraUpstreams = ""
    /// Extra YAML list items placed under `routes:` before the catch-all route.
    var extraRoutes = ""
    /// Whether the catch-all `/*` route to `backend` is present.
    var catchAll = true

    /// The config text, with `backend` pointing at 127.0.0.1:`upstreamPort`.
    func yaml(upstreamPort: Int) -> String {
        var text = """
            workers: \(workers)
            listen: "127.0.0.1:0"
            limits: {header_timeout: \(headerTimeout), keepalive_timeout: \(keepaliveTimeout), client_max_body_size: 0}
            shutdown: {drain_timeout: \(drainTimeout)}
            upstreams:
              - id: backend
                nodes: {"127.0.0.1:\(upstreamPort)": 1}
                timeout: {connect: \(connectTimeout), send: \(sendTimeout), read: \(readTimeout)}
                keepalive_pool: {size: 16, idle_timeout: 30, requests: 1000}
                pass_host: \(passHost)

            """
        text += extraUpstreams.replacingOccurrences(of: "UPSTREAM_PORT", with: String(upstreamPort))
        text += """
            routes:
              - id: demo
                uri: /__demo
                plugins: {mocking: {response_status: 200, response_example: '{"hello":"gateway"}', content_type: application/json}}
              - id: limited
                uris: ["/limited/*"]
                upstream_id: backend
                client_max_body_size: 1024

            """
        text += extraRoutes
        if catchAll {
            text += """
                  - id: api
                    uris: ["/*"]
                    upstream_id: backend

                """
        }
        return text
    }
}

/// One upstream plus one gateway in front of it, torn down after `body` even when it throws.
func withProxy<T>(
    _ label: String,
    _ config: GatewayConfigBuilder = GatewayConfigBuilder(),
    _ body: (GatewayProcess, UpstreamProcess, URL) async throws -> T
) async throws -> T {
    let directory = try IntegrationEnvironment.makeTemporaryDirectory(label)
    let upstream = try await UpstreamProcess.start(in: directory)
    let gateway: GatewayProcess
    do {
        gateway = try await GatewayProcess.start(yaml: config.yaml(upstreamPort: upstream.port), in: directory)
    } catch {
        await upstream.stop()
        throw error
    }
    let result: Result<T, Error>
    do {
        result = .success(try await body(gateway, upstream, directory))
    } catch {
        result = .failure(error)
    }
    // Whatever a test does, the gateway must survive it and then drain cleanly.
    var healthy = true
    if let code = gateway.process.exitCode {
        healthy = false
        let signals = gateway.process.signalsSent
        let message = "gateway died during the test (status \(code), signals sent by the test: \(signals)); "
        Issue.record("\(message)files in \(directory.path):\n\(gateway.logTail)")
    } else {
        let code = await gateway.stop()
        healthy = code == 0
        #expect(code == 0, "gateway exit status after SIGTERM: \(String(describing: code)); files in \(directory.path)")
    }
    await upstream.stop()
    if case .success = result, healthy {
        try? FileManager.default.removeItem(at: directory)
    } else {
        // Keep the logs for a post-mortem, but not the large payloads.
        for file in (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []
        where file.hasPrefix("payload") {
            try? FileManager.default.removeItem(at: directory.appendingPathComponent(file))
        }
    }
    return try result.get()
}
