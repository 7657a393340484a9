import Testing

@testable import Gateway

@Suite struct TimerWheelTests {
    private static let ms: UInt64 = 1_000_000

    private func drain(_ wheel: inout TimerWheel, at now: UInt64) -> [Int] {
        var expired: [Int] = []
        while let slot = wheel.nextExpired(now: now) { expired.append(slot) }
        return expired
    }

    @Test func firesOnlyAfterDeadline() {
        var wheel = TimerWheel(capacity: 8, tickNanoseconds: 10 * Self.ms, bucketCount: 64, now: 0)
        wheel.schedule(3, at: 50 * Self.ms)
        wheel.schedule(5, at: 120 * Self.ms)
        #expect(drain(&wheel, at: 40 * Self.ms).isEmpty)
        #expect(drain(&wheel, at: 60 * Self.ms) == [3])
        let fiveScheduled = wheel.isScheduled(5)
        let threeScheduled = wheel.isScheduled(3)
        #expect(fiveScheduled)
        #expect(!threeScheduled)
        #expect(drain(&wheel, at: 130 * Self.ms) == [5])
    }

    @Test func cancelAndRescheduleMoveTheDeadline() {
        var wheel = TimerWheel(capacity: 8, tickNanoseconds: 10 * Self.ms, bucketCount: 64, now: 0)
        wheel.schedule(1, at: 30 * Self.ms)
        wheel.schedule(2, at: 30 * Self.ms)
        wheel.cancel(1)
        wheel.schedule(2, at: 90 * Self.ms)
        #expect(drain(&wheel, at: 50 * Self.ms).isEmpty)
        #expect(drain(&wheel, at: 100 * Self.ms) == [2])
    }

    @Test func deadlinesBeyondTheWheelSpanStillFireOnTime() {
        // 16 buckets of 10 ms span 160 ms; a 1 s deadline must survive several laps.
        var wheel = TimerWheel(capacity: 4, tickNanoseconds: 10 * Self.ms, bucketCount: 16, now: 0)
        wheel.schedule(0, at: 1000 * Self.ms)
        for step in stride(from: 10, to: 1000, by: 10) {
            #expect(drain(&wheel, at: UInt64(step) * Self.ms).isEmpty, "fired early at \(step) ms")
        }
        #expect(drain(&wheel, at: 1000 * Self.ms) == [0])
    }

    @Test func handlerMayCancelOtherExpiringSlots() {
        var wheel = TimerWheel(capacity: 8, tickNanoseconds: 10 * Self.ms, bucketCount: 64, now: 0)
        for slot in 0..<4 { wheel.schedule(slot, at: 20 * Self.ms) }
        var fired: [Int] = []
        while let slot = wheel.nextExpired(now: 30 * Self.ms) {
            fired.append(slot)
            // Closing a client also cancels its upstream's timer: that one must not fire.
            if slot == fired.first { wheel.cancel(slot == 0 ? 1 : 0) }
        }
        #expect(fired.count == 3)
        #expect(Set(fired).count == 3)
    }
}
