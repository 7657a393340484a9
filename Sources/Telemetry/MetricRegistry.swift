import Synchronization

/// The set of metric families of one process, with one shard per worker writer plus a shared shard.
///
/// Register families and resolve handles at start-up or configuration load; register one
/// ``MetricWriter`` per worker thread; record through handles on the workers; call ``render(accept:acceptEncoding:)``
/// on the scraping thread, where all shards are merged and encoded. On a configuration reload, resolve the
/// handles of the new configuration (existing label values continue their series) and retire the series of
/// what it removed with ``retireSeries(label:values:)``.
public final class MetricRegistry: Sendable {
    package enum Family: Sendable {
        case counter(CounterFamily)
        case gauge(GaugeFamily)
        case histogram(HistogramFamily)

        package var core: FamilyCore {
            switch self {
            case .counter(let family): family.core
            case .gauge(let family): family.core
            case .histogram(let family): family.core
            }
        }

        var object: AnyObject {
            switch self {
            case .counter(let family): family
            case .gauge(let family): family
            case .histogram(let family): family
            }
        }
    }

    private struct State {
        var families: [String: Family] = [:]
        /// The same families as plain references. `Family` keeps its case in the spare bits of the
        /// payload's pointer, which LeakSanitizer does not read as a pointer: a family held only by the
        /// dictionary looked leaked at exit whenever the registry was still alive.
        var anchors: [AnyObject] = []
        var freeWriters: [Int]
        var collectors: [@Sendable () -> Void] = []
    }

    /// The most worker writers that can be registered at once.
    public let writerCapacity: Int
    package let space: ShardSpace
    private let state: Mutex<State>

    /// Creates an empty registry with room for `writerCapacity` worker shards.
    public convenience init(writerCapacity: Int = 64) {
        self.init(writerCapacity: writerCapacity, clock: { WallClock.now() })
    }

    /// Creates a registry whose series creation times come from `clock` (for tests).
    package init(writerCapacity: Int, clock: @escaping @Sendable () -> Double) {
        let capacity = max(writerCapacity, 0)
        self.writerCapacity = capacity
        self.space = ShardSpace(writerCapacity: capacity, clock: clock)
        self.state = Mutex(State(freeWriters: Array((0..<capacity).reversed())))
    }

    /// Gives the calling worker thread its own shard. Keep the writer on that thread.
    public func registerWriter() throws(TelemetryError) -> MetricWriter {
        let index = self.state.withLock { $0.freeWriters.popLast() }
        guard let index else {
            throw TelemetryError(.tooManyWriters, "all \(self.writerCapacity) writer shards are taken")
        }
        return MetricWriter(shardIndex: index)
    }

    /// Returns a writer's shard for reuse by a later writer. What it recorded stays counted.
    public func releaseWriter(_ writer: consuming MetricWriter) {
        self.releaseShard(of: writer)
    }

    /// Returns the shard of a writer stored in an object that is going away: a class's `deinit` cannot
    /// consume a stored writer. The writer must not record afterwards. Releasing a shard twice is harmless.
    package func releaseShard(of writer: borrowing MetricWriter) {
        let index = writer.shardIndex
        self.state.withLock { state in
            if !state.freeWriters.contains(index) { state.freeWriters.append(index) }
        }
    }

    /// Registers a collector run on the scraping thread before each scrape (for values read from
    /// elsewhere, such as process statistics).
    public func addCollector(_ collector: @escaping @Sendable () -> Void) {
        self.state.withLock { $0.collectors.append(collector) }
    }

    /// Drops every collector, for a shutdown once no scrape can come: collectors capture the parts they
    /// read (health, reloads, logs), some of which lead back to the registry, and the cycle would keep the
    /// whole runtime allocated until the process ends.
    public func removeCollectors() {
        self.state.withLock { $0.collectors.removeAll() }
    }

    /// Registers (or returns the existing) counter family. `name` should end in `_total`.
    public func counter(
        _ name: String,
        help: String,
        labelNames: [String] = [],
        unit: String? = nil,
        maxSeries: Int = 10_000
    ) throws(TelemetryError) -> CounterFamily {
        let base = name.hasSuffix("_total") ? String(name.dropLast(6)) : name
        let family = try self.register(
            base,
            help: help,
            labelNames: labelNames,
            unit: unit,
            kind: .counter,
            maxSeries: maxSeries,
            slots: CounterFamily.slots
        ) { core in .counter(CounterFamily(core: core)) }
        guard case .counter(let counter) = family else { throw Self.conflict(name) }
        return counter
    }

