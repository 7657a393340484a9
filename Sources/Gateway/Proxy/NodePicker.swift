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

    private unowned(unsafe) var plan: ProxyPlan
    private unowned(unsafe) var health: NodeHealthBoard
    /// Per node: the half-open generation this worker last saw, and probe requests it may still send.
    private let probeGenerations: UnsafeMutablePointer<UInt32>
    private let probesLeft: UnsafeMutablePointer<Int32>
    // Per node by its position in the plan's `members` (contiguous per upstream, as the balancers
    // want): exchanges in flight on this worker, peak-EWMA latency state, smooth weighted
    // round-robin running weights.
    private var activePerNode: UnsafeMutablePointer<Int32>
    private var ewmaStates: UnsafeMutablePointer<PeakEWMA.State>
    private var currentWeights: UnsafeMutablePointer<Int64>
    /// Per upstream: least-connections tie-break cursor.
    private let cursors: UnsafeMutablePointer<Int>
    /// Length of the per-node arrays (the plan's node capacity; read here, never through `plan`, in `deinit`).
    private let nodeCapacity: Int
    /// xorshift state for two-choice picks and retry jitter.
    private var random: UInt64

    /// The plan and board must outlive the picker or be replaced through ``adopt(plan:health:)``
    /// first (the caller holds them; the picker reads them without reference counting).
    package init(plan: ProxyPlan, health: NodeHealthBoard, seed: UInt64) {
        self.plan = plan
        self.health = health
        let nodes = plan.nodeCapacity
        nodeCapacity = nodes
        probeGenerations = zeroed(nodes)
        probesLeft = zeroed(nodes)
        activePerNode = zeroed(nodes)
        currentWeights = zeroed(nodes)
        // A zeroed state is `PeakEWMA.State()` (no sample yet).
        ewmaStates = zeroed(nodes)
        cursors = zeroed(plan.upstreamCapacity)
        random = seed | 1
    }

    deinit {
        free(probeGenerations)
        free(probesLeft)
        free(activePerNode)
        free(currentWeights)
        free(cursors)
        free(ewmaStates)
    }

    /// Moves to a reloaded plan: per-node state follows each node to its new member position; nodes
    /// new at their index start afresh, as do the cursors of upstreams new at theirs.
    package mutating func adopt(plan next: ProxyPlan, health board: NodeHealthBoard) {
        let old = plan
        let capacity = nodeCapacity
        for upstream in next.placement.upstreams.fresh { cursors[Int(upstream)] = 0 }
        if Self.sameMembers(old, next) {
            // Only routes or settings changed: every node keeps its position and its state.
            plan = next
            health = board
            return
        }
        let active: UnsafeMutablePointer<Int32> = zeroed(capacity)
        let weights: UnsafeMutablePointer<Int64> = zeroed(capacity)
        let states: UnsafeMutablePointer<PeakEWMA.State> = zeroed(capacity)
        var fresh = Set(next.placement.nodes.fresh)
        for node in 0..<min(old.nodeCount, next.nodeCount) where !fresh.contains(Int32(node)) {
            let from = Int(old.nodes[node].member)
            let to = Int(next.nodes[node].member)
            guard from >= 0, to >= 0 else { continue }
            active[to] = activePerNode[from]
            weights[to] = currentWeights[from]
            states[to] = ewmaStates[from]
        }
        fresh.formUnion(next.placement.nodes.retired)
        for node in fresh where Int(node) < capacity {
            probeGenerations[Int(node)] = 0
            probesLeft[Int(node)] = 0
        }
        free(activePerNode)
        free(currentWeights)
        free(ewmaStates)
        activePerNode = active
        currentWeights = weights
        ewmaStates = states
        plan = next
        health = board
    }

    /// No node was added, removed or moved between `old` and `next`.
    private static func sameMembers(_ old: ProxyPlan, _ next: ProxyPlan) -> Bool {
        guard old.nodeCount == next.nodeCount, next.placement.nodes.fresh.isEmpty,
            next.placement.nodes.retired.isEmpty
        else { return false }
        for node in 0..<next.nodeCount where old.nodes[node].member != next.nodes[node].member { return false }
        return true
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
        let first = Int(entry.firstMember)
        let count = Int(entry.memberCount)
        let halfOpen = entry.halfOpenRequests
        let nodes = plan.nodes
        let members = plan.members + first
        let panic = health.inPanic(upstream: upstream)
        let (health, generations, left) = (health, probeGenerations, probesLeft)
        let eligible: (Int) -> Bool = { index in
            let node = Int(members[index])
            return (index >= 64 || tried & (1 << UInt64(index)) == 0) && nodes[node].weight > 0
                && (panic || Self.isAvailable(node, halfOpen, health, generations, left))
        }
        let picked: Int
        switch entry.balancer {
        case .roundRobin:
            picked = SmoothWeightedRoundRobin.pick(
                count: count,
                current: currentWeights + first,
                weight: { Int64(nodes[Int(members[$0])].weight) },
                isAvailable: eligible
            )
        case .leastConnections:
            picked = LeastConnections.pick(
                count: count,
                active: activePerNode + first,
                weight: { Int64(nodes[Int(members[$0])].weight) },
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
        let node = Int(members[picked])
        if !panic && health.availability(node: node).0 == .halfOpen { probesLeft[node] -= 1 }
        return Pick(node: node, panic: panic)
    }

    /// Whether some node of `upstream` outside `tried` could still take the request.
    package func hasUntriedNode(upstream: Int, tried: UInt64) -> Bool {
        let entry = plan.upstreams[upstream]
        let first = Int(entry.firstMember)
        let panic = health.inPanic(upstream: upstream)
        for index in 0..<Int(entry.memberCount) {
            let node = Int(plan.members[first + index])
            guard plan.nodes[node].weight > 0 else { continue }
            if index < 64 && tried & (1 << UInt64(index)) != 0 { continue }
            if panic || isAvailable(node, halfOpenRequests: entry.halfOpenRequests) { return true }
        }
        return false
    }

    /// An attempt started on `node`: it counts toward least-connections and peak-EWMA load.
    @inline(__always)
    package func started(node: Int) {
        let member = Int(plan.nodes[node].member)
        activePerNode[member] += 1
        PeakEWMA.started(state: ewmaStates + member)
    }

    /// An attempt on `node` ended after `latency` nanoseconds.
    @inline(__always)
    package func finished(node: Int, latency: UInt64, now: UInt64) {
        let member = Int(plan.nodes[node].member)
        activePerNode[member] -= 1
        PeakEWMA.finished(state: ewmaStates + member, latencyNanoseconds: latency, now: now)
    }

    /// Attempts in flight on `node` on this worker.
    package func active(node: Int) -> Int32 { activePerNode[Int(plan.nodes[node].member)] }

    /// The next xorshift value (retry jitter).
    @inline(__always)
    package mutating func nextRandom() -> UInt64 {
        random ^= random << 13
        random ^= random >> 7
        random ^= random << 17
        return random
    }
}
