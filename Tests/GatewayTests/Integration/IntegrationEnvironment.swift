import Foundation
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// Paths, temp folders and small utilities the integration tests share.
enum IntegrationEnvironment {
    /// `.build/<config>/`: the directory of the running test bundle, where `gateway` is built too.
    static let buildDirectory: URL = {
        let exe =
            (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        return URL(fileURLWithPath: exe).deletingLastPathComponent()
    }()

    /// The gateway under test: `$GATEWAY_BINARY` if set (e.g. a release build), else the one built beside the tests.
    static var gatewayBinary: URL {
        if let path = ProcessInfo.processInfo.environment["GATEWAY_BINARY"], !path.isEmpty {
            return URL(fileURLWithPath: path)
        }
        return buildDirectory.appendingPathComponent("gateway")
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

    /// `yaml` with `engine:` set to ``testEngine`` unless the config names an engine itself.
    static func withTestEngine(_ yaml: String) -> String {
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
        let url = FileManager.default.temporaryDirectory
            .appendingPathComponent("gateway-it-\(label)-\(getpid())-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
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

    /// Polls `condition` every `interval` until it holds (true) or `timeout` passes (false, after a last try).
    ///
    /// Tests wait for what they need this way rather than sleeping a fixed time, which is either too short
    /// on a loaded machine or wasted on an idle one.
    static func eventually(
        timeout: Duration,
        interval: Duration = .milliseconds(20),
        _ condition: () async throws -> Bool
    ) async throws -> Bool {
        let deadline = ContinuousClock.now.advanced(by: timeout)
        while ContinuousClock.now < deadline {
            if try await condition() { return true }
            try await Task.sleep(for: interval)
        }
        return try await condition()
    }

    /// A loopback port with nothing listening on it: bound by us, then released without listen().
    ///
    /// Released, so another process may take it: fine for a port the gateway binds next, but a port that
    /// must stay dead for a whole test should be a ``RefusingPort`` instead.
    static func unusedPort() throws -> Int {
        try RefusingPort().port
    }

    static func loopbackAddress(port: Int) -> sockaddr_in {
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = UInt16(port).bigEndian
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        return address
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

/// A loopback port held bound but not listening: connecting to it is refused, as to a node that is down,
/// and no other process can bind it while it is held (tests running in parallel would otherwise pick it up
/// for their own listeners, and the "dead" node would answer).
final class RefusingPort: Sendable {
    let port: Int
    private let fd: Int32

    init() throws {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw IntegrationError("socket() failed: errno \(errno)") }
        var address = IntegrationEnvironment.loopbackAddress(port: 0)
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard bound == 0 else {
            let code = errno
            close(fd)
            throw IntegrationError("bind() failed: errno \(code)")
        }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        self.fd = fd
        self.port = Int(UInt16(bigEndian: address.sin_port))
    }

    deinit { close(fd) }
}

/// A failure of the test harness itself (a process that did not start, a malformed response).
struct IntegrationError: Error, CustomStringConvertible {
    var description: String

    init(_ description: String) {
        self.description = description
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

/// A value shared between a test and its background tasks.
final class LockedValue<Value: Sendable>: Sendable {
    private let mutex: Mutex<Value>

    init(_ value: Value) {
        mutex = Mutex(value)
    }

    func withLock<Result>(_ body: (inout Value) -> Result) -> Result {
        mutex.withLock { body(&$0) }
    }

    var value: Value { mutex.withLock { $0 } }
}
