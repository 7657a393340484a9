import Benchmark
import Foundation
import Prometheus
import Synchronization
import Telemetry

// Each observe benchmark iteration records `observationsPerIteration` values, so the reported
// wall-clock time per iteration in milliseconds reads directly as nanoseconds per observation.
let observationsPerIteration = 1_000_000
let sampleValues: [Double] = (0..<1024).map { index in 0.0005 * pow(1.013, Double(index)) }

func observeConfiguration() -> Benchmark.Configuration {
    Benchmark.Configuration(
        metrics: [.wallClock, .cpuTotal, .mallocCountTotal, .throughput],
        warmupIterations: 2,
        maxDuration: .seconds(3),
        maxIterations: 20
    )
}

/// Each recording thread times its own observations; the slower thread's figure, in hundredths of a
/// nanosecond per observation. Wall-clock time of a two-thread iteration also counts the harness
/// (waking the helper, the benchmark tool's own threads on a two-core machine).
let perThreadMetric = BenchmarkMetric.custom("ns_per_observation_per_thread_x100", useScalingFactor: false)

func twoThreadConfiguration(_ base: Benchmark.Configuration) -> Benchmark.Configuration {
    var configuration = base
    configuration.metrics.append(perThreadMetric)
    return configuration
}

/// Runs `job` on this thread while `helper` runs its own, and records the slower thread's time.
func measureTwoThreads(_ benchmark: Benchmark, _ helper: HelperThread, _ job: () -> Void) {
    helper.start()
    let started = DispatchTime.now().uptimeNanoseconds
    job()
    let mine = Int(DispatchTime.now().uptimeNanoseconds - started)
    helper.wait()
    let slower = max(mine, helper.lastJobNanoseconds)
    benchmark.measurement(perThreadMetric, slower * 100 / observationsPerIteration)
}

func scrapeConfiguration() -> Benchmark.Configuration {
    Benchmark.Configuration(
        metrics: [.wallClock, .mallocCountTotal, .peakMemoryResident, .custom("bodyBytes", useScalingFactor: false)],
        warmupIterations: 1,
        maxDuration: .seconds(4),
        maxIterations: 10
    )
}

let benchmarks: @Sendable () -> Void = {
    // Everything that allocates (registry, families, handles, helper thread) is made here, once,
    // so an iteration holds only the observations and the allocation gate can be zero.
    let telemetry = MetricRegistry(writerCapacity: 2)
    let telemetryHandle = try! labelledHistogram(telemetry)
    let exemplarHandle = try! telemetry.histogram(
        "gateway_upstream_duration_seconds",
        help: "Upstream latency.",
        labelNames: ["upstream"],
        unit: "seconds",
        exemplarLabelName: "request_id"
    ).handle(["users"])
    let prometheus = PrometheusCollectorRegistry()
    let prometheusHistogram = prometheus.makeValueHistogram(
        descriptor: MetricNameDescriptor(
            metricName: "gateway_request_duration",
            unitName: "seconds",
            helpText: "Request latency."
        ),
        labels: [("route", "route-17"), ("method", "GET"), ("code", "200")],
        buckets: HistogramFamily.defaultBuckets
    )
    let observeTelemetry: @Sendable () -> Void = {
        let writer = try! telemetry.registerWriter()
        sampleValues.withUnsafeBufferPointer { values in
            for index in 0..<observationsPerIteration {
                telemetryHandle.observe(values[index & 1023], on: writer)
            }
        }
        telemetry.releaseWriter(writer)
    }
    let observePrometheus: @Sendable () -> Void = {
        sampleValues.withUnsafeBufferPointer { values in
            for index in 0..<observationsPerIteration {
                prometheusHistogram.record(values[index & 1023])
            }
        }
    }
    let telemetryHelper = HelperThread(job: observeTelemetry)
    let prometheusHelper = HelperThread(job: observePrometheus)

    Benchmark("harness baseline (empty iteration)", configuration: observeConfiguration()) { benchmark in
        blackHole(benchmark.currentIteration)
    }

    // Allocation gate: only mallocs are measured, so the stored static threshold holds nothing that
    // depends on machine load. `benchmark thresholds check` fails if observing starts to allocate.
    Benchmark(
        "Telemetry_observe_allocation_gate",
        configuration: .init(
            metrics: [.mallocCountTotal],
            warmupIterations: 1,
            maxDuration: .seconds(2),
            maxIterations: 5,
            thresholds: [.mallocCountTotal: .init(absolute: [.p90: 0])]
        )
    ) { benchmark in
        observeTelemetry()
        let writer = try telemetry.registerWriter()
        let requestID = ExemplarLabel("3f2a9c1e-7b4d-4e8a-9c21-5d6e7f8a9b0c")
        exemplarHandle.observe(0.25, exemplar: requestID, on: writer)
        telemetry.releaseWriter(writer)
    }

    Benchmark("Telemetry observe labelled histogram, 1 thread", configuration: observeConfiguration()) { benchmark in
        observeTelemetry()
    }

    Benchmark("Telemetry observe with exemplar, 1 thread", configuration: observeConfiguration()) { benchmark in
        let writer = try telemetry.registerWriter()
        let requestID = ExemplarLabel("3f2a9c1e-7b4d-4e8a-9c21-5d6e7f8a9b0c")
        sampleValues.withUnsafeBufferPointer { values in
            for index in 0..<observationsPerIteration {
                exemplarHandle.observe(values[index & 1023], exemplar: requestID, on: writer)
            }
        }
        telemetry.releaseWriter(writer)
    }

    Benchmark(
        "Telemetry observe labelled histogram, 2 threads",
        configuration: twoThreadConfiguration(observeConfiguration())
    ) { benchmark in
        measureTwoThreads(benchmark, telemetryHelper, observeTelemetry)
    }

    Benchmark("swift-prometheus Histogram observe, 1 thread", configuration: prometheusConfiguration()) { benchmark in
        observePrometheus()
    }

    Benchmark(
        "swift-prometheus Histogram observe, 2 threads",
        configuration: twoThreadConfiguration(prometheusConfiguration())
    ) { benchmark in
        measureTwoThreads(benchmark, prometheusHelper, observePrometheus)
    }

    for format in ExpositionFormat.allCases {
        let counters = ScrapeFixture.counters
        Benchmark("Telemetry scrape 100k counter series, 2 shards, \(format)", configuration: scrapeConfiguration()) {
            benchmark in
            benchmark.startMeasurement()
            let body = counters.render(format)
            benchmark.stopMeasurement()
            benchmark.measurement(.custom("bodyBytes", useScalingFactor: false), body.count)
        }
        let histograms = ScrapeFixture.histograms
        Benchmark("Telemetry scrape 10k histogram series, 2 shards, \(format)", configuration: scrapeConfiguration()) {
            benchmark in
            benchmark.startMeasurement()
            let body = histograms.render(format)
            benchmark.stopMeasurement()
            benchmark.measurement(.custom("bodyBytes", useScalingFactor: false), body.count)
        }
    }
}

