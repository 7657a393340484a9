import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// A real etcd (`/usr/bin/etcd`) for a test: its own data directory, client and peer URLs on loopback ports
/// picked here, stopped, killed and started again on the same ports and data on demand.
package final class EtcdServer: Sendable {
    package let directory: URL
    package let clientPort: Int
    package let peerPort: Int
    private let process = LockedValue<ManagedProcess?>(nil)
    private let starts = LockedValue(0)

    /// `host:port` of the client URL.
    package var endpoint: String { "127.0.0.1:\(clientPort)" }
    /// `http://127.0.0.1:PORT`.
    package var url: String { "http://\(endpoint)" }
    package var dataDirectory: URL { directory.appendingPathComponent("etcd-data") }
    package var isRunning: Bool { process.value?.isRunning ?? false }

    private init(directory: URL, clientPort: Int, peerPort: Int) {
        self.directory = directory
        self.clientPort = clientPort
        self.peerPort = peerPort
    }

    /// Starts etcd in `directory` and returns once it serves. A picked port taken by someone else before etcd
    /// bound it makes etcd exit: then it tries other ports (three times in all).
    package static func start(in directory: URL) async throws -> EtcdServer {
        var lastError: any Error = IntegrationError("etcd not started")
        for _ in 0..<3 {
            // Both picked while held (so they differ), then released for etcd to bind.
            let ports = try { () throws -> (Int, Int) in
                let client = try RefusingPort()
                let peer = try RefusingPort()
                return (client.port, peer.port)
            }()
            let server = EtcdServer(directory: directory, clientPort: ports.0, peerPort: ports.1)
            try? FileManager.default.removeItem(at: server.dataDirectory)
            do {
                try await server.launch()
                return server
            } catch {
                lastError = error
            }
        }
        throw lastError
    }

    /// Starts etcd again on the same ports and data directory (after ``stop()`` or ``kill()``). A port taken
    /// meanwhile is retried for a few seconds.
    package func restart() async throws {
        var lastError: any Error = IntegrationError("etcd not restarted")
        for _ in 0..<5 {
            do {
                try await launch()
                return
            } catch {
                lastError = error
                try await Task.sleep(for: .milliseconds(500))
            }
        }
        throw lastError
    }

    private func launch() async throws {
        let start = starts.withLock { count -> Int in
            count += 1
            return count
        }
        let name = "etcd-\(start)"
        let arguments = [
            "--name", "default",
            "--data-dir", dataDirectory.path,
            "--listen-client-urls", url,
            "--advertise-client-urls", url,
            "--listen-peer-urls", "http://127.0.0.1:\(peerPort)",
            "--initial-advertise-peer-urls", "http://127.0.0.1:\(peerPort)",
            "--initial-cluster", "default=http://127.0.0.1:\(peerPort)",
            "--log-outputs", "stderr",
        ]
        let output = directory.appendingPathComponent("\(name).log")
        let (child, _) = try await ManagedProcess.launch(
            name,
            executable: URL(fileURLWithPath: "/usr/bin/etcd"),
            arguments: arguments,
            logFile: output,
            timeout: .seconds(30)
        ) { () -> Bool? in
            let text = (try? String(contentsOf: output, encoding: .utf8)) ?? ""
            return text.contains("ready to serve client requests") && Self.accepts(port: clientPort) ? true : nil
        }
        process.withLock { $0 = child }
    }

    /// SIGTERM, and wait for the exit.
    package func stop() async {
        let child = process.value
        await child?.terminate(grace: .seconds(5))
    }

    /// SIGKILL, and wait for the exit.
    package func kill() async {
        guard let child = process.value else { return }
        child.signal(SIGKILL)
        await child.waitForExit(timeout: .seconds(5))
    }

    /// Runs `etcdctl --endpoints=ENDPOINT args...`; throws unless it exits 0. Returns its standard output.
    @discardableResult
    package func ctl(_ arguments: [String]) async throws -> String {
        let result = try await Command.run(
            "etcdctl",
            ["--endpoints=\(endpoint)", "--command-timeout=10s"] + arguments,
            timeout: .seconds(20)
        )
        guard result.exitCode == 0 else {
            throw IntegrationError("etcdctl \(arguments) failed (\(result.exitCode)): \(result.log) \(result.stdout)")
        }
        return result.stdout
    }

    /// `etcdctl put key value`; returns the revision of the write.
    @discardableResult
    package func put(_ key: String, _ value: String) async throws -> Int64 {
        try Self.revision(in: try await ctl(["put", key, value, "-w", "json"]))
    }

    /// `etcdctl del key`; returns the revision after it.
    @discardableResult
    package func delete(_ key: String) async throws -> Int64 {
        try Self.revision(in: try await ctl(["del", key, "-w", "json"]))
    }

    /// The store's current revision.
    package func revision() async throws -> Int64 {
        try Self.revision(in: try await ctl(["get", "/", "-w", "json"]))
    }

    /// Compacts the history up to `revision` (the current one when nil): older revisions are gone.
    package func compact(_ revision: Int64? = nil) async throws {
        let target: Int64
        if let revision { target = revision } else { target = try await self.revision() }
        try await ctl(["compact", String(target), "--physical"])
    }

    private static func revision(in json: String) throws -> Int64 {
        guard let object = try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any],
            let header = object["header"] as? [String: Any], let revision = header["revision"] as? NSNumber
        else { throw IntegrationError("no header.revision in etcdctl's answer: \(json)") }
        return revision.int64Value
    }

    /// Whether something accepts TCP connections on the loopback `port`.
    package static func accepts(port: Int) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var address = Loopback.address(port: port)
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0
            }
        }
    }

    deinit {
        if let child = process.value, child.isRunning { child.signal(SIGKILL) }
    }
}
