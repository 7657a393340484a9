import Testing

@testable import Gateway

@Suite struct PeakEWMATests {
    static let millisecond: UInt64 = 1_000_000

    /// A worker's view: per-node states, a clock and a random stream.
    final class Simulation {
        let count: Int
        let states: UnsafeMutablePointer<PeakEWMA.State>
        var now: UInt64 = 1_000 * PeakEWMATests.millisecond
        var random: UInt64 = 42
        var jitter: UInt64 = 7
        var available: [Bool]

        init(count: Int) {
            self.count = count
            states = .allocate(capacity: count)
            states.initialize(repeating: PeakEWMA.State(), count: count)
            available = [Bool](repeating: true, count: count)
        }

        deinit { states.deallocate() }

        func pick() -> Int {
            let available = self.available
            return PeakEWMA.pick(
                count: count,
                states: states,
                isAvailable: { available[$0] },
                random: &random,
                now: now
            )
        }

        /// `latency` ±20%: real latencies are noisy, and identical ones would make ties an artefact.
        func jittered(_ latency: UInt64) -> UInt64 {
            jitter ^= jitter << 13
            jitter ^= jitter >> 7
            jitter ^= jitter << 17
            return latency / 10 * (8 + jitter % 5)
        }

        /// Sends `requests` one after another, `step` apart; node latency from `latency`. Returns picks per node.
        func run(_ requests: Int, step: UInt64, latency: (Int) -> UInt64) -> [Int] {
            var picks = [Int](repeating: 0, count: count)
            for _ in 0..<requests {
                now += step
                let node = pick()
                precondition(node >= 0)
                picks[node] += 1
                PeakEWMA.started(state: states + node)
                PeakEWMA.finished(state: states + node, latencyNanoseconds: jittered(latency(node)), now: now)
            }
            return picks
        }
    }

    @Test func slowNodeGetsFarFewerPicksAndRecovers() {
        let simulation = Simulation(count: 4)
        let ms = Self.millisecond
        let slow = simulation.run(10_000, step: ms) { $0 == 0 ? 50 * ms : ms }
        #expect(slow[1] + slow[2] + slow[3] == 10_000 - slow[0])
        for fast in 1...3 { #expect(slow[0] * 20 < slow[fast], "picks: \(slow)") }

        // Node 0 is fast again: once its stale 50 ms estimate has decayed it is retried, and its
        // fresh 1 ms samples bring it back to a fair share.
        _ = simulation.run(20_000, step: 5 * ms) { _ in ms }
        let recovered = simulation.run(10_000, step: ms) { _ in ms }
        for node in 0..<4 {
            #expect(recovered[node] > 1_500, "picks: \(recovered)")
        }
        let estimate = simulation.states[0].ewmaNanoseconds / simulation.states[1].ewmaNanoseconds
        #expect(estimate > 0.95 && estimate < 1.05)
    }

    @Test func inFlightRequestsRaiseCost() {
        let simulation = Simulation(count: 2)
        let ms = Self.millisecond
        _ = simulation.run(100, step: ms) { _ in ms }
        // Same latency, but node 0 has 5 requests in flight: node 1 wins every time.
        simulation.states[0].active = 5
        for _ in 0..<100 { #expect(simulation.pick() == 1) }
    }

    @Test func neverPicksAnUnavailableNode() {
        let simulation = Simulation(count: 5)
        simulation.available = [true, false, true, false, true]
        let picks = simulation.run(10_000, step: Self.millisecond) { _ in Self.millisecond }
        #expect(picks[1] == 0 && picks[3] == 0)
        #expect(picks[0] > 2_000 && picks[2] > 2_000 && picks[4] > 2_000, "picks: \(picks)")

        simulation.available = [false, false, false, true, false]
        for _ in 0..<100 { #expect(simulation.pick() == 3) }
        simulation.available = [false, false, false, false, false]
        #expect(simulation.pick() == -1)
    }

    @Test func singleAndEmptyUpstreams() {
        let simulation = Simulation(count: 1)
        #expect(simulation.pick() == 0)
        simulation.available = [false]
        #expect(simulation.pick() == -1)
        var random: UInt64 = 0
        let none = PeakEWMA.pick(
            count: 0,
            states: simulation.states,
            isAvailable: { _ in true },
            random: &random,
            now: 0
        )
        #expect(none == -1)
    }

    @Test func observeIsPeakSensitiveAndDecays() {
        let state = UnsafeMutablePointer<PeakEWMA.State>.allocate(capacity: 1)
        state.initialize(to: PeakEWMA.State())
        defer { state.deallocate() }
        let ms = Self.millisecond
        let tenSeconds = PeakEWMA.defaultDecayNanoseconds
        PeakEWMA.observe(state: state, latencyNanoseconds: 10 * ms, now: 1)
        #expect(state.pointee.ewmaNanoseconds == Double(10 * ms))
        // A higher sample replaces the estimate at once.
        PeakEWMA.observe(state: state, latencyNanoseconds: 80 * ms, now: 2)
        #expect(state.pointee.ewmaNanoseconds == Double(80 * ms))
        // A lower one moves it by 1 - e^-1 after one time constant: 80 → 80/e + 10(1 - 1/e) ≈ 35.75 ms.
        PeakEWMA.observe(state: state, latencyNanoseconds: 10 * ms, now: 2 + tenSeconds)
        #expect(abs(state.pointee.ewmaNanoseconds - 35.751_8 * Double(ms)) < 0.01 * Double(ms))
        // The cost decays with idle time too, so a stale slow estimate fades.
        let later = PeakEWMA.cost(state.pointee, now: 2 + 2 * tenSeconds)
        #expect(abs(later - 35.751_8 * Double(ms) / 2.718_281_8) < 0.01 * Double(ms))
        // Unmeasured: free when idle, heavily penalised once requests are in flight.
        #expect(PeakEWMA.cost(PeakEWMA.State(), now: 0) == 0)
        var busy = PeakEWMA.State()
        busy.active = 1
        #expect(PeakEWMA.cost(busy, now: 0) >= PeakEWMA.unmeasuredPenaltyNanoseconds)
    }

    @Test func pickRunsPointerOnlyInALoop() {
        let states = UnsafeMutablePointer<PeakEWMA.State>.allocate(capacity: 8)
        states.initialize(repeating: PeakEWMA.State(), count: 8)
        defer { states.deallocate() }
        var random: UInt64 = 7
        var now: UInt64 = 0
        var unavailablePicks = 0
        for _ in 0..<100_000 {
            now &+= 10_000
            let node = PeakEWMA.pick(count: 8, states: states, isAvailable: { $0 != 5 }, random: &random, now: now)
            if node == 5 { unavailablePicks += 1 }
            PeakEWMA.observe(state: states + node, latencyNanoseconds: UInt64(node + 1) * 100_000, now: now)
        }
        #expect(unavailablePicks == 0)
    }
}
