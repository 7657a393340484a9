import Synchronization

/// Hands compiled plans from the reloading thread to the workers.
///
/// A worker reads ``generation`` (one acquire load) once per loop turn, between requests; when it
/// changed, it takes the plan with ``take()`` and acknowledges it. No lock and no read-modify-write
/// atomic is on that path. The publisher keeps every plan it published until each worker has
/// acknowledged a newer one, so a worker can never take a plan that is being freed; the workers keep
/// the plans they use alive themselves.
package final class PlanPublisher: @unchecked Sendable {
    private let latest: Atomic<UInt>
    private let latestGeneration: Atomic<UInt64>
    private let acknowledged: UnsafeMutablePointer<Atomic<UInt64>>
    package let workerCount: Int
    /// Published plans some worker may not have taken yet, oldest first, and the current one.
    private let held: Mutex<[ProxyPlan]>

    package init(plan: ProxyPlan, workerCount: Int) {
        self.workerCount = workerCount
        latest = Atomic(UInt(bitPattern: Unmanaged.passUnretained(plan).toOpaque()))
        latestGeneration = Atomic(plan.generation)
        acknowledged = .allocate(capacity: max(1, workerCount))
        for worker in 0..<max(1, workerCount) { (acknowledged + worker).initialize(to: Atomic(plan.generation)) }
        held = Mutex([plan])
    }

    deinit {
        acknowledged.deinitialize(count: max(1, workerCount))
        acknowledged.deallocate()
    }

    /// The generation of the newest plan (workers compare it with theirs every turn).
    @inline(__always)
    package var generation: UInt64 { latestGeneration.load(ordering: .acquiring) }

    /// The newest plan, for a worker about to adopt it (then ``acknowledge(worker:generation:)``).
    package func take() -> ProxyPlan {
        let bits = latest.load(ordering: .acquiring)
        return Unmanaged<ProxyPlan>.fromOpaque(UnsafeRawPointer(bitPattern: bits)!).takeUnretainedValue()
    }

    /// Worker `worker` now serves new requests on `generation`.
    @inline(__always)
    package func acknowledge(worker: Int, generation: UInt64) {
        acknowledged[worker].store(generation, ordering: .releasing)
    }

    /// The generation every worker has reached (the oldest one still in use for new requests).
    private var oldestAcknowledged: UInt64 {
        var oldest = UInt64.max
        for worker in 0..<workerCount { oldest = min(oldest, acknowledged[worker].load(ordering: .acquiring)) }
        return oldest
    }

    /// The current plan, for threads other than the workers (control plane, reloads).
    package var current: ProxyPlan { held.withLock { $0[$0.count - 1] } }

    /// Makes `plan` the newest. Plans every worker has moved past are released.
    package func publish(_ plan: ProxyPlan) {
        held.withLock { plans in
            plans.append(plan)
            latest.store(UInt(bitPattern: Unmanaged.passUnretained(plan).toOpaque()), ordering: .releasing)
            latestGeneration.store(plan.generation, ordering: .releasing)
        }
        releaseTaken()
    }

    /// Drops the publisher's hold on plans older than what every worker has acknowledged.
    private func releaseTaken() {
        let oldest = oldestAcknowledged
        held.withLock { plans in
            // Keep the newest always; older ones go once no worker can still be about to take them.
            while plans.count > 1 && plans[0].generation < oldest { plans.removeFirst() }
        }
    }
}
