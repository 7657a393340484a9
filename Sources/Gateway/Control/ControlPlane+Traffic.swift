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

    /// One entry of the `slo` list of `/status/traffic` (keys documented in docs/STATUS.md); `since` is
    /// when counting started (the gateway's start, ISO 8601).
    static func json(_ status: SLOStatus, since: String) -> [String: Any] {
        func number(_ value: Double?) -> Any { value.map { $0 as Any } ?? NSNull() }
        let objective = status.objective
        let subject = objective.subject.label
        var entry: [String: Any] = [
            subject.name: subject.value,
            "slo": objective.indicator.name,
            "objective": objective.target,
            "window": objective.window.description,
            "since": since,
            "requests": status.events,
            "error_ratio": number(status.errorRatio),
            "budget_remaining": number(status.budgetRemaining),
            "burn_rate": number(status.burnRate),
        ]
        if case .latency(let threshold) = objective.indicator {
            entry["threshold_seconds"] = threshold
        }
        if case .upstream(_, let routes) = objective.subject {
            entry["routes"] = routes
        }
        if let note = status.note {
            entry["note"] = note
        }
        return entry
    }
}
