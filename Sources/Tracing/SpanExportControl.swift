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

    func register(_ ring: SpanRing) {
        self.ringList.withLock { $0.append(ring) }
    }

    var rings: [SpanRing] { self.ringList.withLock { $0 } }

    /// Spans the rings dropped because they were full, summed over every ring.
    var ringFull: UInt64 { self.rings.reduce(0) { $0 &+ $1.dropped } }
}
