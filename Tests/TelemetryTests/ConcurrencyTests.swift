import Foundation
import Synchronization
import Testing

@testable import Telemetry

/// Two worker threads record while a third scrapes: every scrape must be consistent, totals exact.
@Suite struct ConcurrencyTests {
    static let perWriter = 1_500_000

    @Test func scrapesStayConsistentWhileWritersRecord() async throws {
        let registry = MetricRegistry(writerCapacity: 2)
        let histogram = try registry.histogram(
            "work_seconds",
            help: "Work.",
            labelNames: ["kind"],
            buckets: [0.5, 1, 2],
            exemplarLabelName: "request_id"
        ).handle(["a"])
        let counter = try registry.counter("work_total", help: "Work.").handle()
        let finished = Atomic<Int>(0)
        let failures = Mutex<[String]>([])
        let scrapes = Atomic<Int>(0)

        let writers = (0..<2).map { index in
            Thread {
                let writer = try! registry.registerWriter()
                for step in 0..<Self.perWriter {
                    // Values 1 and 2 alternate, so every consistent read has sum == count + count(2).
                    histogram.observe(step & 1 == 0 ? 1 : 2, exemplar: "w\(index)", on: writer)
                    counter.increment(on: writer)
                }
                finished.add(1, ordering: .releasing)
            }
        }
        let scraper = Thread {
            var lastCount: UInt64 = 0
            while finished.load(ordering: .acquiring) < 2 {
                let families = registry.collect()
                scrapes.add(1, ordering: .relaxed)
                guard
                    let snapshot = families.first(where: { $0.kind == .histogram })?.series.first?.value
                        .histogramSnapshot
                else {
                    failures.withLock { $0.append("a scrape without the histogram series") }
                    break
                }
                let twos = snapshot.cumulative[2] - snapshot.cumulative[1]
                let native = snapshot.native!
                let nativeTotal = native.zeroCount + native.positive.reduce(0) { $0 + $1.count }
                if snapshot.count != snapshot.cumulative.last! || snapshot.sum != Double(snapshot.count + twos)
                    || nativeTotal != snapshot.count || snapshot.count < lastCount
                {
                    failures.withLock { $0.append("inconsistent scrape: \(snapshot)") }
                    break
                }
                lastCount = snapshot.count
            }
        }
        scraper.start()
        for writer in writers { writer.start() }
        while finished.load(ordering: .acquiring) < 2 || !scraper.isFinished {
            try await Task.sleep(for: .milliseconds(10))
        }
        #expect(failures.withLock { $0 }.isEmpty)
        #expect(scrapes.load(ordering: .relaxed) > 1)

        let families = registry.collect()
        let snapshot = try #require(families.first { $0.kind == .histogram }?.series.first?.value.histogramSnapshot)
        let total = UInt64(2 * Self.perWriter)
        #expect(snapshot.count == total)
        #expect(snapshot.cumulative == [0, total / 2, total, total])
        #expect(snapshot.sum == Double(total / 2) * 3)
        #expect(snapshot.exemplars[1] != nil)
        #expect(families.first { $0.kind == .counter }!.series[0].value.counterTotal == Double(total))
    }
}
