import Foundation

/// Runs `body` on a thread of its own and waits for it without holding one of Swift concurrency's
/// threads: there are only as many of those as cores, and a test blocked in a socket call on one of them
/// (a harness client waiting for Redis or etcd) stalls every other test's progress, timers included.
package func blocking<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        let thread = Thread {
            continuation.resume(with: Result { try body() })
        }
        thread.name = "test-blocking-call"
        thread.start()
    }
}

/// Carries a value that is not `Sendable` to and from ``blocking(_:)``'s thread; the caller waits for that
/// thread, so the value is never used from two threads at once.
package final class UncheckedSendableBox<Value>: @unchecked Sendable {
    package let value: Value

    package init(_ value: Value) {
        self.value = value
    }
}
