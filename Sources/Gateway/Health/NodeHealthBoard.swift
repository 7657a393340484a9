import Synchronization

/// Whether a node may take traffic, as published by the health controller.
package enum NodeAvailability: UInt8, Sendable {
    /// Healthy and circuit closed.
    case available = 0
    /// Marked unhealthy by active or passive checks.
    case unhealthy = 1
    /// Circuit open: no traffic until the open period ends.
    case open = 2
    /// Circuit half-open: each worker may send a bounded number of probe requests.
    case halfOpen = 3
}

/// What one exchange with a node came to, as a worker saw it.
package enum NodeOutcome: Int, Sendable, CaseIterable {
    case success = 0
    case connectFailure = 1
    case timeout = 2
    /// A response whose status the passive check counts as a failure.
    case httpFailure = 3
}

/// The state shared between the workers and the health controller, without locks.
///
/// The controller is the only writer of each node's availability (a word packing the state and a
/// generation that changes on every transition, so workers can reset per-period probe allowances).
/// Each worker is the only writer of its own outcome counters (relaxed load + store, no read-modify-write);
/// the controller reads them and works on the deltas.
package final class NodeHealthBoard: @unchecked Sendable {  // atomics behind pointers allocated once
    package let nodeCount: Int
    package let workerCount: Int
    package let upstreamCount: Int
    private let published: UnsafeMutablePointer<Atomic<UInt64>>
    /// Per upstream: 1 while too few of its nodes are available and it balances over all of them.
    private let panics: UnsafeMutablePointer<Atomic<UInt8>>
    /// `[worker][node][outcome]`, each worker's block padded to whole cache lines.
    private let outcomes: UnsafeMutablePointer<Atomic<UInt64>>
    private let workerStride: Int

    package init(nodeCount: Int, workerCount: Int, upstreamCount: Int = 0) {
        self.nodeCount = nodeCount
        self.workerCount = workerCount
        self.upstreamCount = upstreamCount
        panics = .allocate(capacity: max(1, upstreamCount))
        for upstream in 0..<max(1, upstreamCount) { (panics + upstream).initialize(to: Atomic(0)) }
        published = .allocate(capacity: max(1, nodeCount))
        for node in 0..<max(1, nodeCount) { (published + node).initialize(to: Atomic(0)) }
        let perWorker = max(1, nodeCount) * NodeOutcome.allCases.count
        workerStride = (perWorker + 7) / 8 * 8
        outcomes = .allocate(capacity: workerStride * max(1, workerCount))
        for index in 0..<(workerStride * max(1, workerCount)) { (outcomes + index).initialize(to: Atomic(0)) }
    }

    deinit {
        panics.deinitialize(count: max(1, upstreamCount))
        panics.deallocate()
        published.deinitialize(count: max(1, nodeCount))
        published.deallocate()
        outcomes.deinitialize(count: workerStride * max(1, workerCount))
        outcomes.deallocate()
    }

    // MARK: - Controller side

    /// Publishes `availability` for `node` with a new `generation` (controller thread only).
    package func publish(node: Int, availability: NodeAvailability, generation: UInt32) {
        published[node].store(UInt64(generation) << 8 | UInt64(availability.rawValue), ordering: .releasing)
    }

    /// Publishes whether `upstream` is in panic (controller thread only).
    package func publishPanic(upstream: Int, _ panic: Bool) {
        guard upstream < upstreamCount else { return }
        panics[upstream].store(panic ? 1 : 0, ordering: .releasing)
    }

    /// The running total of `outcome` for `node` as counted by `worker`.
    package func outcomeCount(worker: Int, node: Int, outcome: NodeOutcome) -> UInt64 {
        outcomes[worker * workerStride + node * NodeOutcome.allCases.count + outcome.rawValue].load(ordering: .relaxed)
    }

    // MARK: - Worker side (hot path)

    /// The node's published state and its generation.
    @inline(__always)
    package func availability(node: Int) -> (NodeAvailability, UInt32) {
        let word = published[node].load(ordering: .acquiring)
        return (
            NodeAvailability(rawValue: UInt8(truncatingIfNeeded: word)) ?? .available,
            UInt32(truncatingIfNeeded: word >> 8)
        )
    }

    /// Whether `upstream` is in panic: its balancer treats every node as available.
    @inline(__always)
    package func inPanic(upstream: Int) -> Bool {
        upstream < upstreamCount && panics[upstream].load(ordering: .acquiring) != 0
    }

    /// Counts one outcome on the calling worker's own counters.
    @inline(__always)
    package func record(worker: Int, node: Int, outcome: NodeOutcome) {
        let cell = outcomes + (worker * workerStride + node * NodeOutcome.allCases.count + outcome.rawValue)
        cell.pointee.store(cell.pointee.load(ordering: .relaxed) &+ 1, ordering: .relaxed)
    }
}
