import Foundation
import TestSupport

/// Paths, temp folders and small utilities the integration tests share.
enum IntegrationEnvironment {
    /// The gateway under test: `$GATEWAY_BINARY` if set (e.g. a release build), else the one built beside the tests.
    static var gatewayBinary: URL {
        if let path = ProcessInfo.processInfo.environment["GATEWAY_BINARY"], !path.isEmpty {
            return URL(fileURLWithPath: path)
        }
        return TestFiles.buildDirectory.appendingPathComponent("gateway")
    }

    /// `Tests/Support/upstream.py`, found from this source file's location.
    static let upstreamScript: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent()  // Integration
        .deletingLastPathComponent()  // GatewayTests
        .deletingLastPathComponent()  // Tests
        .appendingPathComponent("Support/upstream.py")

    /// `Tests/Support/no_io_uring.py`: runs a command under a seccomp filter that blocks io_uring.
    static let noIOUringLauncher: [String] = [
        "python3", upstreamScript.deletingLastPathComponent().appendingPathComponent("no_io_uring.py").path,
    ]

    /// The engine the integration suite runs the gateway on: `GATEWAY_TEST_ENGINE` (io_uring or epoll),
    /// or the config's own choice when unset. CI runs the suite once per engine.
    static let testEngine: String? = ProcessInfo.processInfo.environment["GATEWAY_TEST_ENGINE"].flatMap {
        $0.isEmpty ? nil : $0
    }

    /// `yaml` with `engine:` set to ``testEngine`` unless the config names an engine itself, and with file
    /// watching off unless the config has a `config:` section of its own (the tests of watching set it).
    ///
    /// Why watching is off: a process holding an inotify descriptor waits at exit for the kernel to retire
    /// its marks (`fsnotify_destroy_group`, an SRCU grace period). On two cores saturated by the suite and
    /// CPU burners, RCU stalled and hundreds of exiting test gateways sat in that wait for minutes
    /// (hung-task reports), starving every other test. A gateway exiting on a loaded node pays that wait
    /// once; a test suite starting a thousand of them must not.
    static func withTestEngine(_ yaml: String) -> String {
        var yaml = yaml
        if !yaml.hasPrefix("config:") && !yaml.contains("\nconfig:") {
            yaml = "config: {watch: false}\n" + yaml
        }
        guard let engine = testEngine, !yaml.hasPrefix("engine:"), !yaml.contains("\nengine:") else { return yaml }
        return "engine: \(engine)\n" + yaml
    }

    /// The repository's root, found from this source file's location (for the shipped dashboards).
    static let repositoryRoot: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent()
        .deletingLastPathComponent()
        .deletingLastPathComponent()
        .deletingLastPathComponent()

    /// A fresh private directory for one test's configs, logs and data files.
    static func makeTemporaryDirectory(_ label: String) throws -> URL {
        StallMonitor.start()
        return try TestFiles.makeTemporaryDirectory("gateway-it-\(label)")
    }

    /// Runs `body`, then always `tearDown`, which stops the test's processes and says whether they ended
    /// cleanly. `directory` is removed when both went well; otherwise it is kept for a post-mortem, without
    /// the large `payload*` files some tests write.
    static func withTearDown<T>(
        of directory: URL,
        _ body: () async throws -> T,
        tearDown: () async -> Bool
    ) async throws -> T {
        let result: Result<T, any Error>
        do {
            result = .success(try await body())
        } catch {
            result = .failure(error)
        }
        let clean = await tearDown()
        if case .success = result, clean {
            try? FileManager.default.removeItem(at: directory)
        } else {
            for file in (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []
            where file.hasPrefix("payload") {
                try? FileManager.default.removeItem(at: directory.appendingPathComponent(file))
            }
        }
        return try result.get()
    }

    /// Whether a TCP connect to 127.0.0.1:`port` succeeds right now.
    static func portAccepts(_ port: Int) -> Bool {
        guard let connection = try? RawConnection(port: port) else { return false }
        connection.close()
        return true
    }

    /// Resident set size of `pid` in KiB, from /proc/PID/status (nil once the process is gone).
    static func residentKiB(of pid: Int32) -> Int? {
        guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8) else { return nil }
        for line in status.split(separator: "\n") where line.hasPrefix("VmRSS:") {
            return Int(line.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first ?? "")
        }
        return nil
    }
}

/// Samples a process's RSS in the background and keeps the peak.
final class ResidentSetSampler: Sendable {
    private let peak = LockedValue(0)
    private let task: Task<Void, Never>

    init(pid: Int32, interval: Duration = .milliseconds(20)) {
        let peak = self.peak
        task = Task {
            while !Task.isCancelled {
                if let kib = IntegrationEnvironment.residentKiB(of: pid) {
                    peak.withLock { $0 = max($0, kib) }
                }
                try? await Task.sleep(for: interval)
            }
        }
    }

    /// Stops sampling and returns the peak RSS seen, in KiB.
    func stop() async -> Int {
        task.cancel()
        await task.value
        return peak.withLock { $0 }
    }
}
