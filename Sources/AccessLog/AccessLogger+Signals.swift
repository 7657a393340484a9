import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Bumped by the reopen signal handler; loggers that opted in compare it with what they last saw.
let reopenSignalCount = Atomic<Int>(0)

extension AccessLogger {
    /// Opt-in: installs a process-wide handler for `signal` (default SIGUSR1, as logrotate's
    /// `postrotate` sends) that makes this logger reopen its file. The handler only bumps an atomic
    /// counter, which is async-signal-safe; the logging thread does the reopen.
    public func handleReopenSignal(_ signal: Int32 = SIGUSR1) {
        // Touch the global before a handler could run, so the handler never initializes it.
        _ = reopenSignalCount.load(ordering: .relaxed)
        self.followsReopenSignal.store(true, ordering: .releasing)
        var action = sigaction()
        action.__sigaction_handler.sa_handler = { _ in
            reopenSignalCount.add(1, ordering: .releasing)
        }
        sigemptyset(&action.sa_mask)
        action.sa_flags = SA_RESTART
        sigaction(signal, &action, nil)
    }
}
