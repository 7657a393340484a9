import Synchronization
import Telemetry
import Testing

@testable import Gateway

@Suite("Traffic sampler: the control plane's previous readings of the registry")
struct TrafficSamplerTests {
    /// A clock the test moves by hand.
    final class ManualClock: Sendable {
        let now = Mutex(100.0)
        func advance(_ seconds: Double) { now.withLock { $0 += seconds } }
        var read: @Sendable () -> Double { { self.now.withLock { $0 } } }
    }

    @Test("rates over about one second from the real registry, shared by viewers polling at once")
    func ratesFromTheRegistry() throws {
        let registry = MetricRegistry(writerCapacity: 2)
        let requests = try registry.counter(
            "gateway_http_requests_total",
            help: "h",
            labelNames: ["route", "method", "code"]
        )
        let duration = try registry.histogram(
            "gateway_http_request_duration_seconds",
            help: "h",
            labelNames: ["route"],
            buckets: [0.01, 0.1, 1],
            native: nil
        )
        let ok = try requests.handle(["api", "GET", "200"])
        let failed = try requests.handle(["api", "GET", "503"])
        let latency = try duration.handle(["api"])
        let clock = ManualClock()
        let sampler = TrafficSampler(registry: registry, clock: clock.read)

        ok.increment(by: 8)
        failed.increment(by: 2)
        for _ in 0..<10 { latency.observe(0.05) }
        clock.advance(2)
        // The first answer compares with the empty reading taken when the sampler was made.
        let first = sampler.report(order: ["api"])
        #expect(first.intervalSeconds == 2)
        #expect(first.routes[0].requestsPerSecond == 5)
        #expect(first.routes[0].errorRatio == 0.2)
        #expect(first.routes[0].p50 != nil && first.routes[0].p50! > 0.01 && first.routes[0].p50! <= 0.1)

        ok.increment(by: 30)
        for _ in 0..<30 { latency.observe(0.5) }
        clock.advance(1)
        let second = sampler.report(order: ["api"])
        #expect(second.intervalSeconds == 1)
        #expect(second.routes[0].requestsPerSecond == 30)
        #expect(second.routes[0].errorRatio == 0)
        // Only this second's observations (all in (0.1, 1]): not pulled down by the earlier fast ones.
        #expect(second.routes[0].p50! > 0.1)

        // A second viewer a moment later gets the same baseline, not a 0.1 s interval.
        clock.advance(0.1)
        let other = sampler.report(order: ["api"])
        #expect(abs(other.intervalSeconds - 1.1) < 1e-9)
        #expect(abs(other.routes[0].requestsPerSecond - 30 / 1.1) < 1e-9)
    }

    @Test("reading for the status page does not hide retiring series from the next scrape")
    func readLeavesRetirementToTheScrape() throws {
        let registry = MetricRegistry(writerCapacity: 1)
        let requests = try registry.counter("gateway_http_requests_total", help: "h", labelNames: ["route"])
        try requests.handle(["gone"]).increment(by: 3)
        #expect(try requests.retire(labelValues: ["gone"]))
        let sampler = TrafficSampler(registry: registry)
        _ = sampler.report(order: [])
        let read = registry.read(["gateway_http_requests_total"])
        #expect(read.first?.series.map(\.labelValues) == [["gone"]])
        // The next scrape still shows the retired series' final value, the one after does not.
        let scrape = String(decoding: registry.render(.text), as: UTF8.self)
        #expect(scrape.contains("gateway_http_requests_total{route=\"gone\"} 3"))
        let later = String(decoding: registry.render(.text), as: UTF8.self)
        #expect(!later.contains("route=\"gone\""))
    }
}
