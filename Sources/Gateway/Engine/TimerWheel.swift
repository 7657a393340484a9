import Glibc

/// A hashed timer wheel over slot indices, with intrusive links so scheduling never allocates.
///
/// Links are stored as `slot + 1` with 0 meaning "none", in calloc'd memory, so the per-slot arrays
/// cost no resident memory until a slot is used.
///
/// Each slot (a connection) has at most one deadline. Ticks are `tickNanoseconds` long; deadlines
/// further out than the wheel's span are placed in the last reachable bucket and re-checked when it
/// comes round, so any duration works.
package struct TimerWheel: ~Copyable {
    private static let none: Int32 = 0
    private let bucketCount: Int
    private let tickNanoseconds: UInt64
    private var buckets: UnsafeMutablePointer<Int32>
    private var next: UnsafeMutablePointer<Int32>
    private var previous: UnsafeMutablePointer<Int32>
    private var bucketOf: UnsafeMutablePointer<Int32>
    private var deadlines: UnsafeMutablePointer<UInt64>
    private var currentTick: UInt64
    private let capacity: Int

    package init(capacity: Int, tickNanoseconds: UInt64 = 10_000_000, bucketCount: Int = 8192, now: UInt64) {
        self.capacity = capacity
        self.bucketCount = bucketCount
        self.tickNanoseconds = tickNanoseconds
        // One extra bucket holds the entries being expired, so callbacks may cancel any of them.
        buckets = zeroed(bucketCount + 1)
        next = zeroed(capacity)
        previous = zeroed(capacity)
        bucketOf = zeroed(capacity)
        deadlines = zeroed(capacity)
        currentTick = now / tickNanoseconds
    }

    deinit {
        free(buckets)
        free(next)
        free(previous)
        free(bucketOf)
        free(deadlines)
    }

    /// Sets (or moves) the deadline of `slot`.
    @inline(__always)
    package mutating func schedule(_ slot: Int, at deadline: UInt64) {
        cancel(slot)
        var tick = deadline / tickNanoseconds
        if tick <= currentTick { tick = currentTick + 1 }
        if tick - currentTick >= UInt64(bucketCount) { tick = currentTick + UInt64(bucketCount) - 1 }
        let bucket = Int(tick % UInt64(bucketCount))
        deadlines[slot] = deadline
        bucketOf[slot] = Int32(bucket + 1)
        let head = buckets[bucket]
        next[slot] = head
        previous[slot] = Self.none
        if head != Self.none { previous[Int(head) - 1] = Int32(slot + 1) }
        buckets[bucket] = Int32(slot + 1)
    }

    /// Removes the deadline of `slot`, if any.
    @inline(__always)
    package mutating func cancel(_ slot: Int) {
        let bucket = bucketOf[slot]
        if bucket == Self.none { return }
        let n = next[slot]
        let p = previous[slot]
        if p != Self.none { next[Int(p) - 1] = n } else { buckets[Int(bucket) - 1] = n }
        if n != Self.none { previous[Int(n) - 1] = p }
        bucketOf[slot] = Self.none
    }

    /// Whether `slot` has a deadline.
    package func isScheduled(_ slot: Int) -> Bool { bucketOf[slot] != Self.none }

    /// Returns the next slot whose deadline is at or before `now` (its timer removed), or nil.
    ///
    /// A pull interface rather than a callback, so the caller may schedule and cancel timers while
    /// handling each expiry without overlapping access to the wheel.
    package mutating func nextExpired(now: UInt64) -> Int? {
        let expiring = bucketCount
        while true {
            while buckets[expiring] != Self.none {
                let slot = Int(buckets[expiring]) - 1
                cancel(slot)
                if deadlines[slot] <= now { return slot }
                schedule(slot, at: deadlines[slot])
            }
            if currentTick >= now / tickNanoseconds { return nil }
            currentTick += 1
            // Move this tick's bucket to the expiring bucket, then pop one entry at a time.
            let bucket = Int(currentTick % UInt64(bucketCount))
            var cursor = buckets[bucket]
            buckets[bucket] = Self.none
            buckets[expiring] = cursor
            while cursor != Self.none {
                bucketOf[Int(cursor) - 1] = Int32(expiring + 1)
                cursor = next[Int(cursor) - 1]
            }
        }
    }
}
