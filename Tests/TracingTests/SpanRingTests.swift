import Foundation
import Testing
import Tracing

#if canImport(Glibc)
import Glibc
#endif

@Suite struct SpanRingTests {
    private static func record(_ id: UInt64) -> SpanRecord {
        var record = SpanRecord()
        record.spanID = id
        record.traceIDLow = id &* 31
        return record
    }

    private func drained(_ ring: SpanRing, limit: Int = .max) -> [UInt64] {
        var ids: [UInt64] = []
        ring.drain(limit: limit) { ids.append($0.pointee.spanID) }
        return ids
    }

    @Test func capacityIsRoundedUpToAPowerOfTwo() {
        #expect(SpanRing(minimumCapacity: 5).capacity == 8)
        #expect(SpanRing(minimumCapacity: 1).capacity == 2)
        #expect(SpanRing(minimumCapacity: 4096).capacity == 4096)
    }

    @Test func spansComeOutInOrderAcrossTheWrapAround() {
        let ring = SpanRing(minimumCapacity: 4)
        var next: UInt64 = 1
        var seen: [UInt64] = []
        // 3 in, 2 out, 3 in, ...: the indices wrap several times over the 4 slots.
        for _ in 0..<10 {
            for _ in 0..<3 {
                #expect(ring.push(Self.record(next)))
                next += 1
            }
            seen += drained(ring, limit: 2)
            seen += drained(ring, limit: 1)
        }
        #expect(seen == Array(1..<next))
        #expect(ring.dropped == 0)
        #expect(ring.count == 0)
    }

    @Test func fillingPushWritesInPlaceAfterAReset() {
        let ring = SpanRing(minimumCapacity: 2)
        // Leave text in a slot, then reuse the slot: the reset must clear the lengths.
        ring.push { record in
            record.spanID = 7
            Array("/old".utf8).withUnsafeBytes { record.setPath($0) }
        }
        #expect(drained(ring) == [7])
        ring.push { record in record.spanID = 8 }
        ring.push { record in record.spanID = 9 }
        var paths: [Int] = []
        ring.drain { record in paths.append(record.pointee.withPath { $0.count }) }
        #expect(paths == [0, 0])
    }

    @Test func aFullRingDropsAndCounts() {
        let ring = SpanRing(minimumCapacity: 4)
        for id in 1...4 { #expect(ring.push(Self.record(UInt64(id)))) }
        #expect(!ring.push(Self.record(5)))
        var called = false
        #expect(!ring.push { _ in called = true })
        #expect(!called)
        #expect(ring.dropped == 2)
        #expect(drained(ring, limit: 1) == [1])
        #expect(ring.push(Self.record(6)))
        #expect(drained(ring) == [2, 3, 4, 6])
        #expect(ring.dropped == 2)
    }

    @Test func oneProducerAndOneConsumerLoseNothingUncounted() async {
        let ring = SpanRing(minimumCapacity: 64)
        let total = 200_000
        let producer = Thread {
            for id in 1...total { ring.push(Self.record(UInt64(id))) }
        }
        producer.start()
        var received: [UInt64] = []
        received.reserveCapacity(total)
        var ordered = true
        // Every push either lands or is counted as dropped, so the two add up to the total in the end.
        let deadline = ContinuousClock.now + .seconds(60)
        while UInt64(received.count) + ring.dropped < UInt64(total) && ContinuousClock.now < deadline {
            ring.drain { record in
                if let last = received.last, record.pointee.spanID <= last { ordered = false }
                if record.pointee.traceIDLow != record.pointee.spanID &* 31 { ordered = false }
                received.append(record.pointee.spanID)
            }
        }
        #expect(ordered)
        #expect(UInt64(received.count) + ring.dropped == UInt64(total))
    }
}