/// swift-prometheus takes a lock per observation; no allocation gate, we only compare time.
func prometheusConfiguration() -> Benchmark.Configuration {
    Benchmark.Configuration(
        metrics: [.wallClock, .cpuTotal, .mallocCountTotal, .throughput],
        warmupIterations: 2,
        maxDuration: .seconds(3),
        maxIterations: 20
    )
}

func labelledHistogram(_ registry: MetricRegistry) throws -> HistogramHandle {
    let family = try registry.histogram(
        "gateway_request_duration_seconds",
        help: "Request latency.",
        labelNames: ["route", "method", "code"],
        unit: "seconds"
    )
    return try family.handle(["route-17", "GET", "200"])
}

/// Registries for the scrape benchmarks, filled once from two writer shards.
enum ScrapeFixture {
    /// 100,000 counter series (1,000 routes x 100 status codes), each written by both shards.
    static let counters: MetricRegistry = {
        let registry = MetricRegistry(writerCapacity: 2)
        let family = try! registry.counter(
            "gateway_requests_total",
            help: "Requests by route and status code.",
            labelNames: ["route", "code"],
            maxSeries: 100_000
        )
        let first = try! registry.registerWriter()
        let second = try! registry.registerWriter()
        for route in 0..<1_000 {
            for code in 0..<100 {
                let handle = try! family.handle(["route-\(route)", String(200 + code)])
                handle.increment(by: UInt64(route + code), on: first)
                handle.increment(by: 3, on: second)
            }
        }
        return registry
    }()

    /// 10,000 histogram series (classic default buckets plus native buckets), written by both shards.
    static let histograms: MetricRegistry = {
        let registry = MetricRegistry(writerCapacity: 2)
        let family = try! registry.histogram(
            "gateway_request_duration_seconds",
            help: "Request latency by route and status code.",
            labelNames: ["route", "code"],
            unit: "seconds",
            exemplarLabelName: "request_id",
            maxSeries: 10_000
        )
        let first = try! registry.registerWriter()
        let second = try! registry.registerWriter()
        for route in 0..<1_000 {
            for code in 0..<10 {
                let handle = try! family.handle(["route-\(route)", String(200 + code)])
                for step in 0..<20 {
                    handle.observe(sampleValues[(route + code * 37 + step * 53) & 1023], on: first)
                    handle.observe(sampleValues[(route * 3 + step * 41) & 1023], on: second)
                }
                handle.observe(0.2, exemplar: "req-\(route)-\(code)", on: first)
            }
        }
        return registry
    }()
}

/// A long-lived second thread that runs `job` when told, so thread start-up is not measured.
/// The benchmark's own thread runs the same job meanwhile: two recording threads on two cores.
final class HelperThread: @unchecked Sendable {  // coordination is through the atomics only
    private let requested = Atomic<Int>(0)
    private let completed = Atomic<Int>(0)
    private let jobNanoseconds = Atomic<Int>(0)

    /// How long the last job took on the helper thread, timed there.
    var lastJobNanoseconds: Int { self.jobNanoseconds.load(ordering: .acquiring) }

    init(job: @escaping @Sendable () -> Void) {
        let thread = Thread { [self] in
            var seen = 0
            while true {
                var spins = 0
                while self.requested.load(ordering: .acquiring) == seen {
                    spins += 1
                    // Spin for a few milliseconds first, so back-to-back iterations start together
                    // (a sleeping helper adds its wake-up latency to the measured time), then idle
                    // between benchmarks without holding a core.
                    if spins > 5_000_000 { usleep(50) }
                }
                seen += 1
                let started = DispatchTime.now().uptimeNanoseconds
                job()
                self.jobNanoseconds.store(Int(DispatchTime.now().uptimeNanoseconds - started), ordering: .relaxed)
                self.completed.store(seen, ordering: .releasing)
            }
        }
        thread.start()
    }

    func start() {
        self.requested.add(1, ordering: .releasing)
    }

    func wait() {
        let target = self.requested.load(ordering: .acquiring)
        while self.completed.load(ordering: .acquiring) < target {
            sched_yield()
        }
    }
}
