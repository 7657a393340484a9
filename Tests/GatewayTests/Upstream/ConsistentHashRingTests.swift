import Testing

@testable import Gateway

@Suite struct ConsistentHashRingTests {
    /// Hashes of `count` distinct keys, as a worker would hash a header value.
    static func keyHashes(_ count: Int, prefix: String = "user-") -> [UInt64] {
        (0..<count).map { index in
            var key = "\(prefix)\(index)"
            return key.withUTF8 { ConsistentHashRing.hash(UnsafeRawBufferPointer($0)) }
        }
    }

    static func hash(_ string: String) -> UInt64 {
        var string = string
        return string.withUTF8 { ConsistentHashRing.hash(UnsafeRawBufferPointer($0)) }
    }

    static func owners(_ ring: ConsistentHashRing, _ keys: [UInt64], available: (Int) -> Bool = { _ in true }) -> [Int]
    {
        keys.map { ring.node(for: $0, isAvailable: available) }
    }

    @Test func hashIsXXHash64() {
        // Reference values of XXH64 with seed 0 (xxHash's and python-xxhash's published vectors).
        #expect(Self.hash("") == 0xEF46_DB37_51D8_E999)
        #expect(Self.hash("a") == 0xD24E_C4F1_A98C_6E5B)
        #expect(Self.hash("abc") == 0x44BC_2CF5_AD77_0999)
        #expect(Self.hash("Nobody inspects the spammish repetition") == 0xFBCE_A83C_8A37_8BF1)
    }

    @Test func sameKeyGoesToSameNode() {
        let ring = ConsistentHashRing(weights: [1, 1, 1, 1])
        let rebuilt = ConsistentHashRing(weights: [1, 1, 1, 1])
        let keys = Self.keyHashes(10_000)
        let first = Self.owners(ring, keys)
        #expect(first == Self.owners(ring, keys))
        #expect(first == Self.owners(rebuilt, keys))
        #expect(Set(first) == [0, 1, 2, 3])
    }

    @Test func distributionFollowsWeights() {
        let weights = [1, 2, 3, 4]
        let ring = ConsistentHashRing(weights: weights)
        #expect(ring.pointCount == 10 * 160)
        let keys = Self.keyHashes(100_000)
        var counts = [Int](repeating: 0, count: weights.count)
        for node in Self.owners(ring, keys) { counts[node] += 1 }
        for (node, weight) in weights.enumerated() {
            let expected = Double(keys.count) * Double(weight) / 10
            let ratio = Double(counts[node]) / expected
            #expect(ratio > 0.85 && ratio < 1.15, "node \(node): \(counts[node]) keys, expected ~\(Int(expected))")
        }
    }

    @Test func removingOneOfFiveNodesMovesOnlyItsKeys() {
        let keys = Self.keyHashes(100_000)
        let before = Self.owners(ConsistentHashRing(weights: [1, 1, 1, 1, 1]), keys)
        let after = Self.owners(ConsistentHashRing(weights: [1, 1, 0, 1, 1]), keys)
        var moved = 0
        for (old, new) in zip(before, after) where old != new {
            moved += 1
            #expect(old == 2)
        }
        #expect(!after.contains(2))
        let share = Double(moved) / Double(keys.count)
        #expect(share > 0.15 && share < 0.25, "moved \(share)")
    }

    @Test func stableIdentitiesSurviveDeletionFromTheList() {
        let keys = Self.keyHashes(100_000)
        let identities: [UInt64] = [11, 22, 33, 44, 55]
        let before = Self.owners(ConsistentHashRing(weights: [1, 1, 1, 1, 1], identities: identities), keys)
        let remaining: [UInt64] = [11, 22, 44, 55]
        let after = Self.owners(ConsistentHashRing(weights: [1, 1, 1, 1], identities: remaining), keys)
        var moved = 0
        for (old, new) in zip(before, after) where identities[old] != remaining[new] {
            moved += 1
            #expect(identities[old] == 33)
        }
        let share = Double(moved) / Double(keys.count)
        #expect(share > 0.15 && share < 0.25, "moved \(share)")
    }

    @Test func addingANodeMovesOnlyKeysToIt() {
        let keys = Self.keyHashes(100_000)
        let before = Self.owners(ConsistentHashRing(weights: [1, 1, 1, 1]), keys)
        let after = Self.owners(ConsistentHashRing(weights: [1, 1, 1, 1, 1]), keys)
        var moved = 0
        for (old, new) in zip(before, after) where old != new {
            moved += 1
            #expect(new == 4)
        }
        let share = Double(moved) / Double(keys.count)
        #expect(share > 0.15 && share < 0.25, "moved \(share)")
    }

    @Test func unavailableNodesKeysGoToTheNextNode() {
        let keys = Self.keyHashes(50_000)
        let ring = ConsistentHashRing(weights: [1, 1, 1, 1, 1])
        let before = Self.owners(ring, keys)
        let during = Self.owners(ring, keys) { $0 != 2 }
        // Skipping node 2's points clockwise is exactly the ring without node 2.
        #expect(during == Self.owners(ConsistentHashRing(weights: [1, 1, 0, 1, 1]), keys))
        for (old, new) in zip(before, during) {
            if old == 2 { #expect(new != 2) } else { #expect(new == old) }
        }
        // Its keys spread over the others rather than piling onto one neighbour.
        #expect(Set(zip(before, during).filter { $0.0 == 2 }.map { $0.1 }) == [0, 1, 3, 4])
        // And come back when it recovers.
        #expect(Self.owners(ring, keys) == before)
    }

    @Test func noAvailableNodeGivesMinusOne() {
        let ring = ConsistentHashRing(weights: [2, 0, 3])
        // Node 1 has no points: being "available" must not make the lookup succeed.
        #expect(ring.node(for: 42, isAvailable: { $0 == 1 }) == -1)
        #expect(ring.node(for: 42, isAvailable: { _ in false }) == -1)
        #expect(ring.node(for: 42, isAvailable: { $0 == 2 }) == 2)
        #expect(ConsistentHashRing(weights: []).node(for: 1, isAvailable: { _ in true }) == -1)
        #expect(ConsistentHashRing(weights: [0, 0]).node(for: 1, isAvailable: { _ in true }) == -1)
        #expect(ConsistentHashRing(weights: [1]).node(for: .max, isAvailable: { _ in true }) == 0)
    }

    @Test func lookupRunsPointerOnlyInALoop() {
        // Rough check that the hot path is pointer-only; allocation counts are gated in Benchmarks/.
        let ring = ConsistentHashRing(weights: [1, 2, 3, 4])
        var counts = (0, 0, 0, 0)
        var key: UInt64 = 0x1234_5678
        for _ in 0..<100_000 {
            key = withUnsafeBytes(of: key) { ConsistentHashRing.hash($0) }
            switch ring.node(for: key, isAvailable: { $0 != 3 }) {
            case 0: counts.0 += 1
            case 1: counts.1 += 1
            case 2: counts.2 += 1
            default: counts.3 += 1
            }
        }
        #expect(counts.3 == 0)
        #expect(counts.0 + counts.1 + counts.2 == 100_000)
    }
}
