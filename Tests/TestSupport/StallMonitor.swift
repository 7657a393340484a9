import Foundation

/// Reports on standard error when this test process stopped making progress, so a test that fails on a
/// loaded machine can be told apart from one that waited on a runner that was not running.
///
/// Two probes, each sleeping 250 ms in a loop and reporting a wake-up more than 5 s late:
/// - a plain thread: late when the whole process (or the VM's CPU) was not scheduled;
/// - a task: late when Swift concurrency's few shared threads were all busy, so every suspended test
///   (a client between two requests, a poll loop) waited that long to resume.
///
/// Lines start with `stall-monitor:`; `scripts/test-loaded` counts them.
package enum StallMonitor {
    /// Starts both probes once per process; later calls do nothing.
    package static func start() {
        _ = started
    }

    static let threshold: Duration = .seconds(5)
    static let period: Duration = .milliseconds(250)

    private static let started: Bool = {
        let thread = Thread {
            let clock = ContinuousClock()
            while true {
                let before = clock.now
                usleep(UInt32(period.components.attoseconds / 1_000_000_000_000))
                report("the process", late: clock.now - before - period)
            }
        }
        thread.name = "stall-monitor"
        thread.start()
        Task.detached(priority: .high) {
            let clock = ContinuousClock()
            while true {
                let before = clock.now
                try? await Task.sleep(for: period)
                report("Swift concurrency's threads", late: clock.now - before - period)
            }
        }
        return true
    }()

    private static func report(_ what: String, late: Duration) {
        guard late > threshold else { return }
        let seconds = Double(late.components.seconds) + Double(late.components.attoseconds) / 1e18
        let line = "stall-monitor: \(what) ran nothing for \(String(format: "%.1f", seconds)) s, until \(Date())\n"
        FileHandle.standardError.write(Data(line.utf8))
    }
}
