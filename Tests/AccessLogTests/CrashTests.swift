import AccessLog
import Foundation
import TestSupport
import Testing

@Suite struct CrashTests {
    @Test(.enabled(if: gatewayBinary != nil, "gateway binary not built next to the test bundle; run `swift build`"))
    func killDashNineLeavesADecodableFile() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.cleanup() }
        let process = try ManagedProcess(
            "gateway logs generate",
            executable: URL(fileURLWithPath: gatewayBinary!),
            arguments: [
                // The rate bounds how many lines pile up while a loaded machine is slow to see the file
                // grow: every one of them is decoded and parsed below.
                "logs", "generate", "--count", "0", "--rate", "10000", "--flush-interval", "0.05", directory.path,
            ],
            logFile: nil,
            stdout: .discarded
        )
        let path = directory.file("access.log.zst")
        var size = 0
        _ = try await eventually(timeout: .seconds(20)) {
            size = (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? 0
            return size >= 64 << 10
        }
        process.signal(SIGKILL)
        await process.waitForExit(timeout: .seconds(10))
        #expect(process.terminationReason == .uncaughtSignal)
        #expect(size >= 64 << 10)

        let (status, decoded) = try await Command.zstdDecompress([path])
        // Parsing every line is long CPU work: on a thread of its own, not one every other test shares.
        let (count, ids) = try await blocking { () -> (Int, [String?]) in
            var lines = decoded
            if status != 0 {
                // SIGKILL can cut the write of the frame in flight (a fatal signal ends a large write between
                // pages): zstd then reports a truncated last frame after everything before it. Only that
                // frame's tail may be lost, never a line before it.
                while let last = lines.last, jsonObject(last) == nil { lines.removeLast() }
            }
            return (lines.count, lines.map { jsonObject($0)?["request_id"] as? String })
        }
        #expect(count > 1000)
        // Every line from gen-0 on is there, in order, each valid JSON: only the unfinished frame is lost.
        #expect(ids == (0..<count).map { "gen-\($0)" })
    }

    @Test func readerWaitsForAPartialFrameAndSkipsDamage() throws {
        let directory = try TemporaryDirectory()
        defer { directory.cleanup() }
        var configuration = testConfiguration(directory.path, fields: [.bytesOut])
        configuration.frameSize = 4096
        let logger = try AccessLogger(configuration: configuration)
        let ring = logger.makeRing()
        try logger.start()
        RotationTests.pushAll(ring, 0..<2000, route: .none)
        logger.shutdown()
        #expect(logger.stats().frames >= 3)
        let whole = try Data(contentsOf: URL(fileURLWithPath: directory.file("access.log.zst")))

        // A live file whose writer is midway through a frame: lines up to the last complete frame.
        let live = directory.file("live.zst")
        let cut = whole.count * 2 / 3
        try whole.prefix(cut).writeTestFile(to: URL(fileURLWithPath: live))
        let reader = try AccessLogFileReader(path: live)
        let first = try reader.readLines()
        #expect(first.count > 0 && first.count < 2000)
        #expect(try reader.readLines().isEmpty)
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: live))
        handle.seekToEndOfFile()
        handle.write(whole.suffix(from: cut))
        try handle.close()
        let rest = try reader.readLines()
        #expect((first + rest).map { jsonObject($0)?["bytes_out"] as? Int } == (0..<2000).map { $0 })
        #expect(reader.skippedBytes == 0)

        // A torn frame followed by good ones (a crash, then a restart appending): the torn part is skipped.
        let damaged = directory.file("damaged.zst")
        var bytes = whole.prefix(cut)
        bytes.append(whole)
        try bytes.writeTestFile(to: URL(fileURLWithPath: damaged))
        let damagedLines = try AccessLogFileReader(path: damaged).readLines()
        #expect(
            damagedLines.count >= 2000
                && damagedLines.suffix(2000).map { jsonObject($0)?["bytes_out"] as? Int } == (0..<2000).map { $0 }
        )
    }
}
