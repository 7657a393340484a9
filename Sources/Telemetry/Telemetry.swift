/// Prometheus-first metrics: per-worker shards merged on scrape.
public enum TelemetryLibrary {
    /// The library's version string.
    public static let version = "0.1.0"
}
