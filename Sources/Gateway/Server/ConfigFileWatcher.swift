import Foundation
import Glibc
import Logging
import Synchronization

/// Reloads the configuration when its file changes (`config.watch`, on by default).
///
/// Listens with inotify on the directories that make up the file's path (see ``ConfigPathWatch``): a
/// write closed in place, an editor's write-and-rename, and a Kubernetes ConfigMap volume's `..data`
/// symlink swap are all seen. Events are debounced (the directory must be quiet for `debounce`), and a
/// reload runs only when the file's bytes differ from the configuration in use and from the last version
/// that failed, so a rejected file is reported once. When inotify is unavailable, the file's status
/// (`stat`) is polled every `interval` instead.
///
/// Closing an inotify descriptor that still has watches waits for the kernel to retire them (an RCU grace
/// period: over 10 s on a loaded machine), which once held up the process's exit. So ``stop()`` removes
/// the watches at once (that does not wait), and the watcher's own thread closes the descriptor when it
/// next wakes: no exiting thread ever waits for the kernel.
package final class ConfigFileWatcher: @unchecked Sendable {
    private let path: String
    private let reloader: ConfigReloader
    private let logger: Logger
    private let interval: Duration
    private let debounce: Duration
    private let running = Atomic<Bool>(false)
    /// The inotify watch, shared with ``stop()`` (which removes its marks) under the lock.
    private let watch = Mutex<ConfigPathWatch?>(nil)

    package init(
        path: String,
        reloader: ConfigReloader,
        logger: Logger,
        interval: Duration = .milliseconds(250),
        debounce: Duration = .milliseconds(100)
    ) {
        self.path = path
        self.reloader = reloader
        self.logger = logger
        self.interval = interval
        self.debounce = debounce
    }

    /// Starts watching on its own low-priority thread.
    package func start() {
        guard !running.exchange(true, ordering: .acquiringAndReleasing) else { return }
        var inotify = ConfigPathWatch(path: path)
        if let candidate = inotify {
            if candidate.refresh() {
                watch.withLock { $0 = candidate }
            } else {
                // Not even the file's directory can be watched (gone, or not readable): poll instead.
                candidate.close()
                inotify = nil
            }
        }
        let chosen = inotify
        let thread = Thread { [self] in
            ThreadPriority.lowerCurrentThread()
            if let chosen {
                runInotify(chosen)
            } else {
                runPolling()
            }
        }
        thread.name = "gateway-config-watch"
        thread.start()
        let how = inotify == nil ? "polling (inotify is unavailable)" : "inotify"
        logger.info("config.watch: reloading \(path) when it changes (\(how))")
    }

    /// Stops watching: the inotify watches go at once; the thread ends (closing the descriptor) within
    /// one wake-up. Nothing waits for it.
    package func stop() {
        running.store(false, ordering: .releasing)
        watch.withLock { $0?.removeWatches() }
    }

    private var isRunning: Bool { running.load(ordering: .acquiring) }

    private static func milliseconds(_ duration: Duration) -> Int32 {
        let value = duration.components.seconds * 1000 + duration.components.attoseconds / 1_000_000_000_000_000
        return Int32(clamping: max(1, value))
    }

    private func runInotify(_ inotify: ConfigPathWatch) {
        let quiet = Self.milliseconds(debounce)
        // Wakes at least this often to see a stop.
        let idle = max(quiet, 200)
        var pendingSince: ContinuousClock.Instant?
        var failedHash: String?
        let clock = ContinuousClock()
        while isRunning {
            let ready = inotify.wait(milliseconds: pendingSince == nil ? idle : quiet)
            guard isRunning else { break }
            if ready, inotify.readEvents() { pendingSince = pendingSince ?? clock.now }
            guard let since = pendingSince else { continue }
            // Quiet for `debounce` first, unless events keep coming for ten times that.
            if ready && clock.now - since < debounce * 10 { continue }
            pendingSince = nil
            // The path may now resolve through other directories (a swapped symlink): follow them.
            let watching = inotify.refresh()
            reloadIfChanged(failedHash: &failedHash)
            if !watching && isRunning {
                // The file's directory went away: nothing left to watch, so poll until it is back.
                logger.warning("config.watch: cannot watch the directory of \(path) any more; polling it instead")
                break
            }
        }
        // Removing the marks first keeps close from waiting for the kernel to retire them.
        inotify.removeWatches()
        inotify.close()
        watch.withLock { $0 = nil }
        if isRunning { runPolling() }
    }

    /// Reloads when the file's bytes differ from the source in use and from the last rejected version.
    private func reloadIfChanged(failedHash: inout String?) {
        guard let data = FileManager.default.contents(atPath: path) else { return }
        let hash = FNV1a.hex(of: data)
        let inUse = reloader.state.withLock { $0.base?.sourceHash }
        guard hash != inUse, hash != failedHash else { return }
        switch reloader.reloadFromFile(trigger: "file change") {
        case .success: failedHash = nil
        case .failure: failedHash = hash
        }
    }

    /// What identifies a version of the file without reading it.
    private struct Signature: Equatable {
        var device: UInt64
        var inode: UInt64
        var size: Int64
        var modified: timespec
        var changed: timespec

        static func == (a: Signature, b: Signature) -> Bool {
            a.device == b.device && a.inode == b.inode && a.size == b.size
                && a.modified.tv_sec == b.modified.tv_sec && a.modified.tv_nsec == b.modified.tv_nsec
                && a.changed.tv_sec == b.changed.tv_sec && a.changed.tv_nsec == b.changed.tv_nsec
        }
    }

    private func signature() -> Signature? {
        var info = stat()
        guard stat(path, &info) == 0 else { return nil }
        return Signature(
            device: UInt64(info.st_dev),
            inode: UInt64(info.st_ino),
            size: Int64(info.st_size),
            modified: info.st_mtim,
            changed: info.st_ctim
        )
    }

    /// The fallback: `stat` (which follows symlinks) every `interval`; a change must hold still for one
    /// more poll before the file is read.
    private func runPolling() {
        var seen = signature()
        var pending: Signature?
        var failedHash: String?
        while isRunning {
            Thread.sleep(
                forTimeInterval: Double(interval.components.attoseconds) / 1e18 + Double(interval.components.seconds)
            )
            let current = signature()
            guard current != seen || pending != nil else { continue }
            if current != seen {
                seen = current
                pending = current
                continue
            }
            pending = nil
            reloadIfChanged(failedHash: &failedHash)
        }
    }
}
