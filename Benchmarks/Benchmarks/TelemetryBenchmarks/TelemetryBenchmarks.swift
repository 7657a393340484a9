import Benchmark
import Telemetry

let benchmarks: @Sendable () -> Void = {
    // Filled by the Telemetry work; see docs/BENCHMARKS.md.
}
