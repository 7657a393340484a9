import Foundation

/// Writes one Prometheus rule file for exactly the objectives of a configuration, in the scheme Sloth
/// and Pyrra generate (what `gateway rules` prints).
///
/// Per objective, one rule group holds, in evaluation order: the error ratio over each of
/// ``sliWindows`` (`slo:sli_error:ratio_rate5m` … `ratio_rate3d`) and over the objective's window; the
/// meta rules (`slo:objective:ratio`, `slo:error_budget:ratio`, `slo:current_burn_rate:ratio`,
/// `slo:period_burn_rate:ratio`, `slo:period_error_budget_remaining:ratio`); the page and ticket
/// burn-rate alerts; and an alert for the objective's metric being absent. Every series carries the
/// subject's label (`route` or `upstream`) and `slo` (`availability` or `latency`). The text is
/// deterministic: the same configuration gives the same bytes.
package struct SLORuleGenerator: Sendable {
    /// Which histogram series latency objectives read.
    package enum Histograms: String, Sendable, CaseIterable {
        /// The `le` bucket at the threshold of the classic buckets.
        case classic
        /// `histogram_fraction` over native histograms (Prometheus with `native-histograms` enabled).
        case native
    }

    /// How the file is written.
    package struct Options: Sendable {
        /// Every range and `for` duration is divided by this (at least 1), for tests; record names keep
        /// the unscaled windows. Results are rounded to whole milliseconds.
        package var windowScale: Double = 1
        /// `nil`: native when `metrics.native_histograms` is on, classic otherwise.
        package var histograms: Histograms?
        /// Where the alerts' `runbook_url` points; the alert's anchor is appended.
        package var runbook = "docs/RUNBOOK.md"
        /// Named in the file's header (the `--config` path).
        package var sourceName = ""

        package init() {}
    }

    /// A burn-rate alert: fires when the error ratio exceeds `factor` times the budget over both windows
    /// of either pair.
    package struct BurnAlert: Sendable {
        package var name: String
        package var severity: String
        package var pairs: [(factor: Double, long: PrometheusDuration, short: PrometheusDuration)]
        package var pending: PrometheusDuration
    }

    /// The error-ratio windows recorded for every objective.
    package static let sliWindows: [PrometheusDuration] = [
        minutes(5), minutes(30), minutes(60), minutes(120), minutes(360), minutes(1440), minutes(4320),
    ]
    /// Page at 14.4x (1h and 5m) or 6x (6h and 30m); ticket at 3x (1d and 2h) or 1x (3d and 6h): the SRE
    /// workbook's multi-window, multi-burn-rate alerts.
    package static let burnAlerts = [
        BurnAlert(
            name: "GatewaySLOBurnRatePage",
            severity: "page",
            pairs: [(14.4, minutes(60), minutes(5)), (6, minutes(360), minutes(30))],
            pending: minutes(2)
        ),
        BurnAlert(
            name: "GatewaySLOBurnRateTicket",
            severity: "ticket",
            pairs: [(3, minutes(1440), minutes(120)), (1, minutes(4320), minutes(360))],
            pending: minutes(15)
        ),
    ]
    /// The alert for an objective whose metric has no series.
    package static let absentAlert = "GatewaySLOMetricsAbsent"
    /// How long the metric must be absent before that alert fires.
    package static let absentFor = minutes(10)

    package let config: GatewayConfig
    package let options: Options

    package init(config: GatewayConfig, options: Options = Options()) {
        self.config = config
        self.options = options
    }

    private static func minutes(_ count: Int64) -> PrometheusDuration {
        PrometheusDuration(milliseconds: count * 60_000)
    }

    /// The histogram series latency objectives read.
    package var histograms: Histograms {
        options.histograms ?? (config.metrics.nativeHistograms ? .native : .classic)
    }

    /// The objectives rules are written for, in file order (routes, then upstreams), and a note for each
    /// `slo` block left out.
    package var objectives: (objectives: [SLOObjective], skipped: [String]) {
        var objectives: [SLOObjective] = []
        var skipped: [String] = []
        func add(_ subject: SLOObjective.Subject, _ slo: SLOConfig) {
            if let availability = slo.availability {
                objectives.append(
                    SLOObjective(
                        subject: subject,
                        indicator: .availability,
                        target: availability,
                        window: slo.window,
                        grpcErrorCodes: slo.grpcErrorCodes
                    )
                )
            }
            if let latency = slo.latency {
                objectives.append(
                    SLOObjective(
                        subject: subject,
                        indicator: .latency(threshold: latency.threshold),
                        target: latency.target,
                        window: slo.window
                    )
                )
            }
        }
        for route in config.routes {
            guard let slo = route.slo else { continue }
            guard route.enabled else {
                skipped.append("route \(route.id) is disabled (status: 0): its objectives are left out")
                continue
            }
            add(.route(route.id), slo)
        }
        for upstream in config.upstreams {
            guard let slo = upstream.slo else { continue }
            let routes = config.routes.filter { $0.enabled && $0.upstreamID == upstream.id && $0.mocking == nil }
            guard !routes.isEmpty else {
                skipped.append("upstream \(upstream.id): no enabled route sends to it, so its objectives are left out")
                continue
            }
            add(.upstream(id: upstream.id, routes: routes.map(\.id)), slo)
        }
        return (objectives, skipped)
    }

    /// The rule file's text.
    package func render() throws(SLORuleError) -> String {
        guard options.windowScale.isFinite, options.windowScale >= 1 else {
            throw SLORuleError(
                code: .invalidScale,
                message: "the window scale must be a number of at least 1, not \(options.windowScale)"
            )
        }
        let (objectives, skipped) = self.objectives
        var out = header(objectives: objectives, skipped: skipped)
        guard !objectives.isEmpty else {
            out += "groups: []\n"
            return out
        }
        out += "groups:\n"
        for objective in objectives {
            out += try group(objective)
        }
        return out
    }

    /// A window as written into the file: divided by the scale.
    func scaled(_ window: PrometheusDuration) throws(SLORuleError) -> String {
        guard let scaled = window.divided(by: options.windowScale) else {
            throw SLORuleError(
                code: .windowTooShort,
                message: "\(window) divided by \(Self.number(options.windowScale)) is shorter than a millisecond"
            )
        }
        return scaled.description
    }

    private func header(objectives: [SLOObjective], skipped: [String]) -> String {
        let source = options.sourceName.isEmpty ? "the configuration" : options.sourceName
        var lines = [
            "Prometheus rules for the service-level objectives (`slo`) in \(source).",
            "Generated by `gateway rules`: do not edit; change the `slo` blocks and run it again.",
            "Scheme as Sloth and Pyrra write it (docs/METRICS.md, \"SLO rules\"): error ratios over 5m, 30m, 1h, 2h,",
            "6h, 1d, 3d and the objective's window (slo:sli_error:ratio_rate*), meta rules, and multi-window",
            "multi-burn-rate alerts: page at 14.4x (1h and 5m) or 6x (6h and 30m), ticket at 3x (1d and 2h) or",
            "1x (3d and 6h), plus one absent-metric alert per objective. Runbook: docs/RUNBOOK.md.",
        ]
        if objectives.contains(where: { $0.indicator != .availability }) {
            switch histograms {
            case .classic:
                lines.append("Latency objectives read classic buckets: the le bucket at the threshold.")
            case .native:
                lines.append("Latency objectives read native histograms with histogram_fraction: Prometheus must")
                lines.append("run with --enable-feature=native-histograms (it then drops the classic buckets).")
            }
        }
        for (family, defaults) in [
            (GatewayConfig.routeLatencyFamily, GatewayMetrics.defaultLatencyBuckets),
            (GatewayConfig.upstreamLatencyFamily, GatewayMetrics.defaultLatencyBuckets),
        ] {
            let added = config.addedSLOBuckets(for: family, fallback: defaults)
            guard !added.isEmpty else { continue }
            let bounds = added.map(Self.bound).joined(separator: ", ")
            let plural =
                added.count == 1
                ? "threshold \(bounds) is not a bucket bound" : "thresholds \(bounds) are not bucket bounds"
            lines.append("Buckets: latency \(plural) of \(family);")
            lines.append(
                "the gateway adds \(added.count == 1 ? "it" : "them") to that family's bucket layout (read at start)."
            )
        }
        if options.windowScale != 1 {
            lines.append(
                "Window scale \(Self.number(options.windowScale)): every range and `for` is divided by it (whole"
            )
            lines.append("milliseconds); record names keep the unscaled windows. For tests only.")
        }
        for note in skipped {
            lines.append("Left out: \(note).")
        }
        return lines.map { "# \($0)\n" }.joined()
    }

    // MARK: Formatting

    /// A number as short as it can be written: "99.9", "0.001", "14.4", "6".
    static func number(_ value: Double) -> String {
        if value == value.rounded(), value.magnitude < 1e15 {
            return String(Int64(value))
        }
        return String(format: "%.12g", value)
    }

    /// A bucket bound exactly as the gateway writes it into `le` (Telemetry's `ByteWriter`).
    static func bound(_ value: Double) -> String {
        if value == value.rounded(), value.magnitude < 1e15 {
            return String(Int64(value))
        }
        return value.description
    }

    /// A YAML double-quoted scalar.
    static func quoted(_ text: String) -> String {
        "\"" + text.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"") + "\""
    }

    /// A YAML single-quoted scalar (no escapes but the quote doubled).
    static func singleQuoted(_ text: String) -> String {
        "'" + text.replacingOccurrences(of: "'", with: "''") + "'"
    }
}
