import Foundation
import TestSupport

/// `Tests/Support/upstream.py` running as a child process on a loopback port.
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
    /// `arguments` are extra `upstream.py` options (`--delay`, `--force-status`, `--nodelay`).
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
        let (process, port) = try await ManagedProcess.launch(
            "upstream.py",
            executable: URL(fileURLWithPath: "/usr/bin/env"),
            arguments: [
                "python3", IntegrationEnvironment.upstreamScript.path, "--port", String(fixedPort), "--port-file",
                portFile.path,
            ] + arguments,
            logFile: logFile
        ) { () -> Int? in
            // upstream.py writes the port it bound (the kernel's choice for port 0) once it listens.
            guard let text = try? String(contentsOf: portFile, encoding: .utf8), let port = Int(text),
                IntegrationEnvironment.portAccepts(port)
            else { return nil }
            return port
        }
        return UpstreamProcess(process: process, port: port, logFile: logFile)
    }

    func stop() async {
        await process.terminate(grace: .seconds(2))
    }

    /// Connections accepted and requests served so far, from `/count` asked directly (not via the gateway).
    /// Lets the requests held by `/hold?key=\(key)` (and later ones with that key) complete.
    func release(_ key: String) async throws {
        let response = try await RawConnection.request(port: port, "/release?key=\(key)", timeout: .seconds(30))
        guard response.status == 200 else { throw IntegrationError("/release answered \(response.status)") }
    }

    func counts() async throws -> (connections: Int, requests: Int) {
        let response = try await RawConnection.request(port: port, "/count", timeout: .seconds(10))
        let json = try response.jsonObject()
        guard let connections = json["connections"] as? Int, let requests = json["requests"] as? Int else {
            throw IntegrationError("bad /count answer: \(response.bodyString)")
        }
        return (connections, requests)
    }
}
