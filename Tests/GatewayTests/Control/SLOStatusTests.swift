import Foundation
import Telemetry
import Testing

@testable import Gateway

@Suite("SLO status: error budget since start and burn rate over the interval")
struct SLOStatusTests {
    static let bounds = TrafficReportTests.bounds
    static let window = PrometheusDuration.thirtyDays

    static func objective(
        _ subject: SLOObjective.Subject,
        _ indicator: SLOObjective.Indicator,
        _ target: Double
    ) -> SLOObjective {
        SLOObjective(subject: subject, indicator: indicator, target: target, window: window)
    }

    static func close(_ value: Double?, _ expected: Double) -> Bool {
        guard let value else { return false }
        return abs(value - expected) < 1e-9
    }

    @Test("availability: 5xx share since start, budget from the objective, burn rate of the interval")
    func availability() {
        let before = TrafficReportTests.reading(at: 10, [("api", "200", 100), ("api", "502", 10)])
        let after = TrafficReportTests.reading(
            at: 12,
            [("api", "200", 130), ("api", "502", 20), ("web", "503", 50)]
        )
        let status = SLOStatus(objective: Self.objective(.route("api"), .availability, 99), from: before, to: after)
        #expect(status.events == 150)
        // 20 of 150 since start, against a 1% budget: the budget is spent 13.3 times over.
        #expect(Self.close(status.errorRatio, 20.0 / 150))
        #expect(Self.close(status.budgetRemaining, 1 - (20.0 / 150) / 0.01))
        // The interval: 10 of 40 failed, 25 times the rate the objective allows.
        #expect(Self.close(status.burnRate, 25))
        #expect(status.note == nil)

        // The 200 series went down (a reset): it counts from zero over the interval, as the rates do.
        let reset = TrafficReportTests.reading(at: 13, [("api", "200", 40), ("api", "500", 10)])
        let restarted = SLOStatus(objective: Self.objective(.route("api"), .availability, 99), from: after, to: reset)
        #expect(Self.close(restarted.burnRate, (10.0 / 50) / 0.01))
        #expect(Self.close(restarted.errorRatio, 10.0 / 50))
    }

    @Test("an upstream's availability sums the routes that send to it, and no others")
    func upstreamAvailability() {
        let before = TrafficReportTests.reading(at: 0, [])
        let after = TrafficReportTests.reading(
            at: 1,
            [("a", "200", 90), ("a", "502", 5), ("b", "504", 5), ("c", "500", 100)]
        )
        let objective = Self.objective(.upstream(id: "backend", routes: ["a", "b"]), .availability, 95)
        let status = SLOStatus(objective: objective, from: before, to: after)
        #expect(status.events == 100)
        #expect(Self.close(status.errorRatio, 0.1))
        #expect(Self.close(status.budgetRemaining, -1))
        #expect(Self.close(status.burnRate, 2))
    }

    @Test("latency: the share above the le bucket at the threshold, for routes and upstreams")
    func latency() {
        // 10 observations since start, 8 of them at most 0.2 s; 6 in the interval, 2 of them above.
        let before = TrafficReportTests.reading(at: 0, [], latency: ["api": [2, 4, 4, 4, 4]])
        let after = TrafficReportTests.reading(at: 1, [], latency: ["api": [4, 8, 10, 10, 10]])
        let route = SLOStatus(
            objective: Self.objective(.route("api"), .latency(threshold: 0.2), 90),
            from: before,
            to: after
        )
        #expect(route.events == 10)
        #expect(Self.close(route.errorRatio, 0.2))
        #expect(Self.close(route.budgetRemaining, -1))
        #expect(Self.close(route.burnRate, (2.0 / 6) / 0.1))

        var upstreamBefore = TrafficSnapshot(time: 0)
        var upstreamAfter = TrafficSnapshot(time: 1)
        upstreamBefore.upstreamLatency["backend"] = TrafficSnapshot.Latency(
            bounds: Self.bounds,
            cumulative: [0, 0, 0, 0, 0]
        )
        upstreamAfter.upstreamLatency["backend"] = TrafficSnapshot.Latency(
            bounds: Self.bounds,
            cumulative: [50, 99, 100, 100, 100]
        )
        // The route histogram of the same name must not be read for an upstream objective.
        upstreamAfter.latency["backend"] = TrafficSnapshot.Latency(bounds: Self.bounds, cumulative: [0, 0, 0, 0, 9])
        let upstream = SLOStatus(
            objective: Self.objective(.upstream(id: "backend", routes: ["api"]), .latency(threshold: 0.5), 99),
            from: upstreamBefore,
            to: upstreamAfter
        )
        #expect(upstream.events == 100)
        #expect(upstream.errorRatio == 0)
        #expect(upstream.budgetRemaining == 1)
        #expect(upstream.burnRate == 0)
    }

