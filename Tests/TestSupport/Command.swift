import Foundation

/// The result of running a short-lived command to completion.
package struct CommandResult: Sendable {
    package var exitCode: Int32
    /// Standard output, byte for byte.
    package var output: Data
    /// Standard error.
    package var log: String

    /// Standard output as text (invalid UTF-8 replaced).
    package var stdout: String { String(decoding: output, as: UTF8.self) }
}

/// Runs real programs to completion: the tools the tests check against (curl, zstd, promtool, ...) and the
/// package's own executables.
package enum Command {
    /// Runs `executable` (a name looked up on PATH, or a path) to completion, killing it after `timeout`.
    /// Standard input comes from `stdinFile` or `input` (else /dev/null); stdout and stderr are captured via
    /// files in `directory`, or in a temporary directory of the call's own, removed afterwards.
    package static func run(
        _ executable: String,
        _ arguments: [String],
        in directory: URL? = nil,
        stdinFile: URL? = nil,
        input: Data? = nil,
        timeout: Duration = .seconds(60)
    ) async throws -> CommandResult {
        precondition(stdinFile == nil || input == nil, "give stdinFile or input, not both")
        let workDirectory = try directory ?? TestFiles.makeTemporaryDirectory("command")
        defer {
            if directory == nil { try? FileManager.default.removeItem(at: workDirectory) }
        }
        let tag = UUID().uuidString.prefix(8)
        let out = workDirectory.appendingPathComponent("cmd-\(tag).out")
        let log = workDirectory.appendingPathComponent("cmd-\(tag).err")
        var stdin = stdinFile
        if let input {
            let file = workDirectory.appendingPathComponent("cmd-\(tag).in")
            try input.writeTestFile(to: file)
            stdin = file
        }
        defer {
            if input != nil, let stdin { try? FileManager.default.removeItem(at: stdin) }
        }
        let process = try ManagedProcess(
            executable,
            executable: URL(fileURLWithPath: "/usr/bin/env"),
            arguments: [executable] + arguments,
            logFile: log,
            stdout: .file(out),
            stdinFile: stdin
        )
        guard let code = await process.waitForExit(timeout: timeout) else {
            // What the kernel says the child was doing, for a hang that is the harness's rather than the
            // program's (a child that never reached exec, an exit that was not reported).
            let state = process.kernelState
            await process.terminate(grace: .seconds(1))
            throw IntegrationError("\(executable) \(arguments) did not finish within \(timeout) (\(state))")
        }
        return CommandResult(
            exitCode: code,
            output: (try? Data(contentsOf: out)) ?? Data(),
            log: (try? String(contentsOf: log, encoding: .utf8)) ?? ""
        )
    }
}

extension Command {
    /// Decompresses `files` with the real `zstd -dcq` and splits what it wrote into lines (the newline ending
    /// the last line starts no further, empty one); the status says whether zstd read every file cleanly.
    package static func zstdDecompress(
        _ files: [String],
        in directory: URL? = nil
    ) async throws -> (status: Int32, lines: [String]) {
        let (result, lines) = try await zstd(files, in: directory)
        return (result.exitCode, lines)
    }

    /// The non-empty lines of a zstd-compressed file (an access log); throws unless zstd decompresses it cleanly.
    package static func zstdLines(of file: URL, in directory: URL) async throws -> [String] {
        let (result, lines) = try await zstd([file.path], in: directory)
        guard result.exitCode == 0 else {
            throw IntegrationError("zstd -dcq \(file.path) failed (\(result.exitCode)): \(result.log)")
        }
        return lines.filter { !$0.isEmpty }
    }

    private static func zstd(_ files: [String], in directory: URL?) async throws -> (CommandResult, [String]) {
        let result = try await run("zstd", ["-dcq"] + files, in: directory, timeout: .seconds(20))
        var lines = result.stdout.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        if lines.last == "" { lines.removeLast() }
        return (result, lines)
    }
}
