import Foundation
import Glibc
import Logging
import Synchronization

/// Reloads the configuration when its file changes (`config.watch`, on by default).
///
/// Watches the file's directory with inotify, so editors that write a new file and rename it over
/// the old one, and Kubernetes ConfigMap volumes that swap a symlink, are seen too. Events are
/// debounced (a reload starts once the directory has been quiet for `quietPeriod`), and a reload
/// runs only when the file's bytes differ from the configuration in use and from the last version
/// that failed, so a rejected file is reported once, not on every event.
package final class ConfigFileWatcher: @unchecked Sendable {
    private let path: String
    private let reloader: ConfigReloader
    private let logger: Logger
    private let quietPeriod: Duration
    private let running = Atomic<Bool>(false)
    private var thread: Thread?
    private let finished = DispatchSemaphore(value: 0)
    private var inotify: Int32 = -1

    package init(path: String, reloader: ConfigReloader, logger: Logger, quietPeriod: Duration = .milliseconds(150)) {
        self.path = path
        self.reloader = reloader
        self.logger = logger
        self.quietPeriod = quietPeriod
    }

    /// Starts watching; logs and returns when inotify is unavailable (reloads still work by SIGHUP).
    package func start() {
        let directory = URL(fileURLWithPath: path).deletingLastPathComponent().path
        let fd = inotify_init1(Int32(IN_NONBLOCK | IN_CLOEXEC))
        guard fd >= 0 else {
            logger.warning(
                "config.watch: inotify unavailable (\(String(cString: strerror(errno)))); reload with SIGHUP"
            )
            return
        }
        let mask = UInt32(IN_CLOSE_WRITE | IN_MOVED_TO | IN_CREATE | IN_DELETE | IN_ATTRIB)
        guard inotify_add_watch(fd, directory, mask) >= 0 else {
            logger.warning(
                "config.watch: cannot watch \(directory) (\(String(cString: strerror(errno)))); reload with SIGHUP"
            )
            close(fd)
            return
        }
        inotify = fd
        running.store(true, ordering: .releasing)
        let thread = Thread { [self] in run() }
        thread.name = "gateway-config-watch"
        thread.start()
        self.thread = thread
        logger.info("config.watch: reloading \(path) when it changes")
    }

    /// Stops the thread and waits for it.
    package func stop() {
        guard running.exchange(false, ordering: .acquiringAndReleasing) else { return }
        finished.wait()
        close(inotify)
        inotify = -1
    }

    private func run() {
        ThreadPriority.lowerCurrentThread()
        var buffer = [UInt8](repeating: 0, count: 16 * 1024)
        var lastEvent: ContinuousClock.Instant?
        var failedHash: String?
        while running.load(ordering: .acquiring) {
            var descriptor = pollfd(fd: inotify, events: Int16(POLLIN), revents: 0)
            _ = poll(&descriptor, 1, 50)
            var sawEvent = false
            while read(inotify, &buffer, buffer.count) > 0 { sawEvent = true }
            if sawEvent { lastEvent = .now }
            guard let since = lastEvent, ContinuousClock.now - since >= quietPeriod else { continue }
            lastEvent = nil
            guard let data = FileManager.default.contents(atPath: path) else { continue }
            let hash = FNV1a.hex(of: data)
            guard hash != reloader.status.hash, hash != failedHash else { continue }
            switch reloader.reloadFromFile(trigger: "file change") {
            case .success: failedHash = nil
            case .failure: failedHash = hash
            }
        }
        finished.signal()
    }
}
