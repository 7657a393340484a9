import Benchmark
import Gateway

let benchmarks: @Sendable () -> Void = {
    // Filled by the Gateway work; see docs/BENCHMARKS.md.
}
