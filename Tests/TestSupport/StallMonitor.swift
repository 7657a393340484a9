import Foundation
import Synchronization

/// Reports on standard error when this test process stopped making progress, so a test that fails on a
/// loaded machine can be told apart from one that waited on a runner that was not running.
///
/// Two probes, each sleeping 250 ms in a loop and reporting a wake-up more than 5 s late:
/// - a plain thread: late when the whole process (or the VM's CPU) was not scheduled;
/// - a task: late when Swift concurrency's few shared threads were all busy or blocked, so every suspended
///   test (a client between two requests, a poll loop) waited that long to resume.
///
/// While the task is late, the thread also lists what each of the process's threads is doing (state, kernel
/// wait channel and kernel stack from /proc), once per stall: that tells a blocking call on a shared thread
/// from CPU starvation.
///
/// Lines start with `stall-monitor:`; `scripts/test-loaded` counts the stalls.
package enum StallMonitor {
    /// Starts both probes once per process; later calls do nothing.
    package static func start() {
        _ = started
    }

    static let threshold: Duration = .seconds(5)
    static let period: Duration = .milliseconds(250)
    /// When the task probe last woke up, in nanoseconds of the continuous clock since `origin`.
    private static let taskHeartbeat = Atomic<Int64>(0)
    private static let origin = ContinuousClock.now

    private static let started: Bool = {
        let thread = Thread {
            let clock = ContinuousClock()
            var dumpedFor: Int64 = -1
            while true {
                let before = clock.now
                usleep(UInt32(nanoseconds(period) / 1000))
                report("the process", late: clock.now - before - period)
                let heartbeat = taskHeartbeat.load(ordering: .relaxed)
                if heartbeat != dumpedFor && nanoseconds(since: origin) - heartbeat > nanoseconds(threshold) {
                    dumpedFor = heartbeat
                    dumpThreads()
                }
            }
        }
        thread.name = "stall-monitor"
        thread.start()
        // At the tests' own priority: a higher one would be picked ahead of them from a saturated pool.
        Task.detached {
            let clock = ContinuousClock()
            while true {
                let before = clock.now
                taskHeartbeat.store(nanoseconds(since: origin), ordering: .relaxed)
                try? await Task.sleep(for: period)
                report("Swift concurrency's threads", late: clock.now - before - period)
            }
        }
        return true
    }()

    private static func nanoseconds(_ duration: Duration) -> Int64 {
        duration.components.seconds * 1_000_000_000 + duration.components.attoseconds / 1_000_000_000
    }

    private static func nanoseconds(since instant: ContinuousClock.Instant) -> Int64 {
        nanoseconds(ContinuousClock.now - instant)
    }

    private static func report(_ what: String, late: Duration) {
        guard late > threshold else { return }
        let seconds = Double(nanoseconds(late)) / 1e9
        write("stall-monitor: \(what) ran nothing for \(String(format: "%.1f", seconds)) s, until \(Date())")
    }

    /// One line per thread of this process: name, state, kernel wait channel and the top of its kernel stack.
    private static func dumpThreads() {
        var lines = ["stall-monitor: no task has run for over 5 s; the process's threads at \(Date()):"]
        let tasks = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/task")) ?? []
        for tid in tasks.sorted(by: { (Int($0) ?? 0) < (Int($1) ?? 0) }) {
            let base = "/proc/self/task/\(tid)"
            let name = read("\(base)/comm")
            let stat = read("\(base)/stat")
            let state = stat.split(separator: ")").last?.split(separator: " ").first.map(String.init) ?? "?"
            let channel = read("\(base)/wchan")
            let stack = read("\(base)/stack").split(separator: "\n").prefix(4)
                .map { $0.split(separator: " ").last.map(String.init) ?? "" }.joined(separator: " < ")
            lines.append("stall-monitor:   \(tid) \(name) \(state) wchan=\(channel) stack=\(stack)")
        }
        write(lines.joined(separator: "\n"))
    }

    private static func read(_ path: String) -> String {
        ((try? String(contentsOfFile: path, encoding: .utf8)) ?? "").trimmingCharacters(in: .whitespacesAndNewlines)
    }

    private static func write(_ text: String) {
        FileHandle.standardError.write(Data((text + "\n").utf8))
    }
}
