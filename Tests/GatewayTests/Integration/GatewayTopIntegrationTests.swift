import Foundation
import TestSupport
import Testing

/// `gateway top` in a real terminal: tmux runs it detached, the test reads the screen with
/// `capture-pane` and types with `send-keys`.
@Suite("Integration: gateway top under tmux")
struct GatewayTopIntegrationTests {
    /// A private tmux server (its own socket), so the test touches no one else's sessions.
    struct Tmux {
        let socket = "gwtop-\(UUID().uuidString.prefix(8))"
        let directory: URL

        /// Runs tmux through a Python `subprocess` with `close_fds`: Foundation's `Process` notices a child's
        /// exit through a descriptor the child inherits, and the tmux server the first command forks would
        /// keep it open (so the command would seem never to end).
        @discardableResult
        func run(_ arguments: [String]) async throws -> CommandResult {
            try await Command.run(
                "python3",
                [
                    "-c", "import subprocess, sys; sys.exit(subprocess.call(sys.argv[1:], close_fds=True))",
                    "env", "TERM=xterm-256color", "tmux", "-L", socket,
                ] + arguments,
                in: directory,
                timeout: .seconds(20)
            )
        }

        /// Starts `command` (a shell line) in a detached 160x50 session named `name`.
        func start(_ name: String, _ command: String) async throws {
            let result = try await run(["new-session", "-d", "-s", name, "-x", "160", "-y", "50", command])
            guard result.exitCode == 0 else { throw IntegrationError("tmux new-session: \(result.log)") }
        }

        func screen(_ name: String) async throws -> String {
            try await run(["capture-pane", "-p", "-t", name]).stdout
        }

        func isRunning(_ name: String) async throws -> Bool {
            try await run(["has-session", "-t", name]).exitCode == 0
        }

        func killServer() async {
            _ = try? await run(["kill-server"])
        }
    }

    /// Polls the screen of `name` until `wanted` all show; returns the last screen.
    static func waitForScreen(_ tmux: Tmux, _ name: String, showing wanted: [String]) async throws -> String {
        var screen = ""
        let shown = try await eventually(timeout: .seconds(30), interval: .milliseconds(200)) {
            screen = try await tmux.screen(name)
            return wanted.allSatisfy { screen.contains($0) }
        }
        #expect(shown, "gateway top never showed \(wanted.filter { !screen.contains($0) }):\n\(screen)")
        return screen
    }

    @Test("shows routes, node states and SLO budgets, refreshes, and exits on q (and on Ctrl-C)")
    func topUnderTmux() async throws {
        let directory = try IntegrationEnvironment.makeTemporaryDirectory("gateway-top")
        let upstream = try await UpstreamProcess.start(in: directory)
        // Held bound (not listening) for the whole test: a released port could be taken by another test's
        // listener, which would answer for the "dead" node.
        let dead = try RefusingPort()
        defer { withExtendedLifetime(dead) {} }
        let deadPort = dead.port
        let deadNode = "127.0.0.1:\(deadPort)"
        let gateway: GatewayProcess
        do {
            gateway = try await StatusPageIntegrationTests.start(in: directory, upstream: upstream, deadPort: deadPort)
        } catch {
            await upstream.stop()
            throw error
        }
        let tmux = Tmux(directory: directory)
        try await IntegrationEnvironment.withTearDown(of: directory) {
            try await StatusPageIntegrationTests.prepare(gateway, deadNode: deadNode, in: directory)
            let binary = IntegrationEnvironment.gatewayBinary.path
            let exitFile = directory.appendingPathComponent("top.exit")
            try await tmux.start(
                "top",
                "'\(binary)' top --control \(gateway.controlURL); echo \"exit=$?\" > '\(exitFile.path)'"
            )
            let screen = try await Self.waitForScreen(
                tmux,
                "top",
                showing: [
                    "ROUTE", "api", "legacy", "UPSTREAM backend", "UPSTREAM broken", deadNode, "DOWN", "up",
                    "SLO BUDGET REMAINING (since", "route legacy",
                ]
            )
            let deadLine = screen.split(separator: "\n").first { $0.contains(deadNode) } ?? ""
            #expect(deadLine.contains("DOWN") && deadLine.contains("unhealthy"), "dead node line: \(deadLine)")
            // legacy fails every request: its 99% availability budget is spent (a negative share left).
            let sloLine = screen.split(separator: "\n").first { $0.contains("route legacy") }.map(String.init) ?? ""
            let budget = sloLine.split(separator: " ").last.map(String.init) ?? ""
            #expect(sloLine.contains("availability") && sloLine.contains("99%"), "SLO line: \(sloLine)")
            #expect(budget.hasPrefix("-") && budget.hasSuffix("%"), "SLO line: \(sloLine)")
            let apiLines = screen.split(separator: "\n").filter { $0.contains("route api") }
            #expect(
                apiLines.count == 2 && apiLines.allSatisfy { $0.hasSuffix("100.00%") },
                "api SLO lines: \(apiLines)"
            )
            // It refreshes: the clock in the title changes.
            let title = screen.split(separator: "\n").first.map(String.init) ?? ""
            let refreshed = try await eventually(timeout: .seconds(10), interval: .milliseconds(200)) {
                let now = try await tmux.screen("top").split(separator: "\n").first.map(String.init) ?? ""
                return now.hasPrefix("gateway top") && now != title
            }
            #expect(refreshed, "the screen did not refresh: \(title)")

            try await tmux.run(["send-keys", "-t", "top", "q"])
            let exited = try await eventually(timeout: .seconds(15), interval: .milliseconds(100)) {
                try await !tmux.isRunning("top")
            }
            let after = exited ? "" : try await tmux.screen("top")
            #expect(exited, "gateway top still runs after q:\n\(after)")
            let status = try? String(contentsOf: exitFile, encoding: .utf8)
            #expect(
                status?.trimmingCharacters(in: .whitespacesAndNewlines) == "exit=0",
                "\(String(describing: status))"
            )

            // Ctrl-C: the terminal's SIGINT ends it too (exit status 130 after restoring the terminal).
            try? FileManager.default.removeItem(at: exitFile)
            // The wrapping shell ignores SIGINT so that it still writes the exit status (top sets its own handler).
            try await tmux.start(
                "interrupt",
                "trap '' INT; '\(binary)' top --control \(gateway.controlURL); echo \"exit=$?\" > '\(exitFile.path)'"
            )
            _ = try await Self.waitForScreen(tmux, "interrupt", showing: ["UPSTREAM backend"])
            try await tmux.run(["send-keys", "-t", "interrupt", "C-c"])
            let interrupted = try await eventually(timeout: .seconds(15), interval: .milliseconds(100)) {
                try await !tmux.isRunning("interrupt")
            }
            #expect(interrupted, "gateway top still runs after Ctrl-C")
            let interruptStatus = try? String(contentsOf: exitFile, encoding: .utf8)
            #expect(interruptStatus?.trimmingCharacters(in: .whitespacesAndNewlines) == "exit=130")
        } tearDown: {
            await tmux.killServer()
            let clean = await gateway.finish()
            await upstream.stop()
            return clean
        }
    }
}
