extension SLORuleGenerator {
    /// The rule group of one objective: ratios, meta rules, alerts, in that order so one evaluation of
    /// the alerts sees this round's ratios.
    func group(_ objective: SLOObjective) throws(SLORuleError) -> String {
        let label = objective.subject.label
        let name = "gateway-slo-\(label.name)-\(label.value)-\(objective.indicator.name)"
        let selector = "{\(label.name)=\(Self.quoted(label.value)),slo=\(Self.quoted(objective.indicator.name))}"
        let labels = [(label.name, label.value), ("slo", objective.indicator.name)]
        let budget = Self.number(objective.errorBudget)
        var out = "- name: \(Self.quoted(name))\n  rules:\n"

        for window in Self.sliWindows {
            out += record("slo:sli_error:ratio_rate\(window)", try errorRatio(objective, over: window), labels)
        }
        // The period's ratio averages the 5m ratios (as Sloth does): cheap even over 30d.
        let period = "slo:sli_error:ratio_rate\(objective.window)"
        if !Self.sliWindows.contains(objective.window) {
            let range = try scaled(objective.window)
            out += record(period, "avg_over_time(slo:sli_error:ratio_rate5m\(selector)[\(range)])", labels)
        }
        out += record("slo:objective:ratio", "vector(\(Self.number(objective.target / 100)))", labels)
        out += record("slo:error_budget:ratio", "vector(\(budget))", labels)
        out += record(
            "slo:current_burn_rate:ratio",
            "slo:sli_error:ratio_rate5m\(selector)\n/\nslo:error_budget:ratio\(selector)",
            labels
        )
        out += record(
            "slo:period_burn_rate:ratio",
            "\(period)\(selector)\n/\nslo:error_budget:ratio\(selector)",
            labels
        )
        out += record(
            "slo:period_error_budget_remaining:ratio",
            "1 - slo:period_burn_rate:ratio\(selector)",
            labels
        )

        for alert in Self.burnAlerts {
            var branches: [String] = []
            for pair in alert.pairs {
                let threshold = "(\(Self.number(pair.factor)) * \(budget))"
                branches.append(
                    """
                    (
                        slo:sli_error:ratio_rate\(pair.long)\(selector) > \(threshold)
                      and
                        slo:sli_error:ratio_rate\(pair.short)\(selector) > \(threshold)
                    )
                    """
                )
            }
            out += self.alert(
                alert.name,
                expr: branches.joined(separator: "\nor\n"),
                for: try scaled(alert.pending),
                severity: alert.severity,
                labels: labels,
                annotations: burnAnnotations(objective, alert)
            )
        }
        out += self.alert(
            Self.absentAlert,
            expr: "absent(\(signal(objective)))",
            for: try scaled(Self.absentFor),
            severity: "ticket",
            labels: labels,
            annotations: absentAnnotations(objective)
        )
        return out
    }

    /// The share of bad requests over `window` (scaled), summed over every scraped instance.
    private func errorRatio(_ objective: SLOObjective, over window: PrometheusDuration) throws(SLORuleError) -> String {
        let range = try scaled(window)
        let subject = matcher(objective)
        switch objective.indicator {
        case .availability:
            let total = "sum(rate(gateway_http_requests_total{\(subject)}[\(range)]))"
            let errors = "sum(rate(gateway_http_requests_total{\(subject),code=~\"5..\"}[\(range)]))"
            if !objective.grpcErrorCodes.isEmpty {
                // gRPC errors arrive as 200s: they count besides the 5xx (each side 0 without series).
                let codes = objective.grpcErrorCodes.map(String.init).joined(separator: "|")
                let grpc = "sum(rate(gateway_grpc_requests_total{\(subject),grpc_status=~\"\(codes)\"}[\(range)]))"
                return """
                    (
                        (\(errors) or 0 * \(total))
                      +
                        (\(grpc) or 0 * \(total))
                    )
                    /
                    (\(total) > 0)
                    """
            }
            // No 5xx series yet means a ratio of 0, not no ratio; no traffic means no ratio (not NaN).
            return """
                (
                    \(errors)
                  or
                    0 * \(total)
                )
                /
                (\(total) > 0)
                """
        case .latency(let threshold):
            let family = family(objective.subject)
            switch histograms {
            case .classic:
                let le = Self.quoted(Self.bound(threshold))
                return """
                    1 - (
                        sum(rate(\(family)_bucket{\(subject),le=\(le)}[\(range)]))
                      /
                        (sum(rate(\(family)_count{\(subject)}[\(range)])) > 0)
                    )
                    """
            case .native:
                return "1 - histogram_fraction(0, \(Self.bound(threshold)), sum(rate(\(family){\(subject)}[\(range)])))"
            }
        }
    }

    /// The selector of the series the objective reads, for its absent-metric alert.
    private func signal(_ objective: SLOObjective) -> String {
        let subject = matcher(objective)
        switch objective.indicator {
        case .availability:
            return "gateway_http_requests_total{\(subject)}"
        case .latency(let threshold):
            let family = family(objective.subject)
            switch histograms {
            case .classic: return "\(family)_bucket{\(subject),le=\(Self.quoted(Self.bound(threshold)))}"
            case .native: return "\(family){\(subject)}"
            }
        }
    }

