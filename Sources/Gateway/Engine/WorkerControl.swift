import Synchronization

/// The little state shared between the main thread, the control plane and the workers.
///
/// Workers write only their own entries (plain relaxed stores); other threads read. The drain flag is
/// written once by the signal-handling thread.
package final class WorkerControl: Sendable {
    package let workerCount: Int
    private let draining = Atomic<Bool>(false)
    private let cells: [Cell]

    /// One worker's entries, in their own object so workers never write the same cache line.
    private final class Cell: Sendable {
        let running = Atomic<Bool>(false)
        let openConnections = Atomic<Int>(0)
        let tunnelsClosedByDrain = Atomic<Int>(0)
        init() {}
    }

    package init(workerCount: Int) {
        self.workerCount = workerCount
        cells = (0..<workerCount).map { _ in Cell() }
    }

    private let shuttingDown = Atomic<Bool>(false)

    /// True from the moment a shutdown is requested (before the drain starts): `/readyz` turns 503.
    package var isShuttingDown: Bool { shuttingDown.load(ordering: .relaxed) || isDraining }

    /// Marks the process as going away, ahead of the drain.
    package func beginShutdown() { shuttingDown.store(true, ordering: .relaxed) }

    /// True once a graceful shutdown has begun.
    package var isDraining: Bool { draining.load(ordering: .relaxed) }

    /// Starts a graceful shutdown of every worker.
    package func beginDrain() { draining.store(true, ordering: .relaxed) }

    package func markRunning(worker: Int) { cells[worker].running.store(true, ordering: .releasing) }
    package func markStopped(worker: Int) { cells[worker].running.store(false, ordering: .releasing) }
    package func isRunning(worker: Int) -> Bool { cells[worker].running.load(ordering: .acquiring) }
    package var allRunning: Bool { cells.allSatisfy { $0.running.load(ordering: .acquiring) } }

    /// Single-writer update of a worker's open downstream connection count.
    @inline(__always)
    package func connectionOpened(worker: Int) {
        let cell = cells[worker]
        cell.openConnections.store(cell.openConnections.load(ordering: .relaxed) &+ 1, ordering: .relaxed)
    }

    @inline(__always)
    package func connectionClosed(worker: Int) {
        let cell = cells[worker]
        cell.openConnections.store(cell.openConnections.load(ordering: .relaxed) &- 1, ordering: .relaxed)
    }

    package func connections(worker: Int) -> Int { cells[worker].openConnections.load(ordering: .relaxed) }

    /// Single-writer count of the tunnels a worker's drain closed when `shutdown.drain_timeout` ended.
    package func tunnelClosedByDrain(worker: Int) {
        let cell = cells[worker]
        cell.tunnelsClosedByDrain.store(cell.tunnelsClosedByDrain.load(ordering: .relaxed) &+ 1, ordering: .relaxed)
    }

    /// Tunnels the drain closed, over all workers (read once they have stopped, for the shutdown log).
    package var tunnelsClosedByDrain: Int {
        cells.reduce(0) { $0 + $1.tunnelsClosedByDrain.load(ordering: .acquiring) }
    }
}
