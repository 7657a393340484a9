import Foundation
import TestSupport
import Testing

/// The harness sees a child's exit when it happens, even while a grandchild keeps the child's descriptors.
@Suite struct ManagedProcessTests {
    @Test func anExitIsSeenWhileAGrandchildStillHoldsTheChildsDescriptors() async throws {
        let directory = try IntegrationEnvironment.makeTemporaryDirectory("managed-process")
        defer { try? FileManager.default.removeItem(at: directory) }
        // The shell exits at once with 3; the sleep it leaves behind inherits every descriptor it had.
        let process = try ManagedProcess(
            "sh",
            executable: URL(fileURLWithPath: "/bin/sh"),
            arguments: ["-c", "sleep 127 & exit 3"],
            logFile: directory.appendingPathComponent("sh.log")
        )
        let code = await process.waitForExit(timeout: .seconds(60))
        #expect(code == 3)
        #expect(process.terminationReason == .exit)
        // Seen while the grandchild still holds the descriptors (no wall-clock bound: CI is loaded).
        let grandchild = try await Command.run("pgrep", ["-f", "^sleep 127$"])
        #expect(grandchild.exitCode == 0, "the exit was seen only once the grandchild had gone")
        _ = try? await Command.run("pkill", ["-f", "^sleep 127$"])
    }
}

extension ManagedProcessTests {
    @Test func aCancelledTaskStillWaitsForTheExit() async throws {
        let directory = try IntegrationEnvironment.makeTemporaryDirectory("managed-process-cancel")
        defer { try? FileManager.default.removeItem(at: directory) }
        let process = try ManagedProcess(
            "sh",
            executable: URL(fileURLWithPath: "/bin/sh"),
            arguments: ["-c", "sleep 0.5; exit 4"],
            logFile: directory.appendingPathComponent("sh.log")
        )
        let waiter = Task { await process.waitForExit(timeout: .seconds(15)) }
        waiter.cancel()
        #expect(await waiter.value == 4)
    }
}
