import Foundation
import Glibc
import Synchronization

/// An inotify watch on the directories a configuration file's path goes through, reporting events about
/// the names that make up that path.
///
/// Watching directories, not the file, is what sees a file replaced: an editor's write-and-rename
/// (`IN_MOVED_TO` of the file's name) and a Kubernetes ConfigMap update, which writes a new timestamped
/// directory and renames a `..data` symlink over the old one (`IN_MOVED_TO` of `..data`, the first
/// component of the file's symlink). For a path `dir/name` it watches `dir` for `name` and, when `name` is
/// a symlink, for the first component of its relative target; and the directory of the resolved file for
/// its name (edits behind a symlink). ``refresh()`` follows the path again after a change.
///
/// Thread-safe: ``removeWatches()`` may run on any thread while another waits for events.
package final class ConfigPathWatch: @unchecked Sendable {
    private let path: String
    private let descriptor: Int32
    private struct State {
        /// Watch descriptor → the names in its directory that matter.
        var names: [Int32: Set<String>] = [:]
        /// After ``removeWatches()``: no watch is added again.
        var stopped = false
        var closed = false
    }
    private let state = Mutex(State())
    private static let mask = UInt32(IN_CLOSE_WRITE | IN_MOVED_TO | IN_CREATE | IN_DELETE | IN_ONLYDIR)

    /// Nil when inotify is unavailable (`inotify_init1` failed: no kernel support, or the per-user limit
    /// of instances is reached).
    package init?(path: String) {
        let descriptor = inotify_init1(Int32(IN_CLOEXEC | IN_NONBLOCK))
        guard descriptor >= 0 else { return nil }
        self.descriptor = descriptor
        self.path = path.hasPrefix("/") ? path : FileManager.default.currentDirectoryPath + "/" + path
    }

    /// Directory → names to watch there, from the path as it resolves now.
    private func wanted() -> [String: Set<String>] {
        var wanted: [String: Set<String>] = [:]
        let url = URL(fileURLWithPath: path)
        let directory = url.deletingLastPathComponent().path
        wanted[directory, default: []].insert(url.lastPathComponent)
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        let length = readlink(path, &buffer, buffer.count - 1)
        if length > 0 {
            let target = String(decoding: buffer[..<length].map { UInt8(bitPattern: $0) }, as: UTF8.self)
            if !target.hasPrefix("/"), let first = target.split(separator: "/").first, first != ".", first != ".." {
                wanted[directory, default: []].insert(String(first))
            }
        }
        if let resolved = realpath(path, nil) {
            let real = URL(fileURLWithPath: String(cString: resolved))
            free(resolved)
            wanted[real.deletingLastPathComponent().path, default: []].insert(real.lastPathComponent)
        }
        return wanted
    }

    /// Watches the directories the path goes through now, and drops watches of those it left. Returns
    /// false when not even the file's own directory can be watched.
    @discardableResult
    package func refresh() -> Bool {
        let wanted = wanted()
        return state.withLock { state in
            guard !state.stopped else { return false }
            var names: [Int32: Set<String>] = [:]
            for (directory, wantedNames) in wanted {
                // The same directory under two spellings gets the same watch descriptor.
                let watch = inotify_add_watch(descriptor, directory, Self.mask)
                if watch >= 0 { names[watch, default: []].formUnion(wantedNames) }
            }
            for watch in state.names.keys where names[watch] == nil {
                // Fails harmlessly when the directory is gone (the kernel removed the watch already).
                inotify_rm_watch(descriptor, watch)
            }
            state.names = names
            return !names.isEmpty
        }
    }

    /// Waits up to `milliseconds` for events; true when some can be read.
    package func wait(milliseconds: Int32) -> Bool {
        var request = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
        return poll(&request, 1, milliseconds) > 0 && request.revents & Int16(POLLIN) != 0
    }

    /// Reads every pending event; true when one concerns the watched path (or events were lost, or a
    /// watched directory went away).
    package func readEvents() -> Bool {
        var relevant = false
        var buffer = [UInt8](repeating: 0, count: 16 * 1024)
        while true {
            let count = buffer.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
            guard count > 0 else { break }
            let events = Self.parse(buffer[..<count])
            state.withLock { state in
                for event in events {
                    if event.mask & UInt32(IN_Q_OVERFLOW) != 0 {
                        relevant = true
                    } else if event.mask & UInt32(IN_IGNORED) != 0 {
                        if state.names.removeValue(forKey: event.watch) != nil { relevant = true }
                    } else if let name = event.name, state.names[event.watch]?.contains(name) == true {
                        relevant = true
                    }
                }
            }
        }
        return relevant
    }

    private struct Event {
        var watch: Int32
        var mask: UInt32
        var name: String?
    }

    /// Splits a `read` of the descriptor into events (`struct inotify_event` and its NUL-padded name).
    private static func parse(_ bytes: ArraySlice<UInt8>) -> [Event] {
        var events: [Event] = []
        let header = MemoryLayout<inotify_event>.size
        bytes.withUnsafeBytes { raw in
            var offset = 0
            while offset + header <= raw.count {
                let watch = raw.loadUnaligned(fromByteOffset: offset, as: Int32.self)
                let mask = raw.loadUnaligned(fromByteOffset: offset + 4, as: UInt32.self)
                let length = Int(raw.loadUnaligned(fromByteOffset: offset + 12, as: UInt32.self))
                let start = offset + header
                guard start + length <= raw.count else { break }
                var name: String?
                if length > 0 {
                    let field = raw[start..<start + length]
                    let end = field.firstIndex(of: 0) ?? field.endIndex
                    name = String(decoding: raw[start..<end], as: UTF8.self)
                }
                events.append(Event(watch: watch, mask: mask, name: name))
                offset = start + length
            }
        }
        return events
    }

    /// Removes every watch, at once (the kernel retires the marks in the background) and for good.
    package func removeWatches() {
        state.withLock { state in
            state.stopped = true
            guard !state.closed else { return }
            for watch in state.names.keys { inotify_rm_watch(descriptor, watch) }
            state.names = [:]
        }
    }

    /// Closes the descriptor (after ``removeWatches()``, so closing does not wait for the kernel).
    package func close() {
        state.withLock { state in
            guard !state.closed else { return }
            state.closed = true
            state.stopped = true
            _ = Glibc.close(descriptor)
        }
    }
}
