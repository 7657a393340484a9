/// A family merged across all shards, ready to encode. Built on the scraping thread.
package struct FamilySnapshot: Sendable {
    /// The name without a counter's `_total` suffix (OpenMetrics' family name).
    package var baseName: String
    package var help: String
    package var unit: String?
    package var kind: MetricKind
    package var labelNames: [String]
    package var exemplarLabelName: String?
    package var series: [SeriesSnapshot]

    /// The sample name of a counter (`base_total`), or the family name otherwise.
    package var sampleName: String {
        self.kind == .counter ? self.baseName + "_total" : self.baseName
    }
}

/// One series of a merged family.
package struct SeriesSnapshot: Sendable {
    package var labelValues: [String]
    package var created: Double
    package var value: SeriesValue
}

/// The merged value of a series.
package enum SeriesValue: Sendable {
    /// Integer increments are kept exact; fractional ones are added on top.
    case counter(integer: UInt64, fraction: Double)
    case gauge(Double)
    case histogram(HistogramSnapshot)
}

/// A histogram merged across shards: every shard was read consistently, so count == +Inf bucket.
package struct HistogramSnapshot: Sendable {
    package var count: UInt64
    package var sum: Double
    package var bounds: [Double]
    /// Cumulative counts for each bound, then +Inf.
    package var cumulative: [UInt64]
    /// The latest exemplar of each classic bucket (by timestamp across shards).
    package var exemplars: [ExemplarSnapshot?]
    package var native: NativeHistogramSnapshot?
}

/// An exemplar: one label value, the observed value, when it was observed, and the trace id if any.
package struct ExemplarSnapshot: Sendable, Equatable {
    package var labelValue: String
    package var value: Double
    package var timestamp: Double
    /// The W3C trace id as 32 lowercase hex digits, exposed as a `trace_id` label; nil when none.
    package var traceID: String? = nil
}

/// Native buckets merged at the coarsest schema any shard had to fall back to.
package struct NativeHistogramSnapshot: Sendable, Equatable {
    package var schema: Int
    package var zeroThreshold: Double
    package var zeroCount: UInt64
    /// (bucket key, count) in increasing key order, zero counts left out.
    package var positive: [(key: Int, count: UInt64)]
    package var negative: [(key: Int, count: UInt64)]

    package static func == (lhs: Self, rhs: Self) -> Bool {
        lhs.schema == rhs.schema && lhs.zeroThreshold == rhs.zeroThreshold && lhs.zeroCount == rhs.zeroCount
            && lhs.positive.elementsEqual(rhs.positive, by: { $0 == $1 })
            && lhs.negative.elementsEqual(rhs.negative, by: { $0 == $1 })
    }
}

extension SeriesValue {
    /// The counter's value as a `Double`.
    package var counterTotal: Double {
        if case .counter(let integer, let fraction) = self {
            return Double(integer) + fraction
        }
        return 0
    }
}
