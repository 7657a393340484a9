import Foundation

extension ControlPlane {
    /// The `traffic` object of `/status/traffic` (keys documented in docs/STATUS.md).
    static func json(_ report: TrafficReport) -> [String: Any] {
        func number(_ value: Double?) -> Any { value.map { $0 as Any } ?? NSNull() }
        return [
            "interval_seconds": report.intervalSeconds,
            "requests_per_second": report.requestsPerSecond,
            "error_ratio": number(report.errorRatio),
            "routes": report.routes.map { route -> [String: Any] in
                [
                    "route": route.route,
                    "requests_per_second": route.requestsPerSecond,
                    "error_ratio": number(route.errorRatio),
                    "p50_seconds": number(route.p50),
                    "p99_seconds": number(route.p99),
                    "requests_total": route.requestsTotal,
                ]
            },
        ]
    }
}
