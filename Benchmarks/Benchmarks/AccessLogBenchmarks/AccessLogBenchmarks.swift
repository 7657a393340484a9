import Benchmark
import AccessLog

let benchmarks: @Sendable () -> Void = {
    // Filled by the AccessLog work; see docs/BENCHMARKS.md.
}
