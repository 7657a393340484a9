import Foundation
import Glibc
import Logging
import Synchronization

/// Reloads the configuration when its file changes (`config.watch`, on by default).
///
/// Polls the file's status (`stat`, which follows symlinks: device, inode, size, modification and
/// change times) every `interval`, so an edit in place, an editor's write-and-rename and a Kubernetes
/// ConfigMap volume's symlink swap are all seen. Not inotify: closing an inotify descriptor waits for
/// the kernel to retire its marks, which took over 10 s on a loaded machine and held up the process's
/// exit. A change is debounced (the status must stay the same for one more poll), and a reload runs
/// only when the file's bytes differ from the configuration in use and from the last version that
/// failed, so a rejected file is reported once, not on every poll.
package final class ConfigFileWatcher: @unchecked Sendable {
    private let path: String
    private let reloader: ConfigReloader
    private let logger: Logger
    private let interval: Duration
    private let running = Atomic<Bool>(false)

    package init(path: String, reloader: ConfigReloader, logger: Logger, interval: Duration = .milliseconds(250)) {
        self.path = path
        self.reloader = reloader
        self.logger = logger
        self.interval = interval
    }

    /// Starts watching on its own low-priority thread.
    package func start() {
        guard !running.exchange(true, ordering: .acquiringAndReleasing) else { return }
        let thread = Thread { [self] in run() }
        thread.name = "gateway-config-watch"
        thread.start()
        logger.info("config.watch: reloading \(path) when it changes")
    }

    /// Stops watching (the thread ends within one interval; nothing waits for it).
    package func stop() {
        running.store(false, ordering: .releasing)
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

    private func run() {
        ThreadPriority.lowerCurrentThread()
        var seen = signature()
        var pending: Signature?
        var failedHash: String?
        while running.load(ordering: .acquiring) {
            Thread.sleep(
                forTimeInterval: Double(interval.components.attoseconds) / 1e18 + Double(interval.components.seconds)
            )
            let current = signature()
            guard current != seen || pending != nil else { continue }
            if current != seen {
                // Changed since the last poll: wait until it holds still for one more.
                seen = current
                pending = current
                continue
            }
            pending = nil
            guard let data = FileManager.default.contents(atPath: path) else { continue }
            let hash = FNV1a.hex(of: data)
            guard hash != reloader.status.hash, hash != failedHash else { continue }
            switch reloader.reloadFromFile(trigger: "file change") {
            case .success: failedHash = nil
            case .failure: failedHash = hash
            }
        }
    }
}
