import AccessLog
import Foundation
import TestSupport
import Testing

@Suite struct TailFollowTests {
    /// The paths process `pid` has open, from /proc/PID/fd.
    static func openFiles(of pid: Int32) -> Set<String> {
        let directory = "/proc/\(pid)/fd"
        let descriptors = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        return Set(
            descriptors.compactMap { try? FileManager.default.destinationOfSymbolicLink(atPath: "\(directory)/\($0)") }
        )
    }

    @Test(.enabled(if: gatewayBinary != nil, "gateway binary not built next to the test bundle; run `swift build`"))
    func followSeesNewLinesWithinAFlushIntervalAcrossRotation() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.cleanup() }
        let flushInterval = 0.5
        var configuration = testConfiguration(directory.path)
        configuration.flushInterval = flushInterval
        let logger = try AccessLogger(configuration: configuration)
        let ring = logger.makeRing()
        try logger.start()
        defer { logger.shutdown() }

        let pipe = Pipe()
        let collector = LineCollector(pipe.fileHandleForReading)
        let process = try ManagedProcess(
            "gateway logs tail",
            executable: URL(fileURLWithPath: gatewayBinary!),
            arguments: ["logs", "tail", "-f", "-n", "0", directory.path],
            logFile: nil,
            stdout: .pipe(pipe)
        )
        // `-n 0` skips what the file holds when tail opens it, so lines pushed before that would be lost.
        let current = URL(fileURLWithPath: directory.file("access.log.zst")).resolvingSymlinksInPath().path
        let opened = try await RotationTests.waitUntil { Self.openFiles(of: process.pid).contains(current) }
        try #require(opened, "logs tail never opened \(current)")

        func ids(_ lines: [String]) -> [Int] {
            lines.compactMap { (jsonObject($0)?["bytes_out"] as? NSNumber)?.intValue }
        }
        // The frame closes at most one flush interval after the first line; tail polls every 0.1 s.
        // The allowance adds 1 s for process scheduling on a busy 2-core machine.
        let allowance = flushInterval + 0.1 + 1.0
        RotationTests.pushAll(ring, 0..<10, route: .none)
        let firstDelay = try await collector.wait(timeout: 10) { ids($0) == Array(0..<10) }
        #expect(firstDelay != nil && firstDelay! < allowance, "first lines after \(firstDelay ?? -1) s")

        logger.rotate()
        #expect(try await RotationTests.waitUntil { logger.stats().rotations == 1 })
        RotationTests.pushAll(ring, 10..<20, route: .none)
        let secondDelay = try await collector.wait(timeout: 10) { ids($0) == Array(0..<20) }
        #expect(secondDelay != nil && secondDelay! < allowance, "lines after rotation after \(secondDelay ?? -1) s")

        // Lines written just before a rotation (still in the old file when renamed) are not lost.
        RotationTests.pushAll(ring, 20..<30, route: .none)
        logger.rotate()
        RotationTests.pushAll(ring, 30..<40, route: .none)
        let thirdDelay = try await collector.wait(timeout: 10) { ids($0) == Array(0..<40) }
        #expect(thirdDelay != nil, "got \(ids(collector.snapshot))")

        // SIGKILL: the test runner's children inherit a signal mask that blocks SIGTERM. (A test that
        // throws earlier leaves this to the ManagedProcess, which kills its child when it goes away.)
        process.signal(SIGKILL)
        await process.waitForExit(timeout: .seconds(10))
    }
}
