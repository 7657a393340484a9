import Synchronization
import Telemetry

/// A counter series a plugin records into: declared when the plugin compiles, resolved in the
/// worker's registry the first time each worker counts (that once allocates), then one store into the
/// worker's own shard per increment, like every gateway metric.
package final class PluginCounter: @unchecked Sendable {
    private static let maxWorkers = 256
    private let name: String
    private let help: String
    private let labelNames: [String]
    private let labelValues: [String]
    /// Each worker's handle, written and read by that worker only.
    private let handles: UnsafeMutablePointer<CounterHandle?>

    /// A counter `name` (ending in `_total`) with `labels` as name → value pairs, in order.
    package init(_ name: String, help: String, labels: KeyValuePairs<String, String> = [:]) {
        self.name = name
        self.help = help
        labelNames = labels.map(\.key)
        labelValues = labels.map(\.value)
        handles = .allocate(capacity: Self.maxWorkers)
        handles.initialize(repeating: nil, count: Self.maxWorkers)
    }

    deinit {
        handles.deallocate()
    }

    /// Adds one on the worker running `request` (nothing when metrics are off or unavailable).
    @inline(__always)
    package func increment(_ request: PluginRequest) {
        guard let telemetry = request.telemetry, telemetry.enabled, request.worker < Self.maxWorkers else { return }
        if let handle = handles[request.worker] {
            handle.increment(on: telemetry.writer)
            return
        }
        resolve(request.worker, telemetry)?.increment(on: telemetry.writer)
    }

    /// The series in the registry: found by name and labels, so a recompiled plugin counts on.
    @inline(never)
    private func resolve(_ worker: Int, _ telemetry: WorkerTelemetry) -> CounterHandle? {
        let handle = try? telemetry.metrics.registry.counter(name, help: help, labelNames: labelNames).handle(
            labelValues
        )
        handles[worker] = handle
        return handle
    }
}
