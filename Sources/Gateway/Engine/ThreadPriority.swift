import CEpoll
import Glibc

/// Scheduling of the gateway's own background threads against its workers.
package enum ThreadPriority {
    /// Lowers the calling thread's priority (nice 10), so that work off the request path — a reload's
    /// parse and compile, Admin API writes — gives way to the workers on a busy machine instead of
    /// delaying requests. Only this thread is affected; threads it creates later inherit it.
    package static func lowerCurrentThread() {
        _ = setpriority(__priority_which_t(PRIO_PROCESS.rawValue), id_t(gw_gettid()), 10)
    }
}
