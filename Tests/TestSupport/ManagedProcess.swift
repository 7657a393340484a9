import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// A child process started by a test, with output going to files (or a pipe) and an exit status that can be
/// awaited. A child still running when its `ManagedProcess` goes away is killed.
package final class ManagedProcess: Sendable {
    /// Where a child's standard output goes.
    package enum Output {
        /// With its standard error: into the log file, or the test runner's own stderr when there is none.
        case log
        /// Into this file, apart from the log.
        case file(URL)
        /// Into this pipe, read by the test as the child writes.
        case pipe(Pipe)
        /// To /dev/null.
        case discarded
    }

    private struct Termination {
        var status: Int32
        var bySignal: Bool
    }

    private let process: Process
    private let termination = LockedValue<Termination?>(nil)
    package let name: String

    /// Starts `executable` with `arguments`. Standard error goes to `logFile` (the test runner's stderr when
    /// nil), standard output as `stdout` says, and standard input comes from `stdinFile` (else /dev/null).
    package init(
        _ name: String,
        executable: URL,
        arguments: [String],
        logFile: URL?,
        stdout: Output = .log,
        stdinFile: URL? = nil
    ) throws {
        self.name = name
        let process = Process()
        process.executableURL = executable
        process.arguments = arguments
        var log: FileHandle?
        // Descriptors opened here for the child: the child gets copies at spawn, so the parent closes its
        // own right after. `Process` objects are never freed (a swift-corelibs-foundation cycle), so
        // left open, every child leaked them: 2,300 descriptors in one run, which slowed the runner's
        // own descriptor polling and stalled the suite on a loaded machine.
        var opened: [FileHandle] = []
        if let logFile {
            _ = FileManager.default.createFile(atPath: logFile.path, contents: nil)
            let handle = try FileHandle(forWritingTo: logFile)
            log = handle
            opened.append(handle)
            process.standardError = handle
        }
        switch stdout {
        case .log:
            if let log { process.standardOutput = log }
        case .file(let file):
            _ = FileManager.default.createFile(atPath: file.path, contents: nil)
            let handle = try FileHandle(forWritingTo: file)
            opened.append(handle)
            process.standardOutput = handle
        case .pipe(let pipe):
            process.standardOutput = pipe
        case .discarded:
            process.standardOutput = FileHandle.nullDevice
        }
        if let stdinFile {
            let handle = try FileHandle(forReadingFrom: stdinFile)
            opened.append(handle)
            process.standardInput = handle
        } else {
            process.standardInput = FileHandle.nullDevice
        }
        let termination = self.termination
        process.terminationHandler = { finished in
            let ended = Termination(
                status: finished.terminationStatus,
                bySignal: finished.terminationReason == .uncaughtSignal
            )
            termination.withLock { $0 = ended }
        }
        // A child inherits the signal mask of the thread that spawns it, and the threads tests run on block
        // nearly every signal: the child would ignore SIGTERM (and `terminate` would wait out its grace).
        var unblocked = sigset_t()
        var previous = sigset_t()
        sigemptyset(&unblocked)
        pthread_sigmask(SIG_SETMASK, &unblocked, &previous)
        defer { pthread_sigmask(SIG_SETMASK, &previous, nil) }
        defer { for handle in opened { try? handle.close() } }
        try process.run()
        self.process = process
        startTime = Self.startTime(pid: process.processIdentifier)
    }

    /// When the child started (clock ticks since boot, /proc/PID/stat field 22), read right after it was
    /// spawned: with `pid_max` at 32768 and thousands of children per test run, a PID is soon reused, and a
    /// signal meant for a child that has exited and been reaped must not reach whoever holds its PID now.
    private let startTime: UInt64?

    private static func startTime(pid: Int32) -> UInt64? {
        guard pid > 0, let text = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
            let close = text.lastIndex(of: ")")
        else { return nil }
        let fields = text[text.index(after: close)...].split(separator: " ")
        return fields.count > 19 ? UInt64(fields[19]) : nil
    }

    /// The child has been reaped: its PID is free, or names another process.
    private var vanished: Bool {
        guard let startTime else { return false }
        return Self.startTime(pid: process.processIdentifier) != startTime
    }

    /// Starts a long-running child and returns it once `ready` gives a value (polled every 20 ms), such as
    /// the port it listens on. A child that exits first, or is not ready within `timeout`, is stopped and
    /// its log is thrown.
    package static func launch<Ready>(
        _ name: String,
        executable: URL,
        arguments: [String],
        logFile: URL,
        timeout: Duration = .seconds(60),
        until ready: () -> Ready?
    ) async throws -> (process: ManagedProcess, ready: Ready) {
        let process = try ManagedProcess(name, executable: executable, arguments: arguments, logFile: logFile)
        let started = ContinuousClock.now
        var value: Ready?
        _ = try await eventually(timeout: timeout) {
            value = ready()
            // A child that has exited will never be ready: stop polling at once.
            return value != nil || !process.isRunning
        }
        if let value { return (process, value) }
        let outcome =
            process.isRunning
            ? "was not ready within \(ContinuousClock.now - started)"
            : "exited with status \(process.exitCode.map(String.init) ?? "?") before it was ready"
        await process.terminate(grace: .seconds(2))
        let log = (try? String(contentsOf: logFile, encoding: .utf8)) ?? ""
        throw IntegrationError("\(name) \(outcome):\n\(log)")
    }

    package var pid: Int32 { process.processIdentifier }

    /// What the kernel says the process is doing, for a process that did not end when it should have: its
    /// /proc state line, wait channel and the top of its main thread's kernel stack.
    package var kernelState: String {
        func read(_ file: String) -> String {
            ((try? String(contentsOfFile: "/proc/\(pid)/\(file)", encoding: .utf8)) ?? "gone")
                .trimmingCharacters(in: .whitespacesAndNewlines)
        }
        let stack = read("stack").split(separator: "\n").prefix(6).joined(separator: " < ")
        return "stat: \(read("stat").prefix(120)), wchan: \(read("wchan")), stack: \(stack)"
    }

    /// The exit status once the process has ended (the signal's number if one ended it), nil while it runs.
    package var exitCode: Int32? { ended?.status }

    /// Why the process ended, nil while it runs.
    package var terminationReason: Process.TerminationReason? {
        ended.map { $0.bySignal ? .uncaughtSignal : .exit }
    }

    /// How the process ended: as Foundation reported it, or as the kernel shows a child that has exited but
    /// not been reaped yet. Foundation learns of a child's exit when a descriptor the child holds closes; a
    /// process started at the same moment by another test (a long-lived server, a tmux daemon) can inherit
    /// that descriptor and delay the report for as long as it runs, which made a gateway that had exited
    /// look hung.
    private var ended: Termination? {
        if let reported = termination.value { return reported }
        return Self.zombie(pid: process.processIdentifier)
    }

    /// The exit status of `pid` if it is a zombie (exited, not yet reaped), from /proc/PID/stat: state
    /// (field 3) `Z` and exit_code (field 52, in waitpid's encoding).
    private static func zombie(pid: Int32) -> Termination? {
        guard pid > 0, let text = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
            let close = text.lastIndex(of: ")")
        else { return nil }
        // Fields after the command name (which may hold spaces and parentheses) start at field 3.
        let fields = text[text.index(after: close)...].split(separator: " ")
        guard fields.count > 49, fields[0] == "Z",
            let code = Int32(fields[49].trimmingCharacters(in: .whitespacesAndNewlines))
        else { return nil }
        let signal = code & 0x7F
        return signal != 0
            ? Termination(status: signal, bySignal: true) : Termination(status: (code >> 8) & 0xFF, bySignal: false)
    }

    package var isRunning: Bool { exitCode == nil && !vanished }

    /// Signals this harness sent, so that a failure can tell them from a signal sent by someone else.
    private let sentSignals = LockedValue<[Int32]>([])

    package var signalsSent: [Int32] { sentSignals.value }

    package func signal(_ number: Int32) {
        if isRunning {
            sentSignals.withLock { $0.append(number) }
            kill(pid, number)
        }
    }

    /// Waits until the process ends (nil if it is still running after `timeout`).
    @discardableResult
    package func waitForExit(timeout: Duration) async -> Int32? {
        let deadline = ContinuousClock.now.advanced(by: timeout)
        while ContinuousClock.now < deadline {
            if let code = exitCode { return code }
            // Not `eventually`: in a cancelled task every sleep throws at once, which ended the wait early
            // and reported a child that was already gone as "did not finish" (seen on CI). The wait lasts
            // until the child ends or the deadline, cancelled or not, and never blocks one of the few
            // cooperative threads every test shares (a blocking wait in a timed-out test's teardown once
            // stalled the whole suite for longer than the gateways' keep-alive timeout).
            if Task.isCancelled {
                await Self.pauseIgnoringCancellation(milliseconds: 10)
            } else {
                try? await Task.sleep(for: .milliseconds(10))
            }
        }
        return exitCode
    }

    /// Waits `milliseconds` even in a cancelled task, on a timer rather than on a blocked thread.
    private static func pauseIgnoringCancellation(milliseconds: Int) async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            DispatchQueue.global().asyncAfter(deadline: .now() + .milliseconds(milliseconds)) {
                continuation.resume()
            }
        }
    }

    /// SIGTERM, then SIGKILL if it has not exited within `grace`; returns the exit status.
    @discardableResult
    package func terminate(grace: Duration = .seconds(10)) async -> Int32? {
        signal(SIGTERM)
        if let code = await waitForExit(timeout: grace) { return code }
        signal(SIGKILL)
        return await waitForExit(timeout: .seconds(5))
    }

    deinit {
        // Never leave a child behind when a test throws before its teardown.
        if ended == nil && !vanished { kill(process.processIdentifier, SIGKILL) }
    }
}
