import Testing

@testable import Gateway

@Suite struct LeastConnectionsTests {
    /// Runs `picks` picks; a picked node's in-flight count grows when `holdRequests` is true.
    static func run(
        active initial: [Int32],
        weights: [Int64],
        picks: Int,
        holdRequests: Bool,
        available: (Int) -> Bool = { _ in true }
    ) -> [Int] {
        var active = initial
        var cursor = 0
        var result: [Int] = []
        for _ in 0..<picks {
            let node = active.withUnsafeBufferPointer { buffer in
                LeastConnections.pick(
                    count: weights.count,
                    active: buffer.baseAddress!,
                    weight: { weights[$0] },
                    isAvailable: available,
                    cursor: &cursor
                )
            }
            result.append(node)
            if holdRequests && node >= 0 { active[node] += 1 }
        }
        return result
    }

    @Test func prefersFewestInFlight() {
        #expect(Self.run(active: [3, 1, 2], weights: [1, 1, 1], picks: 1, holdRequests: false) == [1])
        // Held requests go to the idlest node; once it ties, equal nodes take turns.
        #expect(Self.run(active: [3, 1, 2], weights: [1, 1, 1], picks: 3, holdRequests: true) == [1, 2, 1])
    }

    @Test func honoursWeights() {
        // 2/1 against 3/2: the heavier node is less loaded for its size.
        #expect(Self.run(active: [2, 3], weights: [1, 2], picks: 1, holdRequests: false) == [1])
        let picks = Self.run(active: [0, 0, 0], weights: [1, 3, 0], picks: 400, holdRequests: true)
        #expect(picks.filter { $0 == 0 }.count == 100)
        #expect(picks.filter { $0 == 1 }.count == 300)
        #expect(!picks.contains(2))
    }

    @Test func roundRobinsTies() {
        #expect(Self.run(active: [0, 0, 0], weights: [1, 1, 1], picks: 6, holdRequests: false) == [0, 1, 2, 0, 1, 2])
        #expect(Self.run(active: [5, 0, 0, 0], weights: [1, 1, 1, 1], picks: 4, holdRequests: false) == [1, 2, 3, 1])
    }

    @Test func skipsUnavailableAndReportsNone() {
        let picks = Self.run(active: [0, 0, 0], weights: [1, 1, 1], picks: 4, holdRequests: false) { $0 != 1 }
        #expect(picks == [0, 2, 0, 2])
        #expect(Self.run(active: [0, 0], weights: [1, 1], picks: 2, holdRequests: false) { _ in false } == [-1, -1])
        #expect(Self.run(active: [0, 0], weights: [0, 0], picks: 1, holdRequests: false) == [-1])
        #expect(Self.run(active: [], weights: [], picks: 1, holdRequests: false) == [-1])
    }

    @Test func pickRunsPointerOnlyInALoop() {
        let active = UnsafeMutablePointer<Int32>.allocate(capacity: 4)
        active.initialize(repeating: 0, count: 4)
        defer { active.deallocate() }
        var cursor = 0
        var total = 0
        for index in 0..<100_000 {
            let node = LeastConnections.pick(
                count: 4,
                active: active,
                weight: { Int64($0 + 1) },
                isAvailable: { _ in true },
                cursor: &cursor
            )
            active[node] += 1
            if index % 2 == 1 { active[node] -= 1 }
            total += node
        }
        #expect(total > 0)
        #expect(active[3] >= active[0])
    }
}
