import Foundation

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

extension Command {
    /// The lines of a zstd-compressed file (an access log), decompressed by the real `zstd -dc`.
    static func zstdLines(of file: URL, in directory: URL) async throws -> [String] {
        let result = try await run("zstd", ["-dc", file.path], in: directory, timeout: .seconds(20))
        guard result.exitCode == 0 else {
            throw IntegrationError("zstd -dc \(file.path) failed (\(result.exitCode)): \(result.log)")
        }
        return result.stdout.split(separator: "\n", omittingEmptySubsequences: true).map(String.init)
    }
}
