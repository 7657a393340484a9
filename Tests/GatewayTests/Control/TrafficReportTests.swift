import Testing

@testable import Gateway

@Suite("Traffic report: rates and quantiles from two readings")
struct TrafficReportTests {
    static let bounds: [Double] = [0.1, 0.2, 0.5, 1]

    @Test("quantiles interpolate inside a bucket as histogram_quantile does")
    func quantiles() {
        // 10 observations: 4 at most 0.1, 4 more at most 0.2, 2 more at most 0.5, none above.
        let cumulative: [UInt64] = [4, 8, 10, 10, 10]
        // Rank 5 of 10 falls in (0.1, 0.2] at 1 of 4: 0.1 + 0.1 * 1/4.
        #expect(abs(TrafficReport.quantile(0.5, bounds: Self.bounds, cumulative: cumulative)! - 0.125) < 1e-12)
        // Rank 9.9 falls in (0.2, 0.5] at 1.9 of 2.
        #expect(abs(TrafficReport.quantile(0.99, bounds: Self.bounds, cumulative: cumulative)! - 0.485) < 1e-12)
        // Rank 2 in the first bucket, whose lower edge is 0.
        #expect(abs(TrafficReport.quantile(0.2, bounds: Self.bounds, cumulative: cumulative)! - 0.05) < 1e-12)
        // In +Inf: the highest finite bound.
        #expect(TrafficReport.quantile(0.99, bounds: Self.bounds, cumulative: [0, 0, 0, 1, 5]) == 1)
        #expect(TrafficReport.quantile(0.5, bounds: Self.bounds, cumulative: [0, 0, 0, 0, 0]) == nil)
    }

    static func reading(
        at time: Double,
        _ counts: [(route: String, code: String, count: Double)],
        latency: [String: [UInt64]] = [:]
    ) -> TrafficSnapshot {
        var snapshot = TrafficSnapshot(time: time)
        for entry in counts {
            snapshot.requests[[entry.route, "GET", entry.code]] = TrafficSnapshot.RequestSeries(
                route: entry.route,
                serverError: entry.code.hasPrefix("5"),
                count: entry.count
            )
        }
        for (route, cumulative) in latency {
            snapshot.latency[route] = TrafficSnapshot.Latency(bounds: bounds, cumulative: cumulative)
        }
        return snapshot
    }

    @Test("rates, 5xx ratio and quantiles cover only the interval")
    func interval() throws {
        let before = Self.reading(
            at: 10,
            [("api", "200", 100), ("api", "502", 10)],
            latency: ["api": [100, 110, 110, 110, 110]]
        )
        let after = Self.reading(
            at: 12,
            [("api", "200", 130), ("api", "502", 20), ("web", "200", 4)],
            // 40 new observations in the interval, all in (0.2, 0.5].
            latency: ["api": [100, 110, 150, 150, 150]]
        )
        let report = TrafficReport(from: before, to: after, order: ["web", "api", "idle"])
        #expect(report.intervalSeconds == 2)
        #expect(report.routes.map(\.route) == ["web", "api", "idle"])
        let api = try #require(report.routes.first { $0.route == "api" })
        #expect(api.requestsPerSecond == 20)  // (30 + 10) / 2 s
        #expect(api.errorRatio == 0.25)  // 10 of 40
        #expect(api.requestsTotal == 150)
        // All of the interval's observations are in (0.2, 0.5]: the totals since start would put p50 at 0.1.
        #expect(abs(api.p50! - 0.35) < 1e-12)
        let web = try #require(report.routes.first { $0.route == "web" })
        #expect(web.requestsPerSecond == 2)
        #expect(web.errorRatio == 0)
        #expect(web.p50 == nil)
        let idle = try #require(report.routes.first { $0.route == "idle" })
        #expect(idle.requestsPerSecond == 0 && idle.errorRatio == nil)
        #expect(report.requestsPerSecond == 22)
        #expect(abs(report.errorRatio! - 10.0 / 44) < 1e-12)
    }

    @Test("a series that went down (reset) counts from zero; unknown routes follow the configured ones")
    func reset() throws {
        let before = Self.reading(at: 0, [("api", "200", 50)], latency: ["api": [50, 50, 50, 50, 50]])
        let after = Self.reading(
            at: 1,
            [("api", "200", 5), ("__unmatched__", "404", 3)],
            latency: ["api": [0, 5, 5, 5, 5]]
        )
        let report = TrafficReport(from: before, to: after, order: ["api"])
        #expect(report.routes.map(\.route) == ["api", "__unmatched__"])
        #expect(report.routes[0].requestsPerSecond == 5)
        #expect(abs(report.routes[0].p99! - 0.199) < 1e-12)
        #expect(report.routes[1].requestsPerSecond == 3)
    }
}
