import Glibc

/// Working memory for ``ByteRegex`` searches, one block per worker, allocated when a plugin compiles
/// so matching on the worker never allocates (a plugin instance serves every worker at once).
package final class RegexWorkspace: @unchecked Sendable {
    private let storage: UnsafeMutableRawPointer
    private let blockSize: Int
    private let workers: Int

    /// Room for searching any of `regexes` on each of `workers` workers (at least one per online core:
    /// `workers: 0` in the configuration means one worker per core).
    package init(for regexes: [ByteRegex], workers: Int) {
        // Whole cache lines per block, so workers do not share one.
        let largest = regexes.map(\.workspaceSize).max() ?? 0
        blockSize = max(64, (largest + 63) / 64 * 64)
        self.workers = max(1, workers, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))))
        storage = .allocate(byteCount: blockSize * self.workers, alignment: 64)
    }

    deinit {
        storage.deallocate()
    }

    /// The block of worker `worker`, or nil for a worker the plan was not compiled for.
    @inline(__always)
    package func block(_ worker: Int) -> UnsafeMutableRawPointer? {
        worker >= 0 && worker < workers ? storage + worker * blockSize : nil
    }
}