    /// Route objectives read the route's series. Upstream objectives read the upstream histogram for
    /// latency; availability has no per-upstream status counter, so it reads the requests of the routes
    /// that send to the upstream.
    private func matcher(_ objective: SLOObjective) -> String {
        switch (objective.subject, objective.indicator) {
        case (.route(let id), _):
            return "route=\(Self.quoted(id))"
        case (.upstream(let id, _), .latency):
            return "upstream=\(Self.quoted(id))"
        case (.upstream(_, let routes), .availability):
            guard routes.count > 1 else { return "route=\(Self.quoted(routes.first ?? ""))" }
            // Route ids are letters, digits, "_", "-" and "."; the dot is the one regex character.
            let pattern = routes.map { $0.replacingOccurrences(of: ".", with: "\\\\.") }.joined(separator: "|")
            return "route=~\"\(pattern)\""
        }
    }

    private func family(_ subject: SLOObjective.Subject) -> String {
        switch subject {
        case .route: GatewayConfig.routeLatencyFamily
        case .upstream: GatewayConfig.upstreamLatencyFamily
        }
    }

    // MARK: Text

    private func record(_ name: String, _ expr: String, _ labels: [(String, String)]) -> String {
        var out = "  - record: \(name)\n"
        out += expression(expr)
        out += "    labels:\n"
        for (key, value) in labels {
            out += "      \(key): \(Self.quoted(value))\n"
        }
        return out
    }

    private func alert(
        _ name: String,
        expr: String,
        for pending: String,
        severity: String,
        labels: [(String, String)],
        annotations: [(String, String)]
    ) -> String {
        var out = "  - alert: \(name)\n"
        out += expression(expr)
        out += "    for: \(pending)\n"
        out += "    labels:\n"
        out += "      severity: \(Self.quoted(severity))\n"
        for (key, value) in labels {
            out += "      \(key): \(Self.quoted(value))\n"
        }
        out += "    annotations:\n"
        for (key, value) in annotations {
            out += "      \(key): \(Self.singleQuoted(value))\n"
        }
        return out
    }

    private func expression(_ expr: String) -> String {
        guard expr.contains("\n") else { return "    expr: \(expr)\n" }
        let body = expr.split(separator: "\n", omittingEmptySubsequences: false).map { "      \($0)\n" }.joined()
        return "    expr: |-\n" + body
    }

    /// "route checkout" or "upstream payments (routes a, b)".
    private func describe(_ subject: SLOObjective.Subject) -> (short: String, long: String) {
        switch subject {
        case .route(let id):
            return ("route \(id)", "Route \(id)")
        case .upstream(let id, let routes):
            let list = routes.joined(separator: ", ")
            return ("upstream \(id)", "Upstream \(id) (requests of \(routes.count == 1 ? "route" : "routes") \(list))")
        }
    }

    /// "99.9% of requests without a 5xx over 30d".
    private func describe(_ objective: SLOObjective) -> String {
        let target = Self.number(objective.target)
        switch objective.indicator {
        case .availability:
            return "\(target)% of requests without a 5xx over \(objective.window)"
        case .latency(let threshold):
            return "\(target)% of requests faster than \(Self.bound(threshold)) s over \(objective.window)"
        }
    }

    private func burnAnnotations(_ objective: SLOObjective, _ alert: BurnAlert) -> [(String, String)] {
        let who = describe(objective.subject)
        let budget = Self.number(objective.errorBudget * 100)
        let pairs = alert.pairs.map { "\(Self.number($0.factor))x the budget over \($0.long) and \($0.short)" }
            .joined(separator: ", or ")
        let pace = alert.severity == "page" ? "fast" : "steadily"
        let kind = objective.indicator.name
        return [
            ("summary", "\(who.long) burns its \(kind) error budget \(pace)"),
            (
                "description",
                "\(who.long) aims at \(describe(objective)) (error budget \(budget)%). Its error ratio, "
                    + "{{ $value | humanizePercentage }}, is above \(pairs). Budget left: "
                    + "slo:period_error_budget_remaining:ratio{\(objective.subject.label.name)=\"\(objective.subject.label.value)\",slo=\"\(kind)\"}."
            ),
            ("runbook_url", "\(options.runbook)#\(alert.name.lowercased())"),
        ]
    }

    private func absentAnnotations(_ objective: SLOObjective) -> [(String, String)] {
        let who = describe(objective.subject)
        return [
            ("summary", "No data for the \(objective.indicator.name) objective of \(who.short)"),
            (
                "description",
                "\(signal(objective)) has no series, so the objective (\(describe(objective))) cannot be "
                    + "measured and its burn-rate alerts cannot fire: \(absentCauses(objective))."
            ),
            ("runbook_url", "\(options.runbook)#\(Self.absentAlert.lowercased())"),
        ]
    }

    /// The likely reasons the objective's series is missing.
    private func absentCauses(_ objective: SLOObjective) -> String {
        let scrape = "Prometheus does not scrape the gateway"
        switch (objective.indicator, histograms) {
        case (.availability, _):
            let traffic =
                if case .route = objective.subject { "the route has had no request since the gateway started" } else {
                    "its routes have had no request since the gateway started"
                }
            return "\(scrape), or \(traffic)"
        case (.latency, .classic):
            return "\(scrape), the threshold has no bucket yet (added by a reload: restart the gateway), or "
                + "Prometheus ingests native histograms (generate the rules with --histograms native)"
        case (.latency, .native):
            return "\(scrape), or Prometheus runs without --enable-feature=native-histograms "
                + "(generate the rules with --histograms classic)"
        }
    }
}
