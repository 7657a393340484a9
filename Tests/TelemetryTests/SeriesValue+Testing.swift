@testable import Telemetry

extension SeriesValue {
    /// The snapshot of a histogram series, nil for a counter or gauge.
    ///
    /// For `try #require(value.histogramSnapshot)`: a series of the wrong kind fails the test instead of
    /// skipping its checks, as a `guard case ... else { return }` would.
    var histogramSnapshot: HistogramSnapshot? {
        if case .histogram(let snapshot) = self { return snapshot }
        return nil
    }
}
