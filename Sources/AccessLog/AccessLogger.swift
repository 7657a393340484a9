import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The access log: per-writer rings drained by one logging thread into zstd frames (or plain lines).
///
/// Set-up (cold path, any thread): create the logger (this opens the file, so bad paths fail here),
/// give each worker its ring with ``makeRing()``, register interned strings with ``register(_:)``,
/// then ``start()``. Workers push records into their own ring; ``shutdown()`` writes everything
/// pushed before it and closes the last frame.
public final class AccessLogger: Sendable {
    /// The configuration the logger was created with.
    public let configuration: AccessLogConfiguration
    let symbols = AccessLogSymbolTable()
    let counters = AccessLogCounters()
    private let ringList = Mutex<[AccessLogRing]>([])
    let ringCount = Atomic<Int>(0)
    let stopRequested = Atomic<Bool>(false)
    let reopenRequests = Atomic<Int>(0)
    let rotateRequests = Atomic<Int>(0)
    let followsReopenSignal = Atomic<Bool>(false)
    private let state: Mutex<State>

    private enum State: ~Copyable {
        case ready(LogPipeline)
        case running(pthread_t)
        case stopped
    }

    /// Creates a logger and opens its output; throws ``AccessLogError`` for a bad configuration or path.
    public init(configuration: AccessLogConfiguration) throws(AccessLogError) {
        try configuration.validate()
        self.configuration = configuration
        self.state = Mutex(.stopped)
        let pipeline = try LogPipeline(configuration: configuration)
        self.state.withLock { $0 = .ready(pipeline) }
    }

    deinit {
        self.shutdown()
    }

    /// Creates and registers a ring for one writer thread (call once per worker, before or after start).
    public func makeRing() -> AccessLogRing {
        let ring = AccessLogRing(minimumCapacity: self.configuration.ringCapacity)
        self.ringList.withLock { rings in
            rings.append(ring)
            self.ringCount.store(rings.count, ordering: .releasing)
        }
        return ring
    }

    /// Interns `name` (a route id, an upstream node address, an error kind, a consumer's username, a
    /// plugin's name, a plugin field's key or value, a TLS protocol or cipher name, a verified client
    /// certificate's subject) for use in records. Entries are never freed and there are at most 65535,
    /// so intern only strings from a bounded set.
    /// Registering the same string again returns the same symbol; strings over 256 bytes are cut.
    public func register(_ name: String) throws(AccessLogError) -> AccessLogSymbol {
        try self.symbols.register(name)
    }

    /// The string registered for `symbol`, or nil.
    public func name(of symbol: AccessLogSymbol) -> String? {
        self.symbols.name(of: symbol)
    }

    func currentRings() -> [AccessLogRing] {
        self.ringList.withLock { $0 }
    }

    /// Starts the logging thread; throws if it is already running or was shut down.
    public func start() throws(AccessLogError) {
        let result: Result<Void, AccessLogError> = self.state.withLock { state in
            switch consume state {
            case .ready(let pipeline):
                pipeline.logger = self
                let box = Unmanaged.passRetained(pipeline).toOpaque()
                var thread = pthread_t()
                let code = pthread_create(
                    &thread,
                    nil,
                    { raw in
                        let pipeline = Unmanaged<LogPipeline>.fromOpaque(raw!).takeRetainedValue()
                        pipeline.run()
                        return nil
                    },
                    box
                )
                if code != 0 {
                    Unmanaged<LogPipeline>.fromOpaque(box).release()
                    pipeline.logger = nil
                    state = .ready(pipeline)
                    return .failure(
                        AccessLogError(
                            .state,
                            "cannot start the logging thread",
                            cause: SystemCallError(call: "pthread_create", errno: code)
                        )
                    )
                }
                state = .running(thread)
                return .success(())
            case .running(let thread):
                state = .running(thread)
                return .failure(AccessLogError(.state, "the access logger is already running"))
            case .stopped:
                state = .stopped
                return .failure(AccessLogError(.state, "the access logger was shut down"))
            }
        }
        try result.get()
    }

    /// Writes every record pushed before this call, closes the last frame and the file, and stops the
    /// thread. Stop the writers first: records pushed afterwards are not written. Safe to call twice.
    public func shutdown() {
        let thread: pthread_t? = self.state.withLock { state in
            switch consume state {
            case .running(let thread):
                state = .stopped
                return thread
            case .ready(let pipeline):
                // Never started: nothing was drained; still flush what is waiting so nothing is lost.
                state = .stopped
                pipeline.logger = self
                pipeline.run(stopImmediately: true)
                pipeline.logger = nil
                return nil
            case .stopped:
                state = .stopped
                return nil
            }
        }
        guard let thread else { return }
        self.stopRequested.store(true, ordering: .releasing)
        pthread_join(thread, nil)
    }

    /// Asks the logging thread to close the current frame and reopen the file at its path (for
    /// logrotate's rename-then-signal). Safe from any thread; see ``handleReopenSignal(_:)``.
    public func reopen() {
        self.reopenRequests.add(1, ordering: .releasing)
    }

    /// Asks the logging thread to close the current frame and rotate the file now.
    public func rotate() {
        self.rotateRequests.add(1, ordering: .releasing)
    }

    /// A snapshot of the counters (cheap; for a metrics exporter).
    public func stats() -> AccessLogStats {
        var stats = self.counters.snapshot()
        for ring in self.currentRings() {
            stats.recordsDropped &+= ring.dropped
            stats.sampledOut &+= ring.sampledOut
            stats.ringHighWaterMark = max(stats.ringHighWaterMark, ring.highWaterMark)
            stats.rings += 1
        }
        return stats
    }
}

/// The logging thread's counters: written by that thread only (plain stores), read by ``AccessLogger/stats()``.
final class AccessLogCounters: Sendable {
    let recordsWritten = Atomic<UInt64>(0)
    let bytesUncompressed = Atomic<UInt64>(0)
    let bytesWritten = Atomic<UInt64>(0)
    let frames = Atomic<UInt64>(0)
    let rotations = Atomic<UInt64>(0)
    let reopens = Atomic<UInt64>(0)
    let writeErrors = Atomic<UInt64>(0)
    let threadCPUNanoseconds = Atomic<UInt64>(0)

    func snapshot() -> AccessLogStats {
        var stats = AccessLogStats()
        stats.recordsWritten = self.recordsWritten.load(ordering: .relaxed)
        stats.bytesUncompressed = self.bytesUncompressed.load(ordering: .relaxed)
        stats.bytesWritten = self.bytesWritten.load(ordering: .relaxed)
        stats.frames = self.frames.load(ordering: .relaxed)
        stats.rotations = self.rotations.load(ordering: .relaxed)
        stats.reopens = self.reopens.load(ordering: .relaxed)
        stats.writeErrors = self.writeErrors.load(ordering: .relaxed)
        stats.threadCPUSeconds = Double(self.threadCPUNanoseconds.load(ordering: .relaxed)) / 1e9
        return stats
    }
}

extension Atomic where Value == UInt64 {
    /// Single-writer increment: a load and a store, not a read-modify-write.
    func bump(by amount: UInt64 = 1) {
        self.store(self.load(ordering: .relaxed) &+ amount, ordering: .relaxed)
    }
}
