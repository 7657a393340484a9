import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// A real Redis (Debian's redis-server, `/usr/bin/redis-server`) on a loopback port, with no persistence,
/// and a small blocking client for the tests.
///
/// Redis cannot listen on port 0 and report the port it took, so a free port is picked and, should another
/// process bind it first, the start is retried on another one. ``restart()`` comes back on the same port
/// (what a gateway configured with it expects), retrying while the port is briefly taken.
package final class RedisServer: Sendable {
    package let port: Int
    package let password: String?
    package let directory: URL
    private let executable: URL
    /// The current run, how many were started (the log's number), and whether ``stop()`` or ``kill()``
    /// saw it exit (Foundation can reap a child a moment before it reports the exit, when the process
    /// looks running again).
    private let state: LockedValue<(process: ManagedProcess, starts: Int, ended: Bool)>

    /// `127.0.0.1:PORT`.
    package var address: String { "127.0.0.1:\(port)" }

    /// Starts redis-server with its working directory and logs in `redis-NAME` under `parent` (the caller
    /// removes `parent`), requiring `password` when given, and returns once it answers PING.
    package init(
        name: String = "redis",
        password: String? = nil,
        in parent: URL,
        executable: URL = URL(fileURLWithPath: "/usr/bin/redis-server")
    ) async throws {
        let directory = parent.appendingPathComponent("redis-\(name)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        var failures: [String] = []
        for attempt in 1...5 {
            let port = try Loopback.unusedPort()
            let started = try await Self.launch(
                executable,
                port: port,
                password: password,
                directory: directory,
                log: directory.appendingPathComponent("redis-\(attempt).log")
            )
            switch started {
            case .success(let process):
                self.port = port
                self.password = password
                self.directory = directory
                self.executable = executable
                self.state = LockedValue((process, attempt, false))
                return
            case .failure(let log):
                failures.append("port \(port): \(log.suffix(1500))")
            }
        }
        throw IntegrationError("redis-server did not start:\n\(failures.joined(separator: "\n"))")
    }

    /// The current run's log.
    package var log: String {
        let file = directory.appendingPathComponent("redis-\(state.value.starts).log")
        return (try? String(contentsOf: file, encoding: .utf8)) ?? ""
    }

    package var isRunning: Bool {
        let state = state.value
        return !state.ended && state.process.isRunning
    }

    /// `SHUTDOWN NOSAVE`, SIGKILL if Redis has not exited 5 s later; returns once it has exited.
    ///
    /// Not SIGTERM: children started from the test runner inherit its threads' signal mask, with SIGTERM
    /// blocked, so Redis would only go at the SIGKILL after the grace period.
    package func stop() async {
        let process = state.value.process
        guard process.isRunning else { return }
        process.signal(SIGCONT)  // in case it was suspended
        // Redis closes the connection without a reply: the client's error is the expected outcome.
        let client = RedisClient(port: port, password: password, timeout: .seconds(2))
        _ = try? await blocking { try client.command(["SHUTDOWN", "NOSAVE"]) }
        var code = await process.waitForExit(timeout: .seconds(5))
        if code == nil { code = await process.terminate(grace: .seconds(1)) }
        if code != nil { state.withLock { $0.ended = true } }
    }

    /// SIGSTOP: Redis still accepts connections (the kernel completes them) but answers nothing, as a
    /// hung or overloaded server: callers see timeouts rather than refusals. ``resume()`` continues it.
    package func suspend() {
        state.value.process.signal(SIGSTOP)
    }

    /// SIGCONT after ``suspend()``: Redis answers again, the commands that waited included.
    package func resume() {
        state.value.process.signal(SIGCONT)
    }

    /// Whether Redis answers PING within `timeout`.
    package func ping(timeout: Duration = .seconds(5)) async -> Bool {
        let client = RedisClient(port: port, password: password, timeout: timeout)
        return (try? await blocking { try client.command(["PING"]) }) == .simple("PONG")
    }

    /// SIGKILL, as a crash or an OOM kill would end it; returns once it has exited.
    package func kill() async {
        let process = state.value.process
        process.signal(SIGKILL)
        if await process.waitForExit(timeout: .seconds(10)) != nil { state.withLock { $0.ended = true } }
    }

    /// Stops Redis if it runs and starts it again, empty, on the same port; returns once it answers PING.
    /// Retries for up to 30 s while the port is taken (a connection in TIME_WAIT does not block Redis,
    /// which binds with SO_REUSEADDR, but another test's listener could).
    package func restart() async throws {
        await stop()
        var failures: [String] = []
        let deadline = ContinuousClock.now.advanced(by: .seconds(30))
        repeat {
            let starts = state.value.starts + 1
            let started = try await Self.launch(
                executable,
                port: port,
                password: password,
                directory: directory,
                log: directory.appendingPathComponent("redis-\(starts).log")
            )
            switch started {
            case .success(let process):
                state.withLock { $0 = (process, starts, false) }
                return
            case .failure(let log):
                state.withLock { $0.starts = starts }
                failures.append(String(log.suffix(500)))
                try await Task.sleep(for: .milliseconds(200))
            }
        } while ContinuousClock.now < deadline
        throw IntegrationError(
            "redis-server did not restart on \(port):\n\(failures.suffix(3).joined(separator: "\n"))"
        )
    }

    private enum Launch {
        case success(ManagedProcess)
        /// The process exited before it answered (the port was taken, most likely): its log.
        case failure(String)
    }

    private static func launch(
        _ executable: URL,
        port: Int,
        password: String?,
        directory: URL,
        log: URL
    ) async throws -> Launch {
        var arguments = [
            "--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
            "--daemonize", "no", "--dir", directory.path, "--logfile", "",
        ]
        if let password { arguments += ["--requirepass", password] }
        let process = try ManagedProcess("redis-server", executable: executable, arguments: arguments, logFile: log)
        let client = RedisClient(port: port, password: password)
        var answered = false
        _ = try await eventually(timeout: .seconds(30), interval: .milliseconds(20)) {
            answered = (try? await blocking { try client.command(["PING"]) }) == .simple("PONG")
            return answered || !process.isRunning
        }
        if answered { return .success(process) }
        let text = (try? String(contentsOf: log, encoding: .utf8)) ?? ""
        if process.isRunning {
            await process.terminate(grace: .seconds(2))
            throw IntegrationError("redis-server on \(port) did not answer PING within 30 s:\n\(text.suffix(3000))")
        }
        return .failure(text)
    }

    // MARK: - Client

    /// Sends one command on a fresh connection (authenticated first when the server has a password) and
    /// returns its reply; an error reply is returned as ``RedisValue/error(_:)``, not thrown. Throws when
    /// Redis cannot be reached or does not answer within 5 s.
    @discardableResult
    package func command(_ arguments: [String]) async throws -> RedisValue {
        let client = RedisClient(port: port, password: password)
        return try await blocking { try client.command(arguments) }
    }

    /// ``command(_:)`` with the arguments listed.
    @discardableResult
    package func command(_ arguments: String...) async throws -> RedisValue {
        try await command(arguments)
    }

    /// Sends `request` as it is (commands already encoded) and returns the raw bytes of the next `replies`
    /// replies: to check an encoder's output on the real server, or a parser on the real server's bytes.
    package func exchange(_ request: [UInt8], replies: Int = 1, authenticate: Bool = true) async throws -> [UInt8] {
        let client = RedisClient(port: port, password: authenticate ? password : nil)
        return try await blocking { try client.exchange(request, replies: replies) }
    }
}

/// A Redis reply, for tests.
package indirect enum RedisValue: Equatable, Sendable, CustomStringConvertible {
    case simple(String)
    case error(String)
    case integer(Int64)
    /// nil: the null bulk string.
    case bulk(String?)
    /// nil: the null array.
    case array([RedisValue]?)

    /// The integer of an integer reply, or of a bulk string holding one.
    package var integer: Int64? {
        switch self {
        case .integer(let value): return value
        case .bulk(let text?): return Int64(text)
        default: return nil
        }
    }

    /// The text of a status, error or (non-null) bulk reply.
    package var string: String? {
        switch self {
        case .simple(let text), .error(let text), .bulk(let text?): return text
        default: return nil
        }
    }

    /// The elements of a (non-null) array reply.
    package var elements: [RedisValue]? {
        if case .array(let elements?) = self { return elements }
        return nil
    }

    package var description: String {
        switch self {
        case .simple(let text): return text
        case .error(let text): return "(error) \(text)"
        case .integer(let value): return "(integer) \(value)"
        case .bulk(let text): return text.map { "\"\($0)\"" } ?? "(nil)"
        case .array(let elements):
            return elements.map { "[" + $0.map(\.description).joined(separator: ", ") + "]" } ?? "(nil array)"
        }
    }

    /// The reply at the start of `bytes` and its length; nil while incomplete. Throws on bytes that are not
    /// RESP2.
    static func parse(_ bytes: ArraySlice<UInt8>) throws -> (RedisValue, Int)? {
        guard let type = bytes.first else { return nil }
        guard let cr = bytes.firstIndex(of: UInt8(ascii: "\r")), cr + 1 < bytes.endIndex else { return nil }
        let line = String(decoding: bytes[(bytes.startIndex + 1)..<cr], as: UTF8.self)
        let afterLine = cr + 2 - bytes.startIndex
        switch type {
        case UInt8(ascii: "+"): return (.simple(line), afterLine)
        case UInt8(ascii: "-"): return (.error(line), afterLine)
        case UInt8(ascii: ":"):
            guard let value = Int64(line) else { throw IntegrationError("bad RESP integer \(line)") }
            return (.integer(value), afterLine)
        case UInt8(ascii: "$"):
            guard let length = Int(line) else { throw IntegrationError("bad RESP bulk length \(line)") }
            if length < 0 { return (.bulk(nil), afterLine) }
            guard bytes.count >= afterLine + length + 2 else { return nil }
            let start = bytes.startIndex + afterLine
            return (.bulk(String(decoding: bytes[start..<(start + length)], as: UTF8.self)), afterLine + length + 2)
        case UInt8(ascii: "*"):
            guard let count = Int(line) else { throw IntegrationError("bad RESP array length \(line)") }
            if count < 0 { return (.array(nil), afterLine) }
            var elements: [RedisValue] = []
            var offset = afterLine
            for _ in 0..<count {
                guard let (element, length) = try parse(bytes[(bytes.startIndex + offset)...]) else { return nil }
                elements.append(element)
                offset += length
            }
            return (.array(elements), offset)
        default:
            throw IntegrationError("not RESP: \(String(decoding: bytes.prefix(64), as: UTF8.self))")
        }
    }
}

/// One blocking connection's worth of Redis client: connect, (AUTH), send, read whole replies.
private struct RedisClient {
    var port: Int
    var password: String?
    /// How long a connect, send or read may take.
    var timeout: Duration = .seconds(5)

    func command(_ arguments: [String]) throws -> RedisValue {
        let reply = try exchange(Self.encode(arguments), replies: 1)
        guard let (value, _) = try RedisValue.parse(reply[...]) else { throw IntegrationError("no reply") }
        return value
    }

    func exchange(_ request: [UInt8], replies: Int) throws -> [UInt8] {
        let fd = try connect()
        defer { close(fd) }
        if let password {
            try send(fd, Self.encode(["AUTH", password]))
            let (reply, _) = try receive(fd, replies: 1, after: [])
            guard let (value, _) = try RedisValue.parse(reply[...]), value == .simple("OK") else {
                throw IntegrationError("AUTH refused: \(reply)")
            }
        }
        try send(fd, request)
        return try receive(fd, replies: replies, after: []).bytes
    }

    /// A command as RESP2: an array of bulk strings.
    static func encode(_ arguments: [String]) -> [UInt8] {
        var bytes = Array("*\(arguments.count)\r\n".utf8)
        for argument in arguments {
            bytes += Array("$\(argument.utf8.count)\r\n".utf8) + Array(argument.utf8) + [13, 10]
        }
        return bytes
    }

    private func connect() throws -> Int32 {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw IntegrationError("socket() failed: errno \(errno)") }
        let (seconds, attoseconds) = timeout.components
        var timeout = timeval(tv_sec: Int(seconds), tv_usec: Int(attoseconds / 1_000_000_000_000))
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var address = Loopback.address(port: port)
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard connected == 0 else {
            let code = errno
            close(fd)
            throw IntegrationError("connect to redis on \(port) failed: errno \(code)")
        }
        return fd
    }

    private func send(_ fd: Int32, _ bytes: [UInt8]) throws {
        var sent = 0
        while sent < bytes.count {
            let count = bytes[sent...].withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            // A child's exit (SIGCHLD, handled for Foundation's Process) interrupts a blocking call.
            if count < 0 && errno == EINTR { continue }
            guard count > 0 else { throw IntegrationError("send to redis on \(port) failed: errno \(errno)") }
            sent += count
        }
    }

    /// Reads until `bytes` hold `replies` whole replies; returns exactly their bytes.
    private func receive(_ fd: Int32, replies: Int, after initial: [UInt8]) throws -> (bytes: [UInt8], rest: [UInt8]) {
        var bytes = initial
        var chunk = [UInt8](repeating: 0, count: 65_536)
        while true {
            var offset = 0
            var complete = 0
            while complete < replies, let (_, length) = try RedisValue.parse(bytes[offset...]) {
                offset += length
                complete += 1
            }
            if complete == replies { return (Array(bytes[..<offset]), Array(bytes[offset...])) }
            let count = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if count < 0 && errno == EINTR { continue }
            guard count > 0 else {
                let reason = "closed or timed out (errno \(errno))"
                throw IntegrationError("redis on \(port) \(reason) after \(bytes.count) bytes of \(replies) replies")
            }
            bytes += chunk[..<count]
        }
    }
}
