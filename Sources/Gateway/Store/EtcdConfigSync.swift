import Foundation
import Logging
import Synchronization

/// The thread that keeps a gateway's resources in step with etcd: watch the prefix from the last revision,
/// apply each batch of changes through the reload path, reconnect with backoff, resync after compaction.
///
/// - **Watch** from the view's revision + 1 over the whole prefix. Events that arrive together (within
///   50 ms, at most 250 ms in all) are applied as one reload.
/// - **Disconnect** (etcd down, a reset, a dead peer found by TCP keepalive): `up` goes to 0, the last good
///   configuration keeps serving, and the watch is opened again after a backoff (100 ms doubling up to 3 s)
///   from the last revision; each reopening counts in `watch_restarts`.
/// - **Compaction** (the revision to resume from is gone): a full range replaces the view and is applied
///   (`resyncs`), then the watch continues from the range's revision. A start from the cache resyncs the
///   same way once etcd answers.
package final class EtcdConfigSync: @unchecked Sendable {
    let store: EtcdConfigStore
    let reloader: ConfigReloader
    let logger: Logger
    private let stopping = Atomic<Bool>(false)
    private let finished = DispatchSemaphore(value: 0)
    private let started = Atomic<Bool>(false)

    package init(store: EtcdConfigStore, reloader: ConfigReloader, logger: Logger) {
        self.store = store
        self.reloader = reloader
        self.logger = logger
    }

    /// Starts the watch thread.
    package func start() {
        guard !started.exchange(true, ordering: .acquiringAndReleasing) else { return }
        let thread = Thread { [self] in
            ThreadPriority.lowerCurrentThread()
            run()
            finished.signal()
        }
        thread.name = "gateway-etcd"
        thread.start()
    }

    /// Stops the thread (it notices within about a second).
    package func stop() {
        guard started.load(ordering: .acquiring) else { return }
        stopping.store(true, ordering: .releasing)
        _ = finished.wait(timeout: .now() + 2)
    }

    private var isStopping: Bool { stopping.load(ordering: .acquiring) }

    private func run() {
        var needResync = store.status.fromCache
        var backoff = Duration.milliseconds(100)
        var failures = 0
        while !isStopping {
            do throws(EtcdError) {
                if needResync {
                    try resync()
                    needResync = false
                }
                let from = store.watchedRevision + 1
                let stream = try store.client.watch(prefix: store.layout.rangePrefix, from: from)
                defer { stream.close() }
                store.updateStatus {
                    $0.up = true
                    $0.lastError = ""
                    $0.endpoint = stream.endpoint.description
                }
                if failures > 0 { logger.notice("etcd: watch resumed from revision \(from) on \(stream.endpoint)") }
                failures = 0
                backoff = .milliseconds(100)
                try follow(stream)
            } catch  where error.code == .compacted {
                logger.warning(
                    "etcd: revision \(store.watchedRevision + 1) was compacted (\(error.message)); resyncing"
                )
                needResync = true
            } catch {
                if isStopping { break }
                failures += 1
                let wasUp = store.status.up
                store.updateStatus {
                    $0.up = false
                    $0.lastError = error.message
                    $0.watchRestarts += 1
                }
                if wasUp || failures == 1 {
                    logger.error("etcd: \(error.message); serving the last good configuration, retrying")
                }
                pause(backoff)
                backoff = min(backoff * 2, .seconds(3))
            }
        }
    }

    /// Reads the whole prefix and applies it (after compaction, or after a start from the cache).
    private func resync() throws(EtcdError) {
        let range = try store.client.range(prefix: store.layout.rangePrefix)
        store.replace(with: range)
        store.updateStatus {
            $0.resyncs += 1
            $0.fromCache = false
            $0.up = true
            $0.endpoint = store.client.currentEndpoint.description
        }
        logger.notice("etcd: resynced at revision \(range.revision) (\(range.kvs.count) keys)")
        applyView(trigger: "etcd resync")
    }

    /// Reads messages until the stream fails or the gateway stops; batches events into reloads.
    private func follow(_ stream: EtcdWatchStream) throws(EtcdError) {
        var dirty = false
        var batchStarted: ContinuousClock.Instant?
        while !isStopping {
            // Within a batch, wait briefly for more; otherwise wake every second to notice a stop.
            let wait: Duration = dirty ? .milliseconds(50) : .seconds(1)
            let message: EtcdWatchStream.Message
            do throws(EtcdError) {
                message = try stream.next(deadline: .now + wait)
            } catch  where error.code == .timeout {
                if dirty {
                    applyView(trigger: "etcd watch")
                    dirty = false
                    batchStarted = nil
                }
                continue
            }
            if message.compactRevision > 0 {
                throw EtcdError(.compacted, "required revision has been compacted (oldest: \(message.compactRevision))")
            }
            if message.canceled {
                throw EtcdError(.unreachable, "etcd canceled the watch: \(message.cancelReason)")
            }
            if store.apply(message) {
                dirty = true
                batchStarted = batchStarted ?? .now
            }
            if dirty, let since = batchStarted, ContinuousClock.now - since > .milliseconds(250) {
                applyView(trigger: "etcd watch")
                dirty = false
                batchStarted = nil
            }
        }
    }

    /// Applies the view through the reload path and writes the cache.
    private func applyView(trigger: String) {
        let store = self.store
        guard
            let outcome = reloader.applyStoreResources(
                trigger: trigger,
                layout: store.layout,
                candidate: store.candidate,
                report: store.report
            )
        else { return }
        store.writeCache(outcome.resources)
    }

    private func pause(_ duration: Duration) {
        let end = ContinuousClock.now + duration
        while !isStopping, ContinuousClock.now < end {
            Thread.sleep(forTimeInterval: min(0.1, Self.seconds(end - ContinuousClock.now)))
        }
    }

    private static func seconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
    }
}
