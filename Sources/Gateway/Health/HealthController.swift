import Dispatch
import Foundation
import Logging
import Synchronization

/// The thread (not a worker) that keeps upstream node health: every `interval` it reads the workers'
/// outcome counters from a ``NodeHealthBoard``, runs due active probes, and publishes each node's
/// availability with a new generation on every transition, logging each transition once.
package final class HealthController: Sendable {
    private let monitor: HealthMonitor
    private let interval: Duration
    private let running = Atomic<Bool>(false)
    private let started = Atomic<Bool>(false)
    private let finished = DispatchSemaphore(value: 0)
    /// A reloaded node list waiting for the controller thread, which owns the monitor.
    private let pending = Mutex<(upstreams: [MonitoredUpstream], nodes: [MonitoredNode], fresh: Set<Int>)?>(nil)

    /// The board the workers read availability from and count outcomes into.
    package var board: NodeHealthBoard { monitor.board }

    package init(
        upstreams: [MonitoredUpstream],
        nodes: [MonitoredNode],
        board: NodeHealthBoard,
        interval: Duration = .milliseconds(50),
        logger: Logger = Logger(label: "gateway.health"),
        engine: EngineKind = .epoll
    ) {
        monitor = HealthMonitor(upstreams: upstreams, nodes: nodes, board: board, logger: logger, engine: engine)
        self.interval = interval
    }

    /// Starts the controller thread (once).
    package func start() {
        guard started.compareExchange(expected: false, desired: true, ordering: .acquiringAndReleasing).exchanged
        else { return }
        running.store(true, ordering: .releasing)
        let thread = Thread { [self] in run() }
        thread.name = "gateway-health"
        thread.start()
    }

    /// Stops the thread and waits for it to finish (at most about one interval).
    package func stop() {
        guard started.load(ordering: .acquiring),
            running.compareExchange(expected: true, desired: false, ordering: .acquiringAndReleasing).exchanged
        else { return }
        finished.wait()
    }

    /// Hands a reloaded configuration to the controller thread, which adopts it before its next step
    /// (see ``HealthMonitor/adopt(upstreams:nodes:fresh:now:)``). Safe from any thread; without a
    /// running thread it is adopted now.
    package func adopt(upstreams: [MonitoredUpstream], nodes: [MonitoredNode], fresh: Set<Int>) {
        guard started.load(ordering: .acquiring) else {
            monitor.adopt(upstreams: upstreams, nodes: nodes, fresh: fresh)
            return
        }
        pending.withLock { $0 = (upstreams, nodes, fresh) }
    }

    /// Per upstream (plan order), whether it is in panic. Safe from any thread.
    package func panics() -> [Bool] {
        monitor.latestPanics()
    }

    /// Every node's state; refreshed each step and before each publication. Safe from any thread.
    package func snapshot() -> [NodeHealthSnapshot] {
        monitor.latestSnapshot()
    }

    private func run() {
        let clock = ContinuousClock()
        var next = clock.now
        while running.load(ordering: .acquiring) {
            if let next = pending.withLock({ value in
                defer { value = nil }
                return value
            }) {
                monitor.adopt(upstreams: next.upstreams, nodes: next.nodes, fresh: next.fresh)
            }
            let now = clock.now
            monitor.step(now: now)
            next = max(next + interval, now)
            repeat { monitor.poll(until: next) } while clock.now < next && running.load(ordering: .relaxed)
        }
        finished.signal()
    }
}
