import Testing

@testable import Gateway

/// Leased permits are handed out one at a time until used up or expired; a full window evicts the lease
/// that expires first.
@Suite struct RedisLeaseTableTests {
    static let second: UInt64 = 1_000_000_000
    static let now: UInt64 = 1_000 * second

    @Test func anEmptyTableHasNoLease() {
        let table = RedisLeaseTable(capacity: 16)
        #expect(table.take(42, now: Self.now) == nil)
        #expect(table.capacity == 16)
        #expect(RedisLeaseTable(capacity: 0).capacity == 8)
        #expect(RedisLeaseTable(capacity: 100).capacity == 128)
    }

    @Test func permitsAreTakenOneAtATimeWithTheRemainingQuota() throws {
        let table = RedisLeaseTable(capacity: 16)
        let expiry = Self.now + 30 * Self.second
        table.store(7, permits: 3, remaining: 97, expiresAt: expiry, now: Self.now)
        for expected in [Int64(96), 95, 94] {
            let taken = try #require(table.take(7, now: Self.now + 1))
            #expect(taken.remaining == expected)
            #expect(taken.resetAt == expiry)
        }
        #expect(table.take(7, now: Self.now + 2) == nil)
        #expect(table.take(8, now: Self.now) == nil)
    }

    @Test func anExpiredLeaseIsNotUsed() {
        let table = RedisLeaseTable(capacity: 16)
        table.store(1, permits: 5, remaining: 5, expiresAt: Self.now + Self.second, now: Self.now)
        #expect(table.take(1, now: Self.now + Self.second - 1) != nil)
        #expect(table.take(1, now: Self.now + Self.second) == nil)
        // Dropped once seen expired.
        #expect(table.take(1, now: Self.now) == nil)
        // Nor is one stored already expired.
        table.store(2, permits: 5, remaining: 5, expiresAt: Self.now, now: Self.now)
        #expect(table.take(2, now: Self.now - 1) == nil)
    }

    @Test func storingReplacesTheKeysLeaseAndNoPermitsRemoveIt() throws {
        let table = RedisLeaseTable(capacity: 16)
        let expiry = Self.now + Self.second
        table.store(3, permits: 5, remaining: 50, expiresAt: expiry, now: Self.now)
        table.store(3, permits: 1, remaining: 10, expiresAt: expiry + 1, now: Self.now)
        let taken = try #require(table.take(3, now: Self.now))
        #expect(taken == (9, expiry + 1))
        #expect(table.take(3, now: Self.now) == nil)
        table.store(4, permits: 5, remaining: 50, expiresAt: expiry, now: Self.now)
        table.store(4, permits: 0, remaining: 49, expiresAt: expiry, now: Self.now)
        #expect(table.take(4, now: Self.now) == nil)
        table.store(5, permits: 5, remaining: 50, expiresAt: expiry, now: Self.now)
        table.remove(5)
        #expect(table.take(5, now: Self.now) == nil)
    }

    /// Eight slots, all in one window: a ninth key evicts the lease that expires first, and only it.
    @Test func aFullTableEvictsTheLeaseThatExpiresFirst() {
        let table = RedisLeaseTable(capacity: 8)
        for key in UInt64(1)...8 {
            // Key 5 expires first.
            let expiry = Self.now + (key == 5 ? 1 : 10 + key) * Self.second
            table.store(key, permits: 2, remaining: 10, expiresAt: expiry, now: Self.now)
        }
        table.store(9, permits: 2, remaining: 10, expiresAt: Self.now + 20 * Self.second, now: Self.now)
        #expect(table.take(5, now: Self.now) == nil)
        for key in [UInt64(1), 2, 3, 4, 6, 7, 8, 9] {
            #expect(table.take(key, now: Self.now) != nil, "key \(key)")
        }
    }

    /// An expired lease's slot is reused before any live lease is evicted.
    @Test func anExpiredSlotIsReusedFirst() {
        let table = RedisLeaseTable(capacity: 8)
        for key in UInt64(1)...8 {
            let expiry = Self.now + (key == 6 ? 2 : 1 + key * 10) * Self.second
            table.store(key, permits: 2, remaining: 10, expiresAt: expiry, now: Self.now)
        }
        let later = Self.now + 5 * Self.second  // key 6 has expired; key 1 (11 s) expires first of the rest
        table.store(9, permits: 2, remaining: 10, expiresAt: later + Self.second, now: later)
        for key in [UInt64(1), 2, 3, 4, 5, 7, 8, 9] {
            #expect(table.take(key, now: later) != nil, "key \(key)")
        }
    }

    /// A quarter-full table of sequential keys (a bad case for a weak hash) keeps every lease.
    @Test func manyKeysAllKeepTheirLeases() {
        let table = RedisLeaseTable(capacity: 4_096)
        let expiry = Self.now + Self.second
        for key in UInt64(0)..<1_000 {
            table.store(key << 32, permits: 2, remaining: Int64(key), expiresAt: expiry, now: Self.now)
        }
        var found = 0
        for key in UInt64(0)..<1_000 where table.take(key << 32, now: Self.now)?.remaining == Int64(key) - 1 {
            found += 1
        }
        #expect(found == 1_000)
    }
}
