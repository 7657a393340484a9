/// One objective of one route or upstream, as `gateway rules` writes rules for it.
package struct SLOObjective: Sendable, Equatable {
    /// Whose requests the objective counts.
    package enum Subject: Sendable, Equatable {
        /// A route's requests (label `route`).
        case route(String)
        /// An upstream's: those of the routes that send to it (label `upstream`).
        case upstream(id: String, routes: [String])

        /// The label that names the subject on every rule: (`route`, id) or (`upstream`, id).
        package var label: (name: String, value: String) {
            switch self {
            case .route(let id): ("route", id)
            case .upstream(let id, _): ("upstream", id)
            }
        }
    }

    /// What counts as a bad request.
    package enum Indicator: Sendable, Equatable {
        /// A 5xx response.
        case availability
        /// A response slower than the threshold in seconds.
        case latency(threshold: Double)

        /// The `slo` label value.
        package var name: String {
            switch self {
            case .availability: "availability"
            case .latency: "latency"
            }
        }
    }

    package var subject: Subject
    package var indicator: Indicator
    /// Percent of good requests, above 0 and below 100.
    package var target: Double
    /// The compliance period.
    package var window: PrometheusDuration
    /// For availability: gRPC status codes counted as bad besides 5xx responses.
    package var grpcErrorCodes: [Int]

    package init(
        subject: Subject,
        indicator: Indicator,
        target: Double,
        window: PrometheusDuration,
        grpcErrorCodes: [Int] = []
    ) {
        self.subject = subject
        self.indicator = indicator
        self.target = target
        self.window = window
        self.grpcErrorCodes = grpcErrorCodes
    }

    /// The share of requests that may be bad: 1 - target/100.
    package var errorBudget: Double { (100 - target) / 100 }
}
