import Foundation
import TestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// The built `gateway` binary running `gateway run --config FILE` on a kernel-chosen loopback port.
///
/// The one way the integration tests launch a gateway: ``ObservedGateway`` and ``ResilientGateway`` are
/// this plus their own config and upstreams. Every config goes through
/// ``IntegrationEnvironment/withTestEngine(_:)``, so `GATEWAY_TEST_ENGINE` reaches every gateway.
final class GatewayProcess: Sendable {
    let process: ManagedProcess
    let port: Int
    let configFile: URL
    let logFile: URL
    private let control: Int?
    /// Set once the test has stopped the gateway, or said it would, so that teardown does not call it a crash.
    private let stoppedByTest = LockedValue(false)

    private init(process: ManagedProcess, port: Int, control: Int?, configFile: URL, logFile: URL) {
        self.process = process
        self.port = port
        self.control = control
        self.configFile = configFile
        self.logFile = logFile
    }

    var pid: Int32 { process.pid }

    /// The directory holding the config, the log and whatever else the test wrote.
    var directory: URL { configFile.deletingLastPathComponent() }

    /// Writes `yaml` (whose listen address must be `127.0.0.1:0`) to a config file, starts the gateway and
    /// returns once the port from its "listening on" log line accepts connections.
    /// `launcher` runs first and is given the gateway's command line (e.g. a seccomp wrapper).
    static func start(yaml: String, in directory: URL, launcher: [String] = []) async throws -> GatewayProcess {
        try await launch(yaml: yaml, controlPort: nil, in: directory, launcher: launcher)
    }

    /// Starts a gateway with a control plane on a loopback port chosen here, which `yaml` puts in the config
    /// (`control: {listen: "127.0.0.1:PORT"}`); returns once the data plane and the control plane accept
    /// connections.
    static func start(
        in directory: URL,
        launcher: [String] = [],
        yaml: (_ controlPort: Int) -> String
    ) async throws -> GatewayProcess {
        var lastError: any Error = IntegrationError("gateway not started")
        // The port is only reserved until it is released here, so someone else may bind it before the
        // gateway does (which then exits): try another.
        for _ in 0..<3 {
            let controlPort = try Loopback.unusedPort()
            do {
                return try await launch(
                    yaml: yaml(controlPort),
                    controlPort: controlPort,
                    in: directory,
                    launcher: launcher
                )
            } catch {
                lastError = error
            }
        }
        throw lastError
    }

    private static func launch(
        yaml: String,
        controlPort: Int?,
        in directory: URL,
        launcher: [String]
    ) async throws -> GatewayProcess {
        let binary = IntegrationEnvironment.gatewayBinary
        guard FileManager.default.isExecutableFile(atPath: binary.path) else {
            throw IntegrationError("\(binary.path) is missing: run `swift build` before `swift test`")
        }
        let tag = UUID().uuidString.prefix(8)
        let configFile = directory.appendingPathComponent("gateway-\(tag).yaml")
        let logFile = directory.appendingPathComponent("gateway-\(tag).log")
        try IntegrationEnvironment.withTestEngine(yaml).writeTestFile(to: configFile)
        let command = launcher + [binary.path, "run", "--config", configFile.path]
        let (process, port) = try await ManagedProcess.launch(
            "gateway",
            executable: URL(fileURLWithPath: launcher.isEmpty ? binary.path : "/usr/bin/env"),
            arguments: launcher.isEmpty ? Array(command.dropFirst()) : command,
            logFile: logFile
        ) { () -> Int? in
            let log = (try? String(contentsOf: logFile, encoding: .utf8)) ?? ""
            guard let port = listeningPort(in: log), IntegrationEnvironment.portAccepts(port) else { return nil }
            if let controlPort {
                // The log line tells the gateway's own control plane from anyone else on the port.
                guard log.contains("control plane on 127.0.0.1:\(controlPort)"),
                    IntegrationEnvironment.portAccepts(controlPort)
                else { return nil }
            }
            return port
        }
        return GatewayProcess(
            process: process,
            port: port,
            control: controlPort,
            configFile: configFile,
            logFile: logFile
        )
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

    var url: String { "http://127.0.0.1:\(port)" }

    /// The control plane's port; only for a gateway started with ``start(in:launcher:yaml:)``.
    var controlPort: Int {
        guard let control else { preconditionFailure("this gateway was started without a control plane") }
        return control
    }

    var controlURL: String { "http://127.0.0.1:\(controlPort)" }

    /// `GET path` on the control plane over a fresh connection.
    func control(
        _ path: String,
        headers: [String] = [],
        timeout: Duration = .seconds(15)
    ) async throws
        -> RawResponse
    {
        try await RawConnection.request(port: controlPort, path, headers: headers, timeout: timeout)
    }

    /// One scrape of `/metrics` in the Prometheus text format, parsed.
    func scrape() async throws -> (text: String, exposition: MetricsExposition) {
        let response = try await control("/metrics", headers: ["Accept: text/plain"])
        guard response.status == 200 else {
            throw IntegrationError("/metrics answered \(response.status): \(response.bodyString)")
        }
        return (response.bodyString, try MetricsExposition(response.bodyString))
    }

    /// SIGTERM and wait for exit; returns the exit status (nil if it had to be killed).
    @discardableResult
    func stop(grace: Duration = .seconds(10)) async -> Int32? {
        stoppedByTest.withLock { $0 = true }
        return await process.terminate(grace: grace)
    }

    /// Marks the gateway as stopped on purpose, after the test signalled it itself.
    func expectExit() {
        stoppedByTest.withLock { $0 = true }
    }

    /// Ends the gateway after a test: one that exited without the test stopping it is a recorded issue,
    /// one still running is sent SIGTERM and must exit 0. Returns whether it ended cleanly.
    func finish() async -> Bool {
        if let code = process.exitCode {
            if stoppedByTest.value { return true }
            let signals = process.signalsSent
            let message = "gateway died during the test (status \(code), signals sent by the test: \(signals)); "
            Issue.record("\(message)files in \(directory.path):\n\(logTail)")
            return false
        }
        stoppedByTest.withLock { $0 = true }
        process.signal(SIGTERM)
        // 30 s: once, beside CPU burners, a gateway that had logged "stopped" at once was not seen to exit
        // within 10 s. What the kernel says it is doing goes into the failure if it happens again.
        var code = await process.waitForExit(timeout: .seconds(30))
        var state = ""
        if code == nil {
            state = "; still running: \(process.kernelState)"
            code = await process.terminate(grace: .seconds(1))
        }
        #expect(
            code == 0,
            "gateway exit status after SIGTERM: \(String(describing: code))\(state); files in \(directory.path)\n\(logTail)"
        )
        return code == 0
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
    return try await IntegrationEnvironment.withTearDown(of: directory) {
        try await body(gateway, upstream, directory)
    } tearDown: {
        // Whatever a test does, the gateway must survive it and then drain cleanly.
        let clean = await gateway.finish()
        await upstream.stop()
        return clean
    }
}
