/// Service-level objectives of a route or an upstream (`slo:`), from which `gateway rules` writes
/// Prometheus recording and alerting rules.
///
/// ```yaml
/// slo: {availability: 99.9, latency: {threshold: 0.3, target: 99}, window: 30d}
/// ```
package struct SLOConfig: Sendable, Equatable {
    /// A latency objective: ``target`` percent of requests complete within ``threshold`` seconds.
    package struct Latency: Sendable, Equatable {
        /// Upper bound in seconds (`threshold`); it becomes a classic bucket bound of the family.
        package var threshold: Double
        /// Percent of requests that must be faster, above 0 and below 100 (`target`).
        package var target: Double

        package init(threshold: Double, target: Double) {
            self.threshold = threshold
            self.target = target
        }
    }

    /// Percent of requests answered without a 5xx, above 0 and below 100 (`availability`).
    package var availability: Double?
    /// The latency objective (`latency`).
    package var latency: Latency?
    /// The compliance period the error budget is counted over (`window`, default `30d`).
    package var window = PrometheusDuration.thirtyDays
    /// gRPC status codes that also count against `availability` (`grpc_error_codes`, e.g. `[2, 4, 13,
    /// 14]`): a gRPC error travels in a 200 response, which the 5xx rule alone would call good.
    package var grpcErrorCodes: [Int] = []

    package init(availability: Double? = nil, latency: Latency? = nil) {
        self.availability = availability
        self.latency = latency
    }
}
