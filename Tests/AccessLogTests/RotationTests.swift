import AccessLog
import Foundation
import TestSupport
import Testing

@Suite struct RotationTests {
    /// Pushes records `range` into `ring`, retrying while the ring is full so none is dropped.
    static func pushAll(_ ring: AccessLogRing, _ range: Range<Int>, route: AccessLogSymbol) {
        for index in range {
            while !ring.push(filling: { fillSample(&$0, writer: 1, index: index, route: route) }) {
                usleep(50)
            }
        }
    }

    /// `bytes_out` of every line of the files, in order, decoded by the real zstd CLI.
    static func indices(_ paths: [String]) async throws -> [Int] {
        let (status, lines) = try await Command.zstdDecompress(paths)
        #expect(status == 0)
        return lines.map { (jsonObject($0)?["bytes_out"] as? NSNumber)?.intValue ?? -1 }
    }

    /// Polls `condition` every 5 ms for up to `timeout` seconds.
    static func waitUntil(_ timeout: Double = 10, _ condition: () -> Bool) async throws -> Bool {
        try await eventually(timeout: .seconds(timeout), interval: .milliseconds(5), condition)
    }

    @Test func rotationUnderLoadLosesAndDuplicatesNothing() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.cleanup() }
        var configuration = testConfiguration(directory.path, ringCapacity: 1024)
        configuration.frameSize = 8 << 10
        configuration.maxFileSize = 16 << 10
        let logger = try AccessLogger(configuration: configuration)
        let ring = logger.makeRing()
        let route = try logger.register("rotating")
        try logger.start()
        let total = 150_000
        // Explicit rotations from another thread race with the size-based ones.
        let rotator = Thread {
            for _ in 0..<20 {
                logger.rotate()
                usleep(10_000)
            }
        }
        rotator.start()
        // On a thread of its own: pushing waits whenever the ring is full, for seconds on a loaded machine.
        try await blocking { Self.pushAll(ring, 0..<total, route: route) }
        logger.shutdown()

        let files = AccessLogFiles(directory: directory.path)
        let rotated = files.rotatedPaths()
        let stats = logger.stats()
        #expect(rotated.count >= 10)
        #expect(UInt64(rotated.count) == stats.rotations)
        #expect(rotated == rotated.sorted())
        #expect(try await Self.indices(files.allPaths()) == Array(0..<total))
        #expect(stats.recordsWritten == UInt64(total))
        // pushAll retries on a full ring; each refused push is counted as a drop by design.
    }

    @Test func retentionKeepsTheNewestFiles() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.cleanup() }
        var configuration = testConfiguration(directory.path)
        configuration.retention = 2
        let logger = try AccessLogger(configuration: configuration)
        let ring = logger.makeRing()
        try logger.start()
        for round in 0..<5 {
            Self.pushAll(ring, round * 10..<round * 10 + 10, route: .none)
            #expect(try await Self.waitUntil { logger.stats().recordsWritten == UInt64(round * 10 + 10) })
            logger.rotate()
            #expect(try await Self.waitUntil { logger.stats().rotations == UInt64(round + 1) })
        }
        logger.shutdown()
        let files = AccessLogFiles(directory: directory.path)
        #expect(files.rotatedPaths().count == 2)
        // The current file is empty after the last rotation but still decodes.
        #expect(try await Self.indices(files.allPaths()) == Array(30..<50))
    }

    @Test func ageRotation() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.cleanup() }
        var configuration = testConfiguration(directory.path)
        configuration.maxAge = 0.3
        let logger = try AccessLogger(configuration: configuration)
        let ring = logger.makeRing()
        try logger.start()
        Self.pushAll(ring, 0..<5, route: .none)
        #expect(try await Self.waitUntil { logger.stats().rotations >= 1 })
        Self.pushAll(ring, 5..<10, route: .none)
        logger.shutdown()
        let files = AccessLogFiles(directory: directory.path)
        #expect(try await Self.indices(files.allPaths()) == Array(0..<10))
    }

    @Test func reopenAfterExternalRename() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.cleanup() }
        let logger = try AccessLogger(configuration: testConfiguration(directory.path))
        let ring = logger.makeRing()
        try logger.start()
        Self.pushAll(ring, 0..<100, route: .none)
        #expect(try await Self.waitUntil { logger.stats().recordsWritten == 100 })
        // What logrotate does: rename, then ask for a reopen.
        #expect(rename(directory.file("access.log.zst"), directory.file("moved.zst")) == 0)
        logger.reopen()
        #expect(try await Self.waitUntil { logger.stats().reopens == 1 })
        Self.pushAll(ring, 100..<200, route: .none)
        logger.shutdown()
        #expect(try await Self.indices([directory.file("moved.zst")]) == Array(0..<100))
        #expect(try await Self.indices([directory.file("access.log.zst")]) == Array(100..<200))
    }

    @Test func reopenOnSIGUSR1() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.cleanup() }
        let logger = try AccessLogger(configuration: testConfiguration(directory.path))
        logger.handleReopenSignal(SIGUSR1)
        let ring = logger.makeRing()
        try logger.start()
        Self.pushAll(ring, 0..<50, route: .none)
        #expect(try await Self.waitUntil { logger.stats().recordsWritten == 50 })
        #expect(rename(directory.file("access.log.zst"), directory.file("access.log.zst.1")) == 0)
        #expect(kill(getpid(), SIGUSR1) == 0)
        #expect(try await Self.waitUntil { logger.stats().reopens >= 1 })
        Self.pushAll(ring, 50..<80, route: .none)
        logger.shutdown()
        #expect(try await Self.indices([directory.file("access.log.zst.1")]) == Array(0..<50))
        #expect(try await Self.indices([directory.file("access.log.zst")]) == Array(50..<80))
    }
}