    /// Registers (or returns the existing) gauge family.
    public func gauge(
        _ name: String,
        help: String,
        labelNames: [String] = [],
        unit: String? = nil,
        maxSeries: Int = 10_000
    ) throws(TelemetryError) -> GaugeFamily {
        let family = try self.register(
            name,
            help: help,
            labelNames: labelNames,
            unit: unit,
            kind: .gauge,
            maxSeries: maxSeries,
            slots: GaugeFamily.slots
        ) { core in .gauge(GaugeFamily(core: core)) }
        guard case .gauge(let gauge) = family else { throw Self.conflict(name) }
        return gauge
    }

    /// Registers (or returns the existing) histogram family.
    ///
    /// - Parameters:
    ///   - buckets: classic upper bounds, strictly increasing and finite (+Inf is implied).
    ///   - native: native bucket settings, or nil for classic buckets only.
    ///   - exemplarLabelName: the label name of exemplars (for example `request_id`), or nil.
    public func histogram(
        _ name: String,
        help: String,
        labelNames: [String] = [],
        unit: String? = nil,
        buckets: [Double] = HistogramFamily.defaultBuckets,
        native: NativeHistogramOptions? = NativeHistogramOptions(),
        exemplarLabelName: String? = nil,
        maxSeries: Int = 10_000
    ) throws(TelemetryError) -> HistogramFamily {
        guard !buckets.isEmpty, buckets.allSatisfy(\.isFinite),
            zip(buckets, buckets.dropFirst()).allSatisfy({ $0 < $1 })
        else {
            throw TelemetryError(.invalidConfiguration, "\(name): buckets must be finite and strictly increasing")
        }
        if let native {
            guard (-4...8).contains(native.schema), native.bucketLimit >= 8, native.zeroThreshold >= 0 else {
                throw TelemetryError(
                    .invalidConfiguration,
                    "\(name): native schema must be in -4...8, bucket limit >= 8, zero threshold >= 0"
                )
            }
        }
        guard !labelNames.contains("le") else {
            throw TelemetryError(.invalidName, "\(name): a histogram cannot have a label named le")
        }
        if let exemplarLabelName, !MetricName.isValidLabelName(exemplarLabelName) {
            throw TelemetryError(.invalidName, "\(name): invalid exemplar label name \(exemplarLabelName)")
        }
        let slots = HistogramFamily.slots(buckets: buckets, native: native, exemplars: exemplarLabelName != nil)
        let family = try self.register(
            name,
            help: help,
            labelNames: labelNames,
            unit: unit,
            kind: .histogram,
            maxSeries: maxSeries,
            slots: slots
        ) { core in
            .histogram(
                HistogramFamily(core: core, buckets: buckets, native: native, exemplarLabelName: exemplarLabelName)
            )
        }
        guard case .histogram(let histogram) = family, histogram.buckets == buckets, histogram.native == native,
            histogram.exemplarLabelName == exemplarLabelName
        else { throw Self.conflict(name) }
        return histogram
    }

    private static func conflict(_ name: String) -> TelemetryError {
        TelemetryError(
            .conflictingRegistration,
            "\(name) is already registered with a different type, labels or buckets"
        )
    }

    private func register(
        _ name: String,
        help: String,
        labelNames: [String],
        unit: String?,
        kind: MetricKind,
        maxSeries: Int,
        slots: Int,
        make: (FamilyCore) -> Family
    ) throws(TelemetryError) -> Family {
        guard MetricName.isValidMetricName(name) else {
            throw TelemetryError(.invalidName, "invalid metric name \"\(name)\"")
        }
        for label in labelNames where !MetricName.isValidLabelName(label) {
            throw TelemetryError(.invalidName, "\(name): invalid label name \"\(label)\"")
        }
        guard Set(labelNames).count == labelNames.count else {
            throw TelemetryError(.invalidName, "\(name): duplicate label names \(labelNames)")
        }
        if let unit {
            guard MetricName.isValidLabelName(unit), name.hasSuffix("_" + unit) else {
                throw TelemetryError(.invalidName, "\(name): the name must end with the unit \"_\(unit)\"")
            }
        }
        guard maxSeries >= 1 else {
            throw TelemetryError(.invalidConfiguration, "\(name): maxSeries must be at least 1")
        }
        let result: Family? = self.state.withLock { state in
            if let existing = state.families[name] {
                return existing.core.isCompatible(kind: kind, labelNames: labelNames) ? existing : nil
            }
            let core = FamilyCore(
                name: name,
                help: help,
                unit: unit,
                labelNames: labelNames,
                kind: kind,
                maxSeries: maxSeries,
                slotsPerSeries: slots,
                space: self.space
            )
            let family = make(core)
            state.families[name] = family
            state.anchors.append(family.object)
            return family
        }
        guard let result else { throw Self.conflict(name) }
        return result
    }

    package func families() -> [Family] {
        self.state.withLock { state in
            state.families.keys.sorted().map { state.families[$0]! }
        }
    }

    package func runCollectors() {
        let collectors = self.state.withLock { $0.collectors }
        for collector in collectors {
            collector()
        }
    }
}
