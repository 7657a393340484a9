import Foundation

/// `Tests/Support/upstream.py` running as a child process on a kernel-chosen loopback port.
final class UpstreamProcess: Sendable {
    let process: ManagedProcess
    let port: Int
    let logFile: URL

    private init(process: ManagedProcess, port: Int, logFile: URL) {
        self.process = process
        self.port = port
        self.logFile = logFile
    }

    /// Starts the upstream and returns once its port accepts connections; `port` 0 lets the kernel choose,
    /// `arguments` are extra `upstream.py` options (`--delay`, `--force-status`).
    static func start(
        in directory: URL,
        port fixedPort: Int = 0,
        arguments: [String] = []
    ) async throws
        -> UpstreamProcess
    {
        let tag = UUID().uuidString.prefix(8)
        let portFile = directory.appendingPathComponent("upstream-\(tag).port")
        let logFile = directory.appendingPathComponent("upstream-\(tag).log")
        let process = try ManagedProcess(
            "upstream.py",
            executable: URL(fileURLWithPath: "/usr/bin/env"),
            arguments: [
                "python3", IntegrationEnvironment.upstreamScript.path, "--port", String(fixedPort), "--port-file",
                portFile.path,
            ] + arguments,
            logFile: logFile
        )
        let clock = ContinuousClock()
        let started = clock.now
        let deadline = started.advanced(by: .seconds(60))
        while clock.now < deadline {
            if let text = try? String(contentsOf: portFile, encoding: .utf8), let port = Int(text),
                IntegrationEnvironment.portAccepts(port)
            {
                return UpstreamProcess(process: process, port: port, logFile: logFile)
            }
            if !process.isRunning { break }
            try await Task.sleep(for: .milliseconds(20))
        }
        await process.terminate(grace: .seconds(1))
        let log = (try? String(contentsOf: logFile, encoding: .utf8)) ?? ""
        throw IntegrationError(
            "upstream.py did not start listening within \(clock.now - started) "
                + "(exit status \(String(describing: process.exitCode))):\n\(log)"
        )
    }

    func stop() async {
        await process.terminate(grace: .seconds(2))
    }

    /// Connections accepted and requests served so far, from `/count` asked directly (not via the gateway).
    func counts() async throws -> (connections: Int, requests: Int) {
        let connection = try RawConnection(port: port)
        defer { connection.close() }
        try connection.send("GET /count HTTP/1.1\r\nHost: upstream\r\nConnection: close\r\n\r\n")
        let response = try await connection.readResponse()
        let json = try response.jsonObject()
        guard let connections = json["connections"] as? Int, let requests = json["requests"] as? Int else {
            throw IntegrationError("bad /count answer: \(response.bodyString)")
        }
        return (connections, requests)
    }
}
