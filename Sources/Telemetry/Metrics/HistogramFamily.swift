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

    /// Retires the series whose label values (in the order of the family's label names) satisfy
    /// `shouldRetire`, for example those of routes or upstreams a configuration reload removed.
    ///
    /// The next scrape (in any format) still renders a retired series; later scrapes do not. Handles to it
    /// stay valid and may still record (an in-flight request finishing). Its storage is kept for the
    /// registry's lifetime: resolving the same label values again revives it with the value it accumulated,
    /// so a route that comes back continues where it left off. Retired series do not count toward the
    /// family's series limit; a revived one counts again. `shouldRetire` runs under the family's lock: it
    /// must not call back into the family.
    ///
    /// - Returns: how many series this call retired.
    @discardableResult
    public func retire(where shouldRetire: ([String]) -> Bool) -> Int {
        self.core.retire(where: shouldRetire)
    }

    /// Retires the series of these label values (see ``retire(where:)``).
    ///
    /// - Returns: whether this call retired a series (false when none with these label values is listed or
    ///   it is already retired).
    @discardableResult
    public func retire(labelValues: [String]) throws(TelemetryError) -> Bool {
        try self.core.retire(labelValues: labelValues)
    }

    /// Retires every series whose label `labelName` has one of `values`, for example
    /// `retire(label: "route", values: ["r1"])` (see ``retire(where:)``).
    ///
    /// - Returns: how many series this call retired.
    /// - Throws: ``TelemetryError/Code/invalidLabels`` when the family has no label `labelName`.
    @discardableResult
    public func retire(label labelName: String, values: Set<String>) throws(TelemetryError) -> Int {
        try self.core.retire(label: labelName, values: values)
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
