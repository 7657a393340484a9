import CLiburing
import Glibc

/// One worker's node choice: each upstream's balancer over the nodes that may take traffic, the
/// half-open probe allowances, panic mode, and the per-node load the balancers weigh.
///
/// Pure worker-local state (no I/O, no locks); it reads only the health board the controller
/// publishes. `~Copyable` so the worker holds it inline and calls it without reference counting.
package struct NodePicker: ~Copyable {
    /// What ``pick(upstream:tried:hashKey:now:)`` chose.
    package struct Pick: Equatable {
        /// The plan's node index; -1 when no node may take the request.
        package var node: Int
        /// Chosen in panic mode: the upstream had too few available nodes, so every node was eligible.
        package var panic: Bool
    }

    private let plan: ProxyPlan
    private let health: NodeHealthBoard
    /// Per node: the half-open generation this worker last saw, and probe requests it may still send.
    private let probeGenerations: UnsafeMutablePointer<UInt32>
    private let probesLeft: UnsafeMutablePointer<Int32>
    /// Per node: exchanges in flight on this worker (least connections, peak EWMA).
    private let activePerNode: UnsafeMutablePointer<Int32>
    /// Per node: peak-EWMA latency state.
    private let ewmaStates: UnsafeMutablePointer<PeakEWMA.State>
    /// Per node: smooth weighted round-robin running weights.
    private let currentWeights: UnsafeMutablePointer<Int64>
    /// Per upstream: least-connections tie-break cursor.
    private let cursors: UnsafeMutablePointer<Int>
    /// xorshift state for two-choice picks and retry jitter.
    private var random: UInt64

    package init(plan: ProxyPlan, health: NodeHealthBoard, seed: UInt64) {
        self.plan = plan
        self.health = health
        let nodes = max(1, plan.nodeCount)
        probeGenerations = zeroed(nodes)
        probesLeft = zeroed(nodes)
        activePerNode = zeroed(nodes)
        currentWeights = zeroed(nodes)
        ewmaStates = .allocate(capacity: nodes)
        ewmaStates.initialize(repeating: PeakEWMA.State(), count: nodes)
        cursors = zeroed(max(1, plan.upstreamCount))
        random = seed | 1
    }

    deinit {
        free(probeGenerations)
        free(probesLeft)
        free(activePerNode)
        free(currentWeights)
        free(cursors)
        ewmaStates.deinitialize(count: max(1, plan.nodeCount))
        ewmaStates.deallocate()
    }

    /// Whether `node` may take a new request: published health and circuit state, and in half-open
    /// this worker's own probe allowance for the current half-open period.
    @inline(__always)
    private func isAvailable(_ node: Int, halfOpenRequests: Int32) -> Bool {
        Self.isAvailable(node, halfOpenRequests, health, probeGenerations, probesLeft)
    }

    @inline(__always)
    private static func isAvailable(
        _ node: Int,
        _ halfOpenRequests: Int32,
        _ health: NodeHealthBoard,
        _ probeGenerations: UnsafeMutablePointer<UInt32>,
        _ probesLeft: UnsafeMutablePointer<Int32>
    ) -> Bool {
        let (state, generation) = health.availability(node: node)
        switch state {
        case .available: return true
        case .unhealthy, .open: return false
        case .halfOpen:
            if probeGenerations[node] != generation {
                probeGenerations[node] = generation
                probesLeft[node] = halfOpenRequests
            }
            return probesLeft[node] > 0
        }
    }

    /// Picks a node of `upstream` not in `tried` (bit = node offset in the upstream). In panic every
    /// node with a weight is eligible, whatever its health; otherwise only available ones.
    package mutating func pick(upstream: Int, tried: UInt64, hashKey: UInt64, now: UInt64) -> Pick {
        let entry = plan.upstreams[upstream]
        let first = Int(entry.firstNode)
        let count = Int(entry.nodeCount)
        let halfOpen = entry.halfOpenRequests
        let nodes = plan.nodes
        let panic = health.inPanic(upstream: upstream)
        let (health, generations, left) = (health, probeGenerations, probesLeft)
        let eligible: (Int) -> Bool = { index in
            (index >= 64 || tried & (1 << UInt64(index)) == 0) && nodes[first + index].weight > 0
                && (panic || Self.isAvailable(first + index, halfOpen, health, generations, left))
        }
        let picked: Int
        switch entry.balancer {
        case .roundRobin:
            picked = SmoothWeightedRoundRobin.pick(
                count: count,
                current: currentWeights + first,
                weight: { Int64(nodes[first + $0].weight) },
                isAvailable: eligible
            )
        case .leastConnections:
            picked = LeastConnections.pick(
                count: count,
                active: activePerNode + first,
                weight: { Int64(nodes[first + $0].weight) },
                isAvailable: eligible,
                cursor: &cursors[upstream]
            )
        case .peakEWMA:
            var state = random
            picked = PeakEWMA.pick(
                count: count,
                states: ewmaStates + first,
                isAvailable: eligible,
                random: &state,
                now: now
            )
            random = state
        case .consistentHash:
            picked = plan.ring(entry.ring)._withUnsafeGuaranteedRef {
                $0.node(for: hashKey, isAvailable: eligible)
            }
        }
        guard picked >= 0 else { return Pick(node: -1, panic: panic) }
        let node = first + picked
        if !panic && health.availability(node: node).0 == .halfOpen { probesLeft[node] -= 1 }
        return Pick(node: node, panic: panic)
    }

    /// Whether some node of `upstream` outside `tried` could still take the request.
    package func hasUntriedNode(upstream: Int, tried: UInt64) -> Bool {
        let entry = plan.upstreams[upstream]
        let first = Int(entry.firstNode)
        let panic = health.inPanic(upstream: upstream)
        for index in 0..<Int(entry.nodeCount) where plan.nodes[first + index].weight > 0 {
            if index < 64 && tried & (1 << UInt64(index)) != 0 { continue }
            if panic || isAvailable(first + index, halfOpenRequests: entry.halfOpenRequests) { return true }
        }
        return false
    }

    /// An attempt started on `node`: it counts toward least-connections and peak-EWMA load.
    @inline(__always)
    package func started(node: Int) {
        activePerNode[node] += 1
        PeakEWMA.started(state: ewmaStates + node)
    }

    /// An attempt on `node` ended after `latency` nanoseconds.
    @inline(__always)
    package func finished(node: Int, latency: UInt64, now: UInt64) {
        activePerNode[node] -= 1
        PeakEWMA.finished(state: ewmaStates + node, latencyNanoseconds: latency, now: now)
    }

    /// Attempts in flight on `node` on this worker.
    package func active(node: Int) -> Int32 { activePerNode[node] }

    /// The next xorshift value (retry jitter).
    @inline(__always)
    package mutating func nextRandom() -> UInt64 {
        random ^= random << 13
        random ^= random >> 7
        random ^= random << 17
        return random
    }
}