    @Test("no traffic: no ratio, the whole budget left, no burn rate")
    func noTraffic() {
        let empty = TrafficSnapshot(time: 0)
        let later = TrafficReportTests.reading(at: 1, [("other", "500", 3)])
        for indicator in [SLOObjective.Indicator.availability, .latency(threshold: 0.2)] {
            let status = SLOStatus(objective: Self.objective(.route("idle"), indicator, 99), from: empty, to: later)
            #expect(status.events == 0)
            #expect(status.errorRatio == nil)
            #expect(status.budgetRemaining == 1)
            #expect(status.burnRate == nil)
            #expect(status.note == nil)
        }
        // Traffic since start but none in the interval: a budget, no burn rate.
        let same = TrafficReportTests.reading(at: 2, [("api", "200", 5)])
        let quiet = SLOStatus(objective: Self.objective(.route("api"), .availability, 99), from: same, to: same)
        #expect(quiet.budgetRemaining == 1 && quiet.errorRatio == 0 && quiet.burnRate == nil)
    }

    @Test("a threshold that is not a bucket bound (added by a reload): null figures and a note")
    func missingBucket() throws {
        let before = TrafficReportTests.reading(at: 0, [])
        let after = TrafficReportTests.reading(at: 1, [], latency: ["api": [4, 8, 10, 10, 10]])
        let objective = Self.objective(.route("api"), .latency(threshold: 0.3), 99)
        let status = SLOStatus(objective: objective, from: before, to: after)
        #expect(status.errorRatio == nil && status.budgetRemaining == nil && status.burnRate == nil)
        let note = try #require(status.note)
        #expect(note.contains("le=\"0.3\"") && note.contains("gateway_http_request_duration_seconds"), "\(note)")
        #expect(note.contains("restart"), "\(note)")

        // Known from another route's series, before this route has any traffic.
        var layoutOnly = TrafficReportTests.reading(at: 1, [], latency: ["web": [1, 1, 1, 1, 1]])
        layoutOnly.layouts[TrafficSnapshot.durationFamily] = Self.bounds
        let idle = SLOStatus(objective: objective, from: before, to: layoutOnly)
        #expect(idle.note != nil && idle.budgetRemaining == nil)
    }

    /// `GET /status/traffic` of a control plane on `config`, its metrics registered from `registered`
    /// (the configuration the gateway started with), after `record` ran on them.
    static func trafficStatus(
        config yaml: String,
        registeredWith registered: String? = nil,
        record: (GatewayMetrics) throws -> Void
    ) throws -> [String: Any] {
        func parse(_ text: String) throws -> GatewayConfig {
            try ConfigLoader.parse(yaml: text, sourceName: "test", environment: [:], resolveHostnames: false)
        }
        let plan = try ProxyPlan(config: try parse(yaml))
        let startPlan = try registered.map { try ProxyPlan(config: try parse($0)) } ?? plan
        let registry = MetricRegistry(writerCapacity: 2)
        let metrics = try GatewayMetrics(registry: registry, plan: startPlan)
        let plane = ControlPlane(
            plan: plan,
            control: WorkerControl(workerCount: 1),
            engine: EngineSelection(kind: .epoll),
            traffic: TrafficSampler(registry: registry)
        )
        try record(metrics)
        let request = ControlRequest(method: .get, path: "/status/traffic", query: "", headers: [], body: [])
        let response = plane.handle(request)
        #expect(response.status == 200)
        return try #require(try JSONSerialization.jsonObject(with: Data(response.body)) as? [String: Any])
    }

