import AccessLog
import Benchmark

let benchmarks: @Sendable () -> Void = {
    // Filled by the AccessLog work; see docs/BENCHMARKS.md.
}
