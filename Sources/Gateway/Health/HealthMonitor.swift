import Foundation
import Logging
import Synchronization

/// The health controller's work, one step at a time: reads outcome counters, drives the node
/// machines, runs due active probes and publishes availability.
///
/// Thread-confined (`@unchecked Sendable`): created by ``HealthController`` and then used only by its
/// thread, except ``latestSnapshot()``, which any thread may call.
package final class HealthMonitor: @unchecked Sendable {
    private struct Record {
        var since: Date
        var reason = ""
        var transitions: [String: UInt64] = [:]
        var activeChecks: UInt64 = 0
        var activeCheckFailures: UInt64 = 0
    }

    package private(set) var upstreams: [MonitoredUpstream]
    package private(set) var nodes: [MonitoredNode]
    /// Position in `nodes` by board index (probes are tagged with board indices, which survive a reload).
    private var positions: [Int: Int] = [:]
    package let board: NodeHealthBoard
    private let logger: Logger
    private var machines: [NodeHealthMachine]
    private var guards: [EjectionGuard]
    private var totals: [NodeOutcomeCounts]
    private var generations: [UInt32]
    private var nextProbe: [ContinuousClock.Instant]
    private var records: [Record]
    private var prober: ActiveProber
    /// Per upstream: whether it is in panic (too few available nodes; balancing over all of them).
    private var panicking: [Bool]
    /// Per upstream, reused every step so the check allocates nothing: available nodes, all nodes.
    private var availableCounts: [Int]
    private var nodeCounts: [Int]
    private let sharedPanics: Mutex<[Bool]>
    /// Refreshed before every publication, so a reader that sees a new state on the board finds it here too.
    private let shared: Mutex<[NodeHealthSnapshot]>

    package init(
        upstreams: [MonitoredUpstream],
        nodes: [MonitoredNode],
        board: NodeHealthBoard,
        logger: Logger,
        now: ContinuousClock.Instant = .now,
        seed: UInt64 = .random(in: 0 ... .max),
        engine: EngineKind = .epoll
    ) {
        prober = ActiveProber(engine: engine)
        self.upstreams = upstreams
        self.nodes = nodes
        self.board = board
        self.logger = logger
        var counts = Array(repeating: 0, count: upstreams.count)
        for node in nodes { counts[node.upstreamIndex] = max(counts[node.upstreamIndex], node.nodeIndex + 1) }
        guards = upstreams.indices.map {
            EjectionGuard(nodeCount: counts[$0], maxEjectionPercent: upstreams[$0].circuitBreaker.maxEjectionPercent)
        }
        var jitter = JitterSource(seed: seed)
        machines = nodes.map { node in
            let upstream = upstreams[node.upstreamIndex]
            return NodeHealthMachine(
                index: node.nodeIndex,
                checks: upstream.checks,
                circuitBreaker: upstream.circuitBreaker,
                now: now,
                seed: jitter.next()
            )
        }
        totals = Array(repeating: NodeOutcomeCounts(), count: nodes.count)
        generations = Array(repeating: 0, count: nodes.count)
        nextProbe = Array(repeating: now, count: nodes.count)
        records = Array(repeating: Record(since: Date()), count: nodes.count)
        shared = Mutex([])
        panicking = Array(repeating: false, count: upstreams.count)
        availableCounts = Array(repeating: 0, count: upstreams.count)
        var perUpstream = Array(repeating: 0, count: upstreams.count)
        for node in nodes { perUpstream[node.upstreamIndex] += 1 }
        nodeCounts = perUpstream
        sharedPanics = Mutex(panicking)
        for index in nodes.indices {
            totals[index] = outcomeTotals(board: nodes[index].boardIndex)
            board.publish(node: nodes[index].boardIndex, availability: .available, generation: 0)
            positions[nodes[index].boardIndex] = index
        }
        refresh(now: now)
    }

    /// Moves to a reloaded configuration. A node at the same board index whose upstream keeps its
    /// checks and circuit-breaker settings keeps its state (health, circuit, counters, transitions);
    /// every other node starts available, as at start. Board indices in `fresh` belong to new nodes.
    package func adopt(
        upstreams next: [MonitoredUpstream],
        nodes nextNodes: [MonitoredNode],
        fresh: Set<Int>,
        now: ContinuousClock.Instant = .now
    ) {
        var jitter = JitterSource(seed: .random(in: 0 ... .max))
        var nextMachines: [NodeHealthMachine] = []
        var nextTotals: [NodeOutcomeCounts] = []
        var nextGenerations: [UInt32] = []
        var nextProbes: [ContinuousClock.Instant] = []
        var nextRecords: [Record] = []
        var nextPositions: [Int: Int] = [:]
        var perUpstream = Array(repeating: 0, count: next.count)
        for node in nextNodes {
            perUpstream[node.upstreamIndex] = max(perUpstream[node.upstreamIndex], node.nodeIndex + 1)
        }
        var nextGuards = next.indices.map {
            EjectionGuard(nodeCount: perUpstream[$0], maxEjectionPercent: next[$0].circuitBreaker.maxEjectionPercent)
        }
        for (position, node) in nextNodes.enumerated() {
            let upstream = next[node.upstreamIndex]
            nextPositions[node.boardIndex] = position
            if let old = positions[node.boardIndex], !fresh.contains(node.boardIndex),
                upstreams[nodes[old].upstreamIndex].checks == upstream.checks,
                upstreams[nodes[old].upstreamIndex].circuitBreaker == upstream.circuitBreaker
            {
                var machine = machines[old]
                machine.index = node.nodeIndex
                if machine.published != .available { _ = nextGuards[node.upstreamIndex].eject(node.nodeIndex) }
                nextMachines.append(machine)
                nextTotals.append(totals[old])
                nextGenerations.append(generations[old])
                nextProbes.append(nextProbe[old])
                nextRecords.append(records[old])
                continue
            }
            nextMachines.append(
                NodeHealthMachine(
                    index: node.nodeIndex,
                    checks: upstream.checks,
                    circuitBreaker: upstream.circuitBreaker,
                    now: now,
                    seed: jitter.next()
                )
            )
            nextTotals.append(outcomeTotals(board: node.boardIndex))
            // A new generation, so workers drop half-open allowances they kept for this index.
            let generation = (positions[node.boardIndex].map { generations[$0] } ?? 0) &+ 1
            nextGenerations.append(generation)
            nextProbes.append(now)
            nextRecords.append(Record(since: Date()))
            board.publish(node: node.boardIndex, availability: .available, generation: generation)
        }
        var nodeTotals = Array(repeating: 0, count: next.count)
        for node in nextNodes { nodeTotals[node.upstreamIndex] += 1 }
        upstreams = next
        nodes = nextNodes
        machines = nextMachines
        totals = nextTotals
        generations = nextGenerations
        nextProbe = nextProbes
        records = nextRecords
        positions = nextPositions
        guards = nextGuards
        nodeCounts = nodeTotals
        availableCounts = Array(repeating: 0, count: next.count)
        // Panic is decided afresh for the new upstream list; publish it for the board's indices.
        panicking = Array(repeating: false, count: next.count)
        for upstream in next.indices {
            board.publishPanic(upstream: next[upstream].boardIndex >= 0 ? next[upstream].boardIndex : upstream, false)
        }
        sharedPanics.withLock { $0 = panicking }
        updatePanics()
        refresh(now: now)
    }

    /// Per upstream, whether it is in panic; safe from any thread.
    package func latestPanics() -> [Bool] {
        sharedPanics.withLock { $0 }
    }

    /// The last refreshed state of every node; safe from any thread.
    package func latestSnapshot() -> [NodeHealthSnapshot] {
        shared.withLock { $0 }
    }

    private func refresh(now: ContinuousClock.Instant) {
        let snapshot = snapshot(now: now)
        shared.withLock { $0 = snapshot }
    }

    /// Feeds the outcome deltas since the last step, advances timers and starts due probes.
    package func step(now: ContinuousClock.Instant) {
        for index in nodes.indices {
            let total = outcomeTotals(board: nodes[index].boardIndex)
            let previous = totals[index]
            totals[index] = total
            let delta = NodeOutcomeCounts(
                successes: total.successes &- previous.successes,
                connectFailures: total.connectFailures &- previous.connectFailures,
                timeouts: total.timeouts &- previous.timeouts,
                httpFailures: total.httpFailures &- previous.httpFailures
            )
            let upstream = nodes[index].upstreamIndex
            if !delta.isEmpty {
                apply(machines[index].outcomes(delta, now: now, ejection: &guards[upstream]), node: index)
            }
            apply(machines[index].tick(now: now, ejection: &guards[upstream]), node: index)
        }
        startDueProbes(now: now)
        updatePanics()
        refresh(now: now)
    }

    /// Enters or leaves panic per upstream from its nodes' published availability, logging each change
    /// once: below `panic_threshold` percent of available nodes, the workers balance over all nodes.
    private func updatePanics() {
        for upstream in upstreams.indices { availableCounts[upstream] = 0 }
        for index in nodes.indices where machines[index].published == .available {
            availableCounts[nodes[index].upstreamIndex] += 1
        }
        let available = availableCounts
        let total = nodeCounts
        var changed = false
        for upstream in upstreams.indices {
            let threshold = upstreams[upstream].panicThreshold
            let panic = PanicThreshold.isPanic(
                available: available[upstream],
                total: total[upstream],
                threshold: threshold
            )
            guard panic != panicking[upstream] else { continue }
            panicking[upstream] = panic
            changed = true
            board.publishPanic(
                upstream: upstreams[upstream].boardIndex >= 0 ? upstreams[upstream].boardIndex : upstream,
                panic
            )
            let share = total[upstream] > 0 ? available[upstream] * 100 / total[upstream] : 0
            let counts = "\(available[upstream]) of \(total[upstream]) nodes available (\(share)%)"
            let metadata: Logger.Metadata = [
                "upstream": "\(upstreams[upstream].id)", "available": "\(available[upstream])",
                "nodes": "\(total[upstream])", "panic_threshold": "\(threshold)",
            ]
            if panic {
                logger.warning(
                    "upstream entered panic: \(counts), under panic_threshold \(threshold)%: balancing over all nodes",
                    metadata: metadata
                )
            } else {
                logger.info("upstream left panic: \(counts)", metadata: metadata)
            }
        }
        if changed { sharedPanics.withLock { $0 = panicking } }
    }

    /// Waits for probe answers until `deadline` and feeds them to the machines.
    package func poll(until deadline: ContinuousClock.Instant) {
        let completions = prober.poll(until: deadline)
        let now = ContinuousClock.now
        for completion in completions {
            guard let index = positions[completion.node] else { continue }
            records[index].activeChecks += 1
            if completion.result.isFailure { records[index].activeCheckFailures += 1 }
            let upstream = nodes[index].upstreamIndex
            apply(machines[index].probe(completion.result, now: now, ejection: &guards[upstream]), node: index)
        }
        if !completions.isEmpty {
            updatePanics()
            refresh(now: now)
        }
    }

    /// The state of every node.
    package func snapshot(now: ContinuousClock.Instant) -> [NodeHealthSnapshot] {
        nodes.indices.map { index in
            let node = nodes[index]
            return NodeHealthSnapshot(
                upstreamID: upstreams[node.upstreamIndex].id,
                upstreamIndex: node.upstreamIndex,
                node: node.label,
                nodeIndex: node.nodeIndex,
                boardIndex: node.boardIndex,
                availability: machines[index].published,
                healthy: machines[index].isHealthy,
                circuit: machines[index].circuit,
                since: records[index].since,
                lastTransitionReason: records[index].reason,
                recent: machines[index].recent(at: now),
                transitions: records[index].transitions,
                activeChecks: records[index].activeChecks,
                activeCheckFailures: records[index].activeCheckFailures,
                generation: generations[index]
            )
        }
    }

    private func startDueProbes(now: ContinuousClock.Instant) {
        for index in nodes.indices {
            let node = nodes[index]
            guard let check = upstreams[node.upstreamIndex].checks?.active, now >= nextProbe[index],
                !prober.isProbing(node: node.boardIndex)
            else { continue }
            if let limit = check.concurrency {
                let busy = nodes.indices.filter {
                    nodes[$0].upstreamIndex == node.upstreamIndex && prober.isProbing(node: nodes[$0].boardIndex)
                }.count
                if busy >= limit { continue }
            }
            nextProbe[index] = now + (machines[index].isHealthy ? check.healthy.interval : check.unhealthy.interval)
            prober.start(
                node: node.boardIndex,
                address: node.address,
                check: check,
                hostHeader: node.hostHeader,
                tls: upstreams[node.upstreamIndex].probeTLS,
                now: now
            )
        }
    }

    private func apply(_ action: NodeHealthMachine.Action?, node index: Int) {
        guard let action else { return }
        let node = nodes[index]
        let metadata: Logger.Metadata = [
            "upstream": "\(upstreams[node.upstreamIndex].id)", "node": "\(node.label)",
        ]
        switch action {
        case .publish(let transition):
            generations[index] &+= 1
            records[index].since = Date()
            records[index].reason = transition.reason
            records[index].transitions[transition.to.label, default: 0] += 1
            refresh(now: transition.time)
            board.publish(node: node.boardIndex, availability: transition.to, generation: generations[index])
            logger.log(
                level: transition.to == .available ? .info : .warning,
                "upstream node \(transition.from.label) -> \(transition.to.label): \(transition.reason)",
                metadata: metadata.merging(
                    [
                        "from": "\(transition.from.label)", "to": "\(transition.to.label)",
                        "reason": "\(transition.reason)",
                    ]
                ) { $1 }
            )
        case .grantProbes:
            generations[index] &+= 1
            refresh(now: .now)
            board.publish(
                node: node.boardIndex,
                availability: machines[index].published,
                generation: generations[index]
            )
        case .ejectionCapped(let note):
            records[index].reason = note.reason
            refresh(now: note.time)
            logger.warning(
                "upstream node kept in service: \(note.reason)",
                metadata: metadata.merging(["reason": "\(note.reason)"]) { $1 }
            )
        }
    }

    private func outcomeTotals(board index: Int) -> NodeOutcomeCounts {
        var sum = NodeOutcomeCounts()
        for worker in 0..<board.workerCount {
            for outcome in NodeOutcome.allCases {
                sum[outcome] &+= board.outcomeCount(worker: worker, node: index, outcome: outcome)
            }
        }
        return sum
    }
}
