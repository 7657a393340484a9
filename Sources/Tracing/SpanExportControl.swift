import Synchronization

/// What the ``SpanExporter`` and its thread share: the registered rings, the counters, the stop request
/// and the last error. Kept apart from the exporter so that the thread does not keep it alive.
final class SpanExportControl: Sendable {
    private let ringList = Mutex<[SpanRing]>([])
    let exported = Atomic<UInt64>(0)
    let queueFull = Atomic<UInt64>(0)
    let exportFailed = Atomic<UInt64>(0)
    let queued = Atomic<Int>(0)
    let stopRequested = Atomic<Bool>(false)
    let lastError = Mutex<SpanExporterError?>(nil)
    /// A configuration ``SpanExporter/reconfigure(_:)`` posted for the exporter thread to take.
    let pending = Mutex<SpanExportSettings?>(nil)
    /// Whether `pending` holds one (written under its lock). While it does the thread leaves the rings
    /// alone, so what it had taken before the change is all that goes to the old endpoint.
    let reconfiguring = Atomic<Bool>(false)

    /// Posts `settings` for the exporter thread.
    func post(_ settings: SpanExportSettings) {
        self.pending.withLock { pending in
            pending = settings
            self.reconfiguring.store(true, ordering: .releasing)
        }
    }

    /// The posted settings, if any; the rings stay closed until ``finishReconfiguration()``.
    func takePending() -> SpanExportSettings? {
        self.pending.withLock { $0.take() }
    }

    /// Opens the rings again, unless another configuration was posted meanwhile.
    func finishReconfiguration() {
        self.pending.withLock { pending in
            self.reconfiguring.store(pending != nil, ordering: .releasing)
        }
    }

    func register(_ ring: SpanRing) {
        self.ringList.withLock { $0.append(ring) }
    }

    var rings: [SpanRing] { self.ringList.withLock { $0 } }

    /// Spans the rings dropped because they were full, summed over every ring.
    var ringFull: UInt64 { self.rings.reduce(0) { $0 &+ $1.dropped } }
}
