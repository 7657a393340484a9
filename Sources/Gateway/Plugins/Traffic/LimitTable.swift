import Glibc
import Synchronization

/// The per-key state of one `limit-count`, `limit-req` or `limit-conn` instance (or `limit-count`
/// group), shared by every worker of the process: the `local` policy is one limit per gateway, not one
/// per worker.
///
/// A fixed array of slots, each one 128-bit atomic holding a key's 64-bit hash and its 64-bit state
/// (the plugin packs it: window start and count, last time and excess, connections). Changing a state
/// is one compare-and-exchange loop on one slot, so concurrent requests for a key are counted exactly,
/// and a slot changes hands in that same exchange, so no update lands on a key that lost its slot.
///
/// A key lives in the first usable slot of the `probeLimit` slots from its home slot (linear
/// probing). A slot is usable when empty or idle: its state is what a new key starts with anyway (an
/// expired window, a drained bucket, no connections), so taking it over changes nothing for its
/// previous key. Slots are never emptied, so an empty slot ends the search. When none of the slots is
/// usable (more busy keys than the table holds: with 16,384 slots and 32 probes, keys start to overflow
/// at around 10,000 busy at once), the key shares one overflow slot with every other such key:
/// deterministic and never allocating on a worker, at the price of limiting those keys together
/// (`allow_degradation` lets them through unlimited instead).
///
/// Two first requests of one new key racing past an idle slot that turns usable between their reads
/// can claim two slots; later requests find the first, so the second's count (at most one per racing
/// worker) is lost. That is the only inexactness.
package final class LimitTable: @unchecked Sendable {
    /// Slots for keys computed from requests: 256 KiB per table (a `constant` key's table has one).
    package static let variableCapacity = 16384
    /// Slots probed from a key's home slot before the key overflows.
    package static let probeLimit = 32

    /// A key's slot after an update.
    package struct Outcome {
        /// The slot's index (``overflowSlot`` for the shared overflow slot), or -1 when the table had no
        /// room and overflow was not wanted.
        package var slot: Int
        /// The state now in the slot: the new one when ``committed``, otherwise the one that refused.
        package var state: UInt64
        /// Whether the new state was stored.
        package var committed: Bool
    }

    private let slots: UnsafeMutablePointer<Atomic<WordPair>>
    private let mask: Int
    private let shift: UInt64
    private let probes: Int
    /// Slots for keys; the overflow slot comes after them.
    package let capacity: Int
    /// A small number telling this table from others (`limit-conn` checks, in `log`, that the slot it
    /// remembered is in this table and not one a reload replaced).
    package let tag: UInt16

    /// A table with `capacity` slots (rounded up to a power of two) and the overflow slot.
    package init(capacity: Int) {
        var size = 1
        while size < capacity { size <<= 1 }
        self.capacity = size
        mask = size - 1
        shift = UInt64(64 - size.trailingZeroBitCount)
        probes = min(Self.probeLimit, size)
        // Zeroed pages from calloc are empty slots (an atomic pair of zero words is all zero bits), and
        // stay untouched until a key lands there: a table costs memory for the keys it holds, not 256 KiB
        // for every route with a limit.
        guard let memory = calloc(size + 1, MemoryLayout<Atomic<WordPair>>.stride) else {
            fatalError("cannot allocate a \(size)-slot limit table")
        }
        slots = memory.bindMemory(to: Atomic<WordPair>.self, capacity: size + 1)
        tag = tableTags.wrappingAdd(1, ordering: .relaxed).newValue
    }

    deinit {
        // Atomics of plain words need no deinitialization.
        free(slots)
    }

    /// The overflow slot's index.
    @inline(__always)
    package var overflowSlot: Int { capacity }

    /// Applies `next` to the state of the key whose hash is `hash` and stores what it returns (nil
    /// stores nothing: a rejection). `next` gets the current state, or `fresh` true (and a state of 0)
    /// for a key with no slot yet; it may be called more than once when other threads change the slot
    /// meanwhile, and the last call's result is the one stored. `idle` says whether a slot's state may be
    /// given to another key. With `overflow` false a key that finds no room gets slot -1 and no state.
    @inline(__always)
    package func update(
        _ hash: UInt64,
        overflow: Bool,
        idle: (UInt64) -> Bool,
        next: (_ state: UInt64, _ fresh: Bool) -> UInt64?
    ) -> Outcome {
        // Hash 0 marks an empty slot.
        let key = UInt(truncatingIfNeeded: hash == 0 ? 1 : hash)
        // Fibonacci hashing spreads FNV-1a's weak low bits over the slot index.
        let home = Int(truncatingIfNeeded: (UInt64(key) &* 0x9E37_79B9_7F4A_7C15) >> shift)
        while true {
            var candidate = -1
            var candidateSeen = WordPair(first: 0, second: 0)
            var probe = 0
            while probe < probes {
                let index = (home &+ probe) & mask
                let seen = slots[index].load(ordering: .relaxed)
                if seen.first == key {
                    if let outcome = exchange(index, key: key, seen: seen, next: next) { return outcome }
                    candidate = -2
                    break
                }
                if seen.first == 0 {
                    if candidate < 0 {
                        candidate = index
                        candidateSeen = seen
                    }
                    break
                }
                if candidate < 0 && idle(UInt64(seen.second)) {
                    candidate = index
                    candidateSeen = seen
                }
                probe &+= 1
            }
            // The key's slot went to another key while we exchanged: look again.
            if candidate == -2 { continue }
            if candidate >= 0 {
                guard let state = next(0, true) else { return Outcome(slot: candidate, state: 0, committed: false) }
                let desired = WordPair(first: key, second: UInt(truncatingIfNeeded: state))
                if slots[candidate].compareExchange(expected: candidateSeen, desired: desired, ordering: .relaxed)
                    .exchanged
                {
                    return Outcome(slot: candidate, state: state, committed: true)
                }
                // Another thread took the slot first, perhaps for this very key: look again.
                continue
            }
            guard overflow else { return Outcome(slot: -1, state: 0, committed: false) }
            var seen = slots[capacity].load(ordering: .relaxed)
            while true {
                guard let state = next(UInt64(seen.second), seen.first == 0) else {
                    return Outcome(slot: capacity, state: UInt64(seen.second), committed: false)
                }
                let desired = WordPair(first: 1, second: UInt(truncatingIfNeeded: state))
                let result = slots[capacity].compareExchange(expected: seen, desired: desired, ordering: .relaxed)
                if result.exchanged { return Outcome(slot: capacity, state: state, committed: true) }
                seen = result.original
            }
        }
    }

    /// Applies `next` to slot `index` while it still belongs to `key`; nil when it stopped belonging.
    @inline(__always)
    private func exchange(
        _ index: Int,
        key: UInt,
        seen: WordPair,
        next: (_ state: UInt64, _ fresh: Bool) -> UInt64?
    ) -> Outcome? {
        var seen = seen
        while true {
            guard let state = next(UInt64(seen.second), false) else {
                return Outcome(slot: index, state: UInt64(seen.second), committed: false)
            }
            let desired = WordPair(first: key, second: UInt(truncatingIfNeeded: state))
            let result = slots[index].compareExchange(expected: seen, desired: desired, ordering: .relaxed)
            if result.exchanged { return Outcome(slot: index, state: state, committed: true) }
            guard result.original.first == key else { return nil }
            seen = result.original
        }
    }

    /// Replaces the state of slot `index` (one a request holds, so no other key can take it) with
    /// `change(state)`.
    @inline(__always)
    package func modify(slot index: Int, _ change: (UInt64) -> UInt64) {
        var seen = slots[index].load(ordering: .relaxed)
        while true {
            let desired = WordPair(first: seen.first, second: UInt(truncatingIfNeeded: change(UInt64(seen.second))))
            let result = slots[index].compareExchange(expected: seen, desired: desired, ordering: .relaxed)
            if result.exchanged { return }
            seen = result.original
        }
    }
}

/// Numbers tables as they are made, for ``LimitTable/tag``.
private let tableTags = Atomic<UInt16>(0)
