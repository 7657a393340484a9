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
        let clock = ContinuousClock()
        let deadline = clock.now.advanced(by: timeout)
        while clock.now < deadline {
            if let code = exitCode { return code }
            try? await Task.sleep(for: .milliseconds(10))
        }
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

/// The result of running a short-lived command to completion.
struct CommandResult {
    var exitCode: Int32
    var stdout: String
    var log: String
}

enum Command {
    /// Runs `executable` to completion (killing it after `timeout`), capturing stdout and stderr via files.
    static func run(
        _ executable: String,
        _ arguments: [String],
        in directory: URL,
        stdinFile: URL? = nil,
        timeout: Duration = .seconds(60)
    ) async throws -> CommandResult {
        let tag = UUID().uuidString.prefix(8)
        let out = directory.appendingPathComponent("cmd-\(tag).out")
        let log = directory.appendingPathComponent("cmd-\(tag).err")
        let process = try ManagedProcess(
            executable,
            executable: URL(fileURLWithPath: "/usr/bin/env"),
            arguments: [executable] + arguments,
            logFile: log,
            stdoutFile: out,
            stdinFile: stdinFile
        )
        guard let code = await process.waitForExit(timeout: timeout) else {
            await process.terminate(grace: .seconds(1))
            throw IntegrationError("\(executable) \(arguments) did not finish within \(timeout)")
        }
        return CommandResult(
            exitCode: code,
            stdout: (try? String(contentsOf: out, encoding: .utf8)) ?? "",
            log: (try? String(contentsOf: log, encoding: .utf8)) ?? ""
        )
    }
}
