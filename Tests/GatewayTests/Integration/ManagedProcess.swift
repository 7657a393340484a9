import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// A child process started by a test, with output going to files and an exit status that can be awaited.
final class ManagedProcess: Sendable {
    private let process: Process
    private let exitStatus = LockedValue<Int32?>(nil)
    let name: String

    /// Starts `executable` with `arguments`; stdout and stderr go to `logFile`, stdin comes from `stdinFile`.
    init(
        _ name: String,
        executable: URL,
        arguments: [String],
        logFile: URL,
        stdoutFile: URL? = nil,
        stdinFile: URL? = nil
    ) throws {
        self.name = name
        let process = Process()
        process.executableURL = executable
        process.arguments = arguments
        _ = FileManager.default.createFile(atPath: logFile.path, contents: nil)
        let log = try FileHandle(forWritingTo: logFile)
        if let stdoutFile {
            _ = FileManager.default.createFile(atPath: stdoutFile.path, contents: nil)
            process.standardOutput = try FileHandle(forWritingTo: stdoutFile)
        } else {
            process.standardOutput = log
        }
        process.standardError = log
        if let stdinFile {
            process.standardInput = try FileHandle(forReadingFrom: stdinFile)
        } else {
            process.standardInput = FileHandle.nullDevice
        }
        let exitStatus = self.exitStatus
        process.terminationHandler = { finished in
            exitStatus.withLock { $0 = finished.terminationStatus }
        }
        try process.run()
        self.process = process
    }

    /// Starts a long-running child and returns it once `ready` gives a value (polled every 20 ms), such as
    /// the port it listens on. A child that exits first, or is not ready within `timeout`, is stopped and
    /// its log is thrown.
    static func launch<Ready>(
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
        _ = try await IntegrationEnvironment.eventually(timeout: timeout) {
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

    var pid: Int32 { process.processIdentifier }

    /// The exit status once the process has ended, nil while it runs.
    var exitCode: Int32? { exitStatus.value }

    var isRunning: Bool { exitCode == nil }

    /// Signals this harness sent, so that a failure can tell them from a signal sent by someone else.
    private let sentSignals = LockedValue<[Int32]>([])

    var signalsSent: [Int32] { sentSignals.value }

    func signal(_ number: Int32) {
        if isRunning {
            sentSignals.withLock { $0.append(number) }
            kill(pid, number)
        }
    }

    /// Waits until the process ends (nil if it is still running after `timeout`).
    @discardableResult
    func waitForExit(timeout: Duration) async -> Int32? {
        _ = try? await IntegrationEnvironment.eventually(timeout: timeout, interval: .milliseconds(10)) { !isRunning }
        return exitCode
    }

    /// SIGTERM, then SIGKILL if it has not exited within `grace`; returns the exit status.
    @discardableResult
    func terminate(grace: Duration = .seconds(10)) async -> Int32? {
        signal(SIGTERM)
        if let code = await waitForExit(timeout: grace) { return code }
        signal(SIGKILL)
        return await waitForExit(timeout: .seconds(5))
    }

    deinit {
        // Never leave a child behind when a test throws before its teardown.
        if exitStatus.value == nil { kill(process.processIdentifier, SIGKILL) }
    }
}
