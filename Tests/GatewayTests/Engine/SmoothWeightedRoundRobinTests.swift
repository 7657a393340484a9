import Testing

@testable import Gateway

@Suite struct SmoothWeightedRoundRobinTests {
    private func picks(_ weights: [Int64], rounds: Int) -> [Int] {
        let current = UnsafeMutablePointer<Int64>.allocate(capacity: weights.count)
        current.initialize(repeating: 0, count: weights.count)
        defer { current.deallocate() }
        return (0..<rounds).map { _ in
            SmoothWeightedRoundRobin.pick(count: weights.count, current: current) { weights[$0] }
        }
    }

    @Test func interleavesLikeNginx() {
        // nginx's documented sequence for weights 5, 1, 1.
        #expect(picks([5, 1, 1], rounds: 7) == [0, 0, 1, 0, 2, 0, 0])
    }

    @Test func honoursWeightsExactlyPerWindow() {
        let result = picks([3, 2, 1], rounds: 600)
        #expect(result.filter { $0 == 0 }.count == 300)
        #expect(result.filter { $0 == 1 }.count == 200)
        #expect(result.filter { $0 == 2 }.count == 100)
    }

    @Test func skipsZeroWeightsAndReportsNone() {
        #expect(Set(picks([0, 4, 0], rounds: 10)) == [1])
        #expect(picks([0, 0], rounds: 3) == [-1, -1, -1])
    }
}
