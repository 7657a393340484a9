extension MetricRegistry {
    /// Registers a `..._build_info` gauge with value 1 whose labels describe the build
    /// (for example `gateway_build_info{version="1.0.0",revision="abc123"}`). Labels are sorted by name.
    public func buildInfo(_ name: String, help: String? = nil, labels: [String: String]) throws(TelemetryError) {
        guard name.hasSuffix("_build_info") else {
            throw TelemetryError(.invalidName, "a build info metric's name must end in _build_info, got \(name)")
        }
        let names = labels.keys.sorted()
        let family = try self.gauge(
            name,
            help: help ?? "A metric with a constant '1' value labeled by the build's version information.",
            labelNames: names
        )
        try family.handle(names.map { labels[$0]! }).set(1)
    }
}