    static let config = """
        upstreams:
          - id: backend
            nodes: {"127.0.0.1:9": 1}
            slo: {latency: {threshold: 0.3, target: 99}}
        routes:
          - {id: a, uri: /a, upstream_id: backend, slo: {availability: 99.9, window: 28d}}
          - {id: b, uri: /b, upstream_id: backend}
          - {id: disabled, uri: /disabled, upstream_id: backend, status: 0, slo: {availability: 99}}
        """

    @Test("/status/traffic lists every objective with its figures, read from the real registry")
    func controlPlaneJSON() throws {
        let body = try Self.trafficStatus(config: Self.config) { metrics in
            try metrics.requests.handle(["a", "GET", "200"]).increment(by: 999)
            try metrics.requests.handle(["a", "GET", "502"]).increment(by: 1)
            // 0.3 is not a default bound: the SLO code added it to the layout, so it is measurable.
            for (route, seconds) in [("a", 0.1), ("a", 0.29), ("b", 0.31), ("b", 2)] {
                try metrics.upstreamDuration.handle([route, "backend"]).observe(seconds)
            }
        }
        let slos = try #require(body["slo"] as? [[String: Any]])
        // The disabled route's objective is left out, as `gateway rules` leaves it out.
        #expect(slos.count == 2, "\(slos)")
        let route = try #require(slos.first { $0["route"] as? String == "a" })
        #expect(route["slo"] as? String == "availability")
        #expect(route["objective"] as? Double == 99.9)
        #expect(route["window"] as? String == "28d")
        #expect(route["requests"] as? Double == 1000)
        #expect(Self.close(route["error_ratio"] as? Double, 0.001))
        #expect(Self.close(route["budget_remaining"] as? Double, 0))
        #expect(Self.close(route["burn_rate"] as? Double, 1))
        let since = try #require(route["since"] as? String)
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        let started = try #require(formatter.date(from: since), "since: \(since)")
        #expect(abs(started.timeIntervalSinceNow) < 600)

        let upstream = try #require(slos.first { $0["upstream"] as? String == "backend" })
        #expect(upstream["slo"] as? String == "latency")
        #expect(upstream["threshold_seconds"] as? Double == 0.3)
        #expect(upstream["routes"] as? [String] == ["a", "b"])
        #expect(upstream["window"] as? String == "30d")
        // Two of the four attempts (summed over routes a and b) were slower than 0.3 s.
        #expect(upstream["requests"] as? Double == 4)
        #expect(Self.close(upstream["error_ratio"] as? Double, 0.5))
        #expect(Self.close(upstream["budget_remaining"] as? Double, 1 - 0.5 / 0.01))
        #expect(upstream["note"] == nil)
    }

    @Test("an objective a reload added after start: null ratio and budget, with a note")
    func objectiveAddedByReload() throws {
        let started = """
            upstreams: [{id: backend, nodes: {"127.0.0.1:9": 1}}]
            routes: [{id: a, uri: /a, upstream_id: backend}]
            """
        let reloaded = """
            upstreams: [{id: backend, nodes: {"127.0.0.1:9": 1}}]
            routes: [{id: a, uri: /a, upstream_id: backend, slo: {latency: {threshold: 0.3, target: 99}}}]
            """
        let body = try Self.trafficStatus(config: reloaded, registeredWith: started) { metrics in
            try metrics.requestDuration.handle(["a"]).observe(0.2)
        }
        let slos = try #require(body["slo"] as? [[String: Any]])
        let entry = try #require(slos.first)
        #expect(entry["route"] as? String == "a")
        #expect(entry["error_ratio"] is NSNull && entry["budget_remaining"] is NSNull)
        #expect((entry["note"] as? String)?.contains("le=\"0.3\"") == true, "\(entry)")
    }

    @Test("no objectives: an empty list")
    func noObjectives() throws {
        let config = #"routes: [{id: a, uri: /a, upstream: {nodes: {"127.0.0.1:9": 1}}}]"#
        let body = try Self.trafficStatus(config: config) { _ in }
        #expect((body["slo"] as? [Any])?.isEmpty == true)
    }
}
