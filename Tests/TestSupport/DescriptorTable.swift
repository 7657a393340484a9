#if canImport(Glibc)
import Glibc
#endif

/// Grows this process's descriptor table once, up front.
///
/// The kernel grows the table by doubling as descriptors are opened, and in a multi-threaded process each
/// growth waits for an RCU grace period (`expand_files` → `synchronize_rcu`). Beside two CPU burners RCU was
/// starved for seconds, and a shared Swift concurrency thread opening a socket sat in that wait (the stall
/// monitor showed it in `synchronize_rcu_normal`), stalling every test. The table never shrinks, so growing
/// it once to 8,192 entries (64 KiB) before the tests open their descriptors takes that wait out of them.
package enum DescriptorTable {
    /// Grows the table once per process; later calls do nothing. Harmless where the descriptor limit is lower.
    package static func reserve() {
        _ = reserved
    }

    private static let reserved: Bool = {
        let highest: Int32 = 8191
        guard dup2(STDERR_FILENO, highest) == highest else { return false }
        close(highest)
        return true
    }()
}
