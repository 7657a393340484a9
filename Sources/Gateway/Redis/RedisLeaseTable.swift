/// A worker's leased permits for `limit-count`'s `redis` policy with `redis.batch`: one Redis round trip
/// takes N permits, and the next N - 1 requests for that key are admitted from here without one.
///
/// Keyed by the limit key's 64-bit hash. Fixed capacity chosen at `init` (rounded up to a power of two,
/// at least 8), open addressing over a window of 8 slots from the key's home slot, and no allocation
/// after `init`. A lookup scans the whole window (so removing an entry needs no tombstone); a new key
/// takes a free or expired slot in its window, else evicts the one that expires first. A lost lease costs
/// only permits that go unused (they count as taken in Redis), never over-admission.
///
/// Used by one worker thread only: not thread-safe, not `Sendable`.
package final class RedisLeaseTable {
    /// One lease; `permits == 0` marks a free slot, ``exhaustedMark`` a key whose window Redis said is used
    /// up (until `expiresAt`).
    private struct Entry {
        var key: UInt64
        var expiresAt: UInt64
        var remaining: Int64
        var permits: Int
    }

    /// `permits` of a key whose window has nothing left.
    private static let exhaustedMark = -1
    /// `permits` of a key whose lease call is on its way to Redis.
    private static let pendingMark = -2

    /// Slots a key may live in, from its home slot on.
    private static let window = 8

    private let entries: UnsafeMutablePointer<Entry>
    private let mask: Int
    private let shift: UInt64

    /// The number of slots (a power of two ≥ `capacity`, at least 8).
    package let capacity: Int

    /// A table of at least `capacity` slots, all free.
    package init(capacity: Int) {
        var size = Self.window
        while size < capacity { size <<= 1 }
        self.capacity = size
        mask = size - 1
        shift = UInt64(64 - size.trailingZeroBitCount)
        entries = .allocate(capacity: size)
        entries.initialize(repeating: Entry(key: 0, expiresAt: 0, remaining: 0, permits: 0), count: size)
    }

    deinit {
        entries.deallocate()
    }

    /// Uses one permit of `key`'s lease if it has one left and has not expired at `now` (monotonic
    /// nanoseconds). Returns the quota remaining after this request (the `remaining` last stored, one lower
    /// for every permit used since) and when the window resets (the lease's expiry); nil when the caller
    /// must ask Redis.
    package func take(_ key: UInt64, now: UInt64) -> (remaining: Int64, resetAt: UInt64)? {
        guard let index = find(key), entries[index].permits > 0 else { return nil }
        let entry = entries + index
        guard entry.pointee.expiresAt > now else {
            entry.pointee.permits = 0
            return nil
        }
        entry.pointee.permits -= 1
        entry.pointee.remaining -= 1
        return (entry.pointee.remaining, entry.pointee.expiresAt)
    }

    /// Keeps `permits` (those left of a lease after the caller used one) for `key` until `expiresAt`
    /// (monotonic nanoseconds: the window's end). `remaining` is the quota remaining after the request that
    /// used one, as the caller reports it; each ``take(_:now:)`` lowers it by one. Replaces the key's
    /// previous lease; with no permits (or an expiry not after `now`) it only removes it.
    package func store(_ key: UInt64, permits: Int, remaining: Int64, expiresAt: UInt64, now: UInt64) {
        if let index = find(key) { entries[index].permits = 0 }
        guard permits > 0, expiresAt > now else { return }
        let home = self.home(key)
        var chosen = home
        var earliest = UInt64.max
        for step in 0..<Self.window {
            let index = (home + step) & mask
            let entry = entries[index]
            if entry.permits == 0 || entry.expiresAt <= now {
                chosen = index
                break
            }
            if entry.expiresAt < earliest {
                earliest = entry.expiresAt
                chosen = index
            }
        }
        entries[chosen] = Entry(key: key, expiresAt: expiresAt, remaining: remaining, permits: permits)
    }

    /// Remembers that `key`'s window has no permits left until `expiresAt` (Redis's counter only goes down
    /// until the key expires), so requests until then are rejected without asking Redis again.
    package func markExhausted(_ key: UInt64, until expiresAt: UInt64, now: UInt64) {
        store(key, permits: 1, remaining: 0, expiresAt: expiresAt, now: now)
        if let index = find(key) { entries[index].permits = Self.exhaustedMark }
    }

    /// Remembers that a lease call for `key` is on its way (until `expiresAt`, the call's timeout), so the
    /// worker's other requests for `key` wait for its permits instead of each taking a lease of their own.
    package func markPending(_ key: UInt64, until expiresAt: UInt64, now: UInt64) {
        store(key, permits: 1, remaining: 0, expiresAt: expiresAt, now: now)
        if let index = find(key) { entries[index].permits = Self.pendingMark }
    }

    /// Whether a lease call for `key` is on its way (and has not outlived its timeout).
    package func isPending(_ key: UInt64, now: UInt64) -> Bool {
        guard let index = find(key), entries[index].permits == Self.pendingMark else { return false }
        guard entries[index].expiresAt > now else {
            entries[index].permits = 0
            return false
        }
        return true
    }

    /// Forgets that a lease call for `key` is on its way (its answer came, or it failed).
    package func clearPending(_ key: UInt64) {
        if let index = find(key), entries[index].permits == Self.pendingMark { entries[index].permits = 0 }
    }

    /// When `key`'s used-up window ends, if ``markExhausted(_:until:now:)`` said so and it has not yet.
    package func exhaustedUntil(_ key: UInt64, now: UInt64) -> UInt64? {
        guard let index = find(key), entries[index].permits == Self.exhaustedMark else { return nil }
        guard entries[index].expiresAt > now else {
            entries[index].permits = 0
            return nil
        }
        return entries[index].expiresAt
    }

    /// Removes `key`'s lease (the limit was reset or reconfigured).
    package func remove(_ key: UInt64) {
        if let index = find(key) { entries[index].permits = 0 }
    }

    /// The slot holding a lease for `key` with permits left, expired or not.
    private func find(_ key: UInt64) -> Int? {
        let home = self.home(key)
        for step in 0..<Self.window {
            let index = (home + step) & mask
            if entries[index].permits != 0, entries[index].key == key { return index }
        }
        return nil
    }

    /// The key's home slot: the top bits of a Fibonacci-hashed key, so keys that differ only in their
    /// high bits (as some hashes do) still spread.
    @inline(__always)
    private func home(_ key: UInt64) -> Int {
        Int(truncatingIfNeeded: (key &* 0x9E37_79B9_7F4A_7C15) >> shift)
    }
}
