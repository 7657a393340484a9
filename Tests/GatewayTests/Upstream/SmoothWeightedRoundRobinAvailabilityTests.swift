import Testing

@testable import Gateway

@Suite struct SmoothWeightedRoundRobinAvailabilityTests {
    @Test func skipsUnavailableNodesAndKeepsTheRestSmooth() {
        let weights: [Int64] = [3, 2, 1]
        let current = UnsafeMutablePointer<Int64>.allocate(capacity: 3)
        current.initialize(repeating: 0, count: 3)
        defer { current.deallocate() }
        var available = [true, false, true]
        func pick() -> Int {
            SmoothWeightedRoundRobin.pick(
                count: 3,
                current: current,
                weight: { weights[$0] },
                isAvailable: { available[$0] }
            )
        }
        let down = (0..<400).map { _ in pick() }
        #expect(!down.contains(1))
        #expect(down.filter { $0 == 0 }.count == 300)
        #expect(down.filter { $0 == 2 }.count == 100)
        // Back in service: every window of 6 again has the configured 3:2:1.
        available[1] = true
        let back = (0..<600).map { _ in pick() }
        #expect(back.filter { $0 == 1 }.count == 200)
        #expect(back.filter { $0 == 0 }.count == 300)
    }

    @Test func noAvailableNodeGivesMinusOne() {
        let current = UnsafeMutablePointer<Int64>.allocate(capacity: 2)
        current.initialize(repeating: 0, count: 2)
        defer { current.deallocate() }
        let none = SmoothWeightedRoundRobin.pick(
            count: 2,
            current: current,
            weight: { _ in 1 },
            isAvailable: { _ in false }
        )
        #expect(none == -1)
        let zeroWeight = SmoothWeightedRoundRobin.pick(
            count: 2,
            current: current,
            weight: { Int64($0) },
            isAvailable: { $0 == 0 }
        )
        #expect(zeroWeight == -1)
        #expect(current[0] == 0 && current[1] == 0)
    }
}
