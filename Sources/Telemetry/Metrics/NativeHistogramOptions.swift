/// Settings of the native (exponential) buckets kept next to a histogram's classic buckets.
public struct NativeHistogramOptions: Sendable, Hashable {
    /// Starting resolution: each power of two is split into 2^schema buckets (-4...8).
    public var schema: Int
    /// Most buckets kept per sign; past it the resolution is halved (schema - 1), as Prometheus'
    /// Go client does. The limit applies to the span from the lowest to the highest used bucket,
    /// which lets the buckets live in a fixed inline array.
    public var bucketLimit: Int
    /// Observations whose magnitude is at most this go to the zero bucket.
    public var zeroThreshold: Double

    /// Prometheus' Go client defaults: schema 3 (factor 1.09 per bucket), 160 buckets, threshold 2^-128.
    public init(schema: Int = 3, bucketLimit: Int = 160, zeroThreshold: Double = 2.938735877055719e-39) {
        self.schema = schema
        self.bucketLimit = bucketLimit
        self.zeroThreshold = zeroThreshold
    }
}
