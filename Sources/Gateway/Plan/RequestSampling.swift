/// The per-request sampling decisions of a plan, tracing and access log, as plain values a worker reads
/// without reference counting.
package struct RequestSampling: Sendable, Equatable {
    /// The gateway takes part in traces (a `tracing:` section exists).
    package var tracing = false
    /// A request without a trace starts one under the global ratio (`tracing.sampling_ratio` above 0;
    /// routes may have their own).
    package var startsTraces: Bool { tracing && traceThreshold > 0 }
    /// A started trace is sampled when its random low trace-id bits are below this.
    package var traceThreshold: UInt64 = 0
    /// `access_log.sampling` is set.
    package var logSampling = false
    /// Other lines are written when a random value is below this.
    package var logThreshold: UInt64 = .max
    /// Statuses always written: `logStatusLow...logStatusHigh` (empty when low > high).
    package var logStatusLow = 1
    package var logStatusHigh = 0
    /// Requests at least this slow (nanoseconds) are always written.
    package var logSlowerThan: UInt64 = .max

    package init() {}

    /// `routeOverrides`: some route sets its own `tracing.sampling_ratio`, which makes the gateway take
    /// part in traces even without a `tracing:` section.
    package init(tracing: TracingSettings, accessLog: AccessLogSampling?, routeOverrides: Bool = false) {
        self.tracing = tracing.enabled || routeOverrides
        traceThreshold = tracing.enabled ? Self.threshold(tracing.samplingRatio) : 0
        if let accessLog {
            logSampling = true
            logThreshold = Self.threshold(accessLog.ratio)
            if let statuses = accessLog.alwaysStatus {
                logStatusLow = statuses.lowerBound
                logStatusHigh = statuses.upperBound
            }
            if let slow = accessLog.alwaysSlowerThan { logSlowerThan = slow.nanoseconds }
        }
    }

    /// `ratio` (0...1) as a threshold on a uniformly random 64-bit value.
    package static func threshold(_ ratio: Double) -> UInt64 {
        if ratio >= 1 { return .max }
        if ratio <= 0 { return 0 }
        return UInt64(ratio * 18_446_744_073_709_551_616.0)
    }

    /// Whether a new trace with these random bits is sampled: OpenTelemetry's trace-id ratio rule, so
    /// every gateway with the same ratio decides the same for the same trace id.
    @inline(__always)
    package func samples(traceIDLow: UInt64) -> Bool {
        Self.samples(traceIDLow: traceIDLow, threshold: traceThreshold)
    }

    /// The same rule for a route's own threshold.
    @inline(__always)
    package static func samples(traceIDLow: UInt64, threshold: UInt64) -> Bool {
        threshold == .max || traceIDLow < threshold
    }

    /// Whether a finished request's access line is written: always without sampling, for a status in
    /// the always-range, a request at least `logSlowerThan` slow, or a sampled trace (its line goes with its
    /// spans); otherwise when `random` falls under the ratio.
    @inline(__always)
    package func logs(status: Int, duration: UInt64, sampledTrace: Bool, random: UInt64) -> Bool {
        guard logSampling else { return true }
        if status >= logStatusLow && status <= logStatusHigh { return true }
        if duration >= logSlowerThan || sampledTrace { return true }
        return logThreshold == .max || random < logThreshold
    }
}
