import AccessLog
import Foundation
import TestSupport
import Testing

@Suite struct ConcurrencyTests {
    /// Numbers on each `{"bytes_in":W,"bytes_out":I}` line: (writer, index).
    static func parsePairs(_ data: Data) -> [(writer: Int, index: Int)] {
        var pairs: [(writer: Int, index: Int)] = []
        pairs.reserveCapacity(data.count / 30)
        data.withUnsafeBytes { raw in
            var numbers = (0, 0)
            var which = 0
            var inNumber = false
            for byte in raw {
                if byte >= 48 && byte <= 57 {
                    let digit = Int(byte - 48)
                    if which == 0 { numbers.0 = numbers.0 * 10 + digit } else { numbers.1 = numbers.1 * 10 + digit }
                    inNumber = true
                } else {
                    if inNumber { which += 1 }
                    inNumber = false
                    if byte == 0x0A {
                        pairs.append((numbers.0, numbers.1))
                        numbers = (0, 0)
                        which = 0
                    }
                }
            }
        }
        return pairs
    }

    @Test func twoWritersLinesPlusDropsEqualRecordsIn() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.cleanup() }
        let perWriter = 1_000_000
        let logger = try AccessLogger(
            configuration: testConfiguration(directory.path, fields: [.bytesIn, .bytesOut], ringCapacity: 2048)
        )
        let rings = [logger.makeRing(), logger.makeRing()]
        let route = try logger.register("r")
        try logger.start()
        let group = DispatchGroup()
        for writer in 0..<2 {
            let ring = rings[writer]
            let thread = Thread {
                for index in 0..<perWriter {
                    ring.push { fillSample(&$0, writer: writer + 1, index: index, route: route) }
                    // Bursts with short pauses: the logging thread keeps up with most but not all.
                    if index % 2048 == 2047 { usleep(400) }
                }
                group.leave()
            }
            group.enter()
            thread.start()
        }
        // Waited for without holding one of Swift concurrency's shared threads (as is the analysis below:
        // two million lines, which take seconds in a debug build).
        await withCheckedContinuation { continuation in group.notify(queue: .global()) { continuation.resume() } }
        logger.shutdown()

        let result = try await Command.run("zstd", ["-dcq", directory.file("access.log.zst")])
        #expect(result.exitCode == 0)
        let output = result.output
        let pairs = try await blocking { Self.parsePairs(output) }
        let stats = logger.stats()
        #expect(pairs.count > 0)
        #expect(UInt64(pairs.count) + stats.recordsDropped == UInt64(2 * perWriter))
        #expect(UInt64(pairs.count) == stats.recordsWritten)
        #expect(rings[0].dropped + rings[1].dropped == stats.recordsDropped)
        #expect(stats.ringHighWaterMark <= 2048 && stats.ringHighWaterMark > 0)
        // Per writer, indices come out strictly increasing: nothing duplicated or reordered.
        let (ordered, perWriterCount) = try await blocking {
            var last = [0: -1, 1: -1, 2: -1]
            var perWriterCount = [0: 0, 1: 0, 2: 0]
            var ordered = true
            for pair in pairs {
                if pair.index <= last[pair.writer, default: -1] { ordered = false }
                last[pair.writer] = pair.index
                perWriterCount[pair.writer, default: 0] += 1
            }
            return (ordered, perWriterCount)
        }
        #expect(ordered)
        #expect(perWriterCount[1]! + Int(rings[0].dropped) == perWriter)
        #expect(perWriterCount[2]! + Int(rings[1].dropped) == perWriter)
    }

    @Test func fullRingDropsAndCounts() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.cleanup() }
        let logger = try AccessLogger(configuration: testConfiguration(directory.path, ringCapacity: 8))
        let ring = logger.makeRing()
        // Not started: nothing drains, so the ninth push must fail.
        for index in 0..<8 {
            #expect(ring.push { fillSample(&$0, writer: 1, index: index, route: .none) })
        }
        #expect(!ring.push { fillSample(&$0, writer: 1, index: 8, route: .none) })
        #expect(!ring.push(AccessRecord()))
        #expect(ring.dropped == 2)
        // Shutting down a logger that never started still writes what was waiting.
        logger.shutdown()
        let (status, lines) = try await Command.zstdDecompress([directory.file("access.log.zst")])
        #expect(status == 0)
        #expect(lines.count == 8)
        #expect(logger.stats().recordsDropped == 2)
    }
}
