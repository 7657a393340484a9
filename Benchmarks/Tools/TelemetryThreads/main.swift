// Observation cost per thread with one and with two recording threads, outside the benchmark
// harness: on a two-core machine the harness's own activity shares the cores with the two
// recording threads and inflates the two-thread figure of `TelemetryBenchmarks`.
//
// Run: cd Benchmarks && swift run -c release TelemetryThreads [observations per thread]
import Dispatch
import Foundation
import Prometheus
import Synchronization
import Telemetry

let observations = Int(CommandLine.arguments.dropFirst().first ?? "") ?? 50_000_000
let values: [Double] = (0..<1024).map { 0.0005 * pow(1.013, Double($0)) }

let registry = MetricRegistry(writerCapacity: 2)
let handle = try registry.histogram(
    "gateway_request_duration_seconds",
    help: "Request latency.",
    labelNames: ["route", "method", "code"],
    unit: "seconds"
).handle(["route-17", "GET", "200"])
let prometheus = PrometheusCollectorRegistry()
let prometheusHistogram = prometheus.makeValueHistogram(
    descriptor: MetricNameDescriptor(metricName: "gateway_request_duration", unitName: "seconds", helpText: "h"),
    labels: [("route", "route-17"), ("method", "GET"), ("code", "200")],
    buckets: HistogramFamily.defaultBuckets
)

/// Nanoseconds per observation of `job` on each of `threads` threads started together.
func perThread(_ threads: Int, _ job: @escaping @Sendable () -> Void) -> [Double] {
    let results = Mutex([Double](repeating: 0, count: threads))
    let group = DispatchGroup()
    for index in 0..<threads {
        group.enter()
        Thread {
            let started = DispatchTime.now().uptimeNanoseconds
            job()
            let elapsed = Double(DispatchTime.now().uptimeNanoseconds - started)
            results.withLock { $0[index] = elapsed / Double(observations) }
            group.leave()
        }.start()
    }
    group.wait()
    return results.withLock { $0 }
}

let telemetryJob: @Sendable () -> Void = {
    let writer = try! registry.registerWriter()
    values.withUnsafeBufferPointer { values in
        for index in 0..<observations { handle.observe(values[index & 1023], on: writer) }
    }
    registry.releaseWriter(writer)
}
let prometheusJob: @Sendable () -> Void = {
    values.withUnsafeBufferPointer { values in
        for index in 0..<observations / 10 { prometheusHistogram.record(values[index & 1023]) }
    }
}

func show(_ name: String, _ figures: [Double], scale: Double = 1) {
    print(name, figures.map { String(format: "%.2f", $0 * scale) }.joined(separator: " "), "ns per observation")
}
for round in 1...3 {
    print("round \(round)")
    show("  Telemetry, 1 thread:        ", perThread(1, telemetryJob))
    show("  Telemetry, 2 threads:       ", perThread(2, telemetryJob))
    // A tenth of the observations: it is ten times slower with two threads.
    show("  swift-prometheus, 1 thread: ", perThread(1, prometheusJob), scale: 10)
    show("  swift-prometheus, 2 threads:", perThread(2, prometheusJob), scale: 10)
}
