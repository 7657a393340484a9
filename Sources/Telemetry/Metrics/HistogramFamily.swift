import Synchronization

/// A family of histograms sharing a name, help text, label names and buckets.
///
/// Every observation lands in classic buckets and, unless disabled, in native exponential buckets.
// Immutable after init; the layout pointer is written once and only read afterwards.
public final class HistogramFamily: @unchecked Sendable {
    /// Prometheus' default classic buckets (seconds).
    public static let defaultBuckets: [Double] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]

    package let core: FamilyCore
    package let layout: UnsafeMutablePointer<HistogramLayout>
    package let buckets: [Double]
    package let native: NativeHistogramOptions?
    /// The exemplar's label name (for example `request_id`), or nil when exemplars are off.
    public let exemplarLabelName: String?
    /// Serialises writers of the shared shard so they can use the single-writer protocol.
    package let sharedWriters: SharedWriterLock

    package init(core: FamilyCore, buckets: [Double], native: NativeHistogramOptions?, exemplarLabelName: String?) {
        self.core = core
        self.buckets = buckets
        self.native = native
        self.exemplarLabelName = exemplarLabelName
        self.layout = .allocate(capacity: 1)
        self.layout.initialize(
            to: HistogramLayout(bounds: buckets, native: native, exemplars: exemplarLabelName != nil)
        )
        self.sharedWriters = SharedWriterLock()
    }

    // Handles point at the layout; they are valid only while the registry (which holds this family) lives.
    deinit {
        self.layout.pointee.free()
        self.layout.deinitialize(count: 1)
        self.layout.deallocate()
    }

    package static func slots(buckets: [Double], native: NativeHistogramOptions?, exemplars: Bool) -> Int {
        let layout = HistogramLayout(bounds: buckets, native: native, exemplars: exemplars)
        defer { layout.free() }
        return layout.slots
    }

    /// The family's name.
    public var name: String { self.core.name }

    /// Returns the handle for these label values, in the order of the family's label names.
    public func handle(_ labelValues: [String]) throws(TelemetryError) -> HistogramHandle {
        let (cells, overflow) = try self.core.resolve(labelValues)
        return HistogramHandle(
            cells: cells,
            overflow: overflow,
            layout: self.layout,
            sharedWriters: Unmanaged.passUnretained(self.sharedWriters)
        )
    }

    /// Returns the handle of a family without labels.
    public func handle() throws(TelemetryError) -> HistogramHandle {
        try self.handle([])
    }
}

/// A tiny lock for the shared shard (not the hot path: only non-worker threads take it).
package final class SharedWriterLock: Sendable {
    private let mutex = Mutex(())

    package init() {}

    package func withLock<R>(_ body: () -> R) -> R {
        self.mutex.withLock { _ in body() }
    }
}
