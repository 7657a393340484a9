import Synchronization
import Telemetry

#if canImport(Glibc)
import Glibc
#endif

/// Keeps recent ``TrafficSnapshot``s on the control plane so `/status/traffic` can answer with rates.
///
/// A rate needs two readings. Rather than a timer thread, each request reads the registry once and
/// compares that reading with the newest kept one at least ``window`` old (or the oldest kept one, when
/// none is that old yet). So several viewers polling at once share the same baseline and each sees
/// rates over about one second, and nothing is read while nobody looks. The first baseline is an empty
/// reading taken when the sampler is made (before any traffic): the first answer averages since start.
package final class TrafficSampler: Sendable {
    private let registry: MetricRegistry
    private let samples: Mutex<[TrafficSnapshot]>
    private let clock: @Sendable () -> Double
    /// The interval rates are computed over, once readings that old exist.
    package let window: Double
    /// Readings closer together than this are not kept (they would add nothing but memory).
    package let spacing: Double

    package init(
        registry: MetricRegistry,
        window: Double = 1,
        spacing: Double = 0.25,
        clock: @escaping @Sendable () -> Double = TrafficSampler.monotonicSeconds
    ) {
        self.registry = registry
        self.window = window
        self.spacing = spacing
        self.clock = clock
        self.samples = Mutex([TrafficSnapshot(time: clock())])
    }

    /// Reads the registry now and reports the traffic since the chosen baseline; `order` is the
    /// configuration's route order.
    package func report(order: [String]) -> TrafficReport {
        let (baseline, current) = readings()
        return TrafficReport(from: baseline, to: current, order: order)
    }

    /// Reads the registry now and returns that reading with the baseline chosen for it, keeping the new
    /// reading for later requests: what ``report(order:)`` and the SLO figures of `/status/traffic`
    /// (``SLOStatus``) are computed from, so both cover the same interval.
    package func readings() -> (baseline: TrafficSnapshot, current: TrafficSnapshot) {
        let now = clock()
        let current = TrafficSnapshot.read(from: registry, at: now)
        return samples.withLock { samples in
            let baseline = samples.last { now - $0.time >= window } ?? samples[0]
            if let last = samples.last, now - last.time < spacing {
                return (baseline, current)
            }
            samples.append(current)
            // Keep the newest reading old enough to be a baseline and everything newer: at most
            // window / spacing + 2 readings.
            if let keep = samples.lastIndex(where: { now - $0.time >= window }), keep > 0 {
                samples.removeFirst(keep)
            }
            return (baseline, current)
        }
    }

    /// CLOCK_MONOTONIC in seconds: intervals unaffected by wall-clock steps.
    package static func monotonicSeconds() -> Double {
        var spec = timespec()
        clock_gettime(CLOCK_MONOTONIC, &spec)
        return Double(spec.tv_sec) + Double(spec.tv_nsec) / 1e9
    }
}
