import CoreMetrics

/// A swift-metrics backend that records into a ``MetricRegistry``, so libraries using swift-metrics
/// show up in the same scrape. Bootstrap it once: `MetricsSystem.bootstrap(TelemetryMetricsFactory(registry: r))`.
///
/// swift-metrics may call from any thread, so these handlers record through the shared shard.
/// Labels become metric names with invalid characters replaced by `_`; dimensions become labels.
/// A handler whose name is taken by another metric type, or whose dimension names differ from the
/// family's first ones, records nothing rather than crash (Prometheus needs one label set per family).
public struct TelemetryMetricsFactory: MetricsFactory {
    /// The registry the handlers record into.
    public let registry: MetricRegistry
    /// Classic buckets of recorders (`aggregate: true`).
    public let recorderBuckets: [Double]
    /// Classic buckets of timers, in seconds.
    public let timerBuckets: [Double]

    /// Creates a factory recording into `registry`.
    public init(
        registry: MetricRegistry,
        recorderBuckets: [Double] = HistogramFamily.defaultBuckets,
        timerBuckets: [Double] = HistogramFamily.defaultBuckets
    ) {
        self.registry = registry
        self.recorderBuckets = recorderBuckets
        self.timerBuckets = timerBuckets
    }

    private static func split(_ dimensions: [(String, String)]) -> (names: [String], values: [String]) {
        let sorted = dimensions.map { (MetricName.sanitize($0.0, allowColon: false), $0.1) }.sorted { $0.0 < $1.0 }
        return (sorted.map(\.0), sorted.map(\.1))
    }

    private static func help(_ label: String) -> String {
        "\(label) (from swift-metrics)"
    }

    public func makeCounter(label: String, dimensions: [(String, String)]) -> CounterHandler {
        let (names, values) = Self.split(dimensions)
        let name = MetricName.sanitize(label)
        let family = try? self.registry.counter(
            name.hasSuffix("_total") ? name : name + "_total",
            help: Self.help(label),
            labelNames: names
        )
        let handle = try? family?.handle(values)
        return SwiftMetricsCounter(handle: handle)
    }

    public func makeFloatingPointCounter(label: String, dimensions: [(String, String)]) -> FloatingPointCounterHandler {
        let (names, values) = Self.split(dimensions)
        let name = MetricName.sanitize(label)
        let family = try? self.registry.counter(
            name.hasSuffix("_total") ? name : name + "_total",
            help: Self.help(label),
            labelNames: names
        )
        return SwiftMetricsCounter(handle: try? family?.handle(values))
    }

    public func makeMeter(label: String, dimensions: [(String, String)]) -> MeterHandler {
        let (names, values) = Self.split(dimensions)
        let family = try? self.registry.gauge(MetricName.sanitize(label), help: Self.help(label), labelNames: names)
        return SwiftMetricsGauge(handle: try? family?.handle(values))
    }

    public func makeRecorder(label: String, dimensions: [(String, String)], aggregate: Bool) -> RecorderHandler {
        let (names, values) = Self.split(dimensions)
        if !aggregate {
            let family = try? self.registry.gauge(MetricName.sanitize(label), help: Self.help(label), labelNames: names)
            return SwiftMetricsGauge(handle: try? family?.handle(values))
        }
        let family = try? self.registry.histogram(
            MetricName.sanitize(label),
            help: Self.help(label),
            labelNames: names,
            buckets: self.recorderBuckets
        )
        return SwiftMetricsHistogram(handle: try? family?.handle(values))
    }

    public func makeTimer(label: String, dimensions: [(String, String)]) -> TimerHandler {
        let (names, values) = Self.split(dimensions)
        let family = try? self.registry.histogram(
            MetricName.sanitize(label),
            help: Self.help(label),
            labelNames: names,
            buckets: self.timerBuckets
        )
        return SwiftMetricsHistogram(handle: try? family?.handle(values))
    }

    public func destroyCounter(_ handler: CounterHandler) {}
    public func destroyFloatingPointCounter(_ handler: FloatingPointCounterHandler) {}
    public func destroyMeter(_ handler: MeterHandler) {}
    public func destroyRecorder(_ handler: RecorderHandler) {}
    public func destroyTimer(_ handler: TimerHandler) {}
}

/// A swift-metrics counter over a registry counter. Nil when the name clashed with another type.
private final class SwiftMetricsCounter: CounterHandler, FloatingPointCounterHandler, Sendable {
    let handle: CounterHandle?

    init(handle: CounterHandle?) {
        self.handle = handle
    }

    func increment(by amount: Int64) {
        guard amount > 0 else { return }
        self.handle?.increment(by: UInt64(amount))
    }

    func increment(by amount: Double) {
        self.handle?.add(amount)
    }

    // Prometheus counters cannot be reset; a reset is ignored.
    func reset() {}
}

/// A swift-metrics meter or non-aggregating recorder over a registry gauge.
private final class SwiftMetricsGauge: MeterHandler, RecorderHandler, Sendable {
    let handle: GaugeHandle?

    init(handle: GaugeHandle?) {
        self.handle = handle
    }

    func set(_ value: Int64) { self.handle?.set(Double(value)) }
    func set(_ value: Double) { self.handle?.set(value) }
    func increment(by amount: Double) { self.handle?.add(amount) }
    func decrement(by amount: Double) { self.handle?.add(-amount) }
    func record(_ value: Int64) { self.handle?.set(Double(value)) }
    func record(_ value: Double) { self.handle?.set(value) }
}

/// A swift-metrics recorder or timer over a registry histogram (timers record seconds).
private final class SwiftMetricsHistogram: RecorderHandler, TimerHandler, Sendable {
    let handle: HistogramHandle?

    init(handle: HistogramHandle?) {
        self.handle = handle
    }

    func record(_ value: Int64) { self.handle?.observe(Double(value)) }
    func record(_ value: Double) { self.handle?.observe(value) }
    func recordNanoseconds(_ duration: Int64) { self.handle?.observe(Double(duration) / 1e9) }
}
