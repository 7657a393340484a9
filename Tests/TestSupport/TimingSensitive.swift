/// Runs `body` while no other timing-sensitive test runs in this process.
///
/// Tests that assert on how long something takes (a timeout, a drain, a circuit that opens after so
/// many timeouts) or that drive sustained load hold this gate, so on a loaded machine they do not
/// also compete with each other: the suite stays parallel, only these take turns.
package func timingSensitive<T>(_ body: () async throws -> T) async rethrows -> T {
    await TimingGate.shared.acquire()
    do {
        let result = try await body()
        await TimingGate.shared.release()
        return result
    } catch {
        await TimingGate.shared.release()
        throw error
    }
}

private actor TimingGate {
    static let shared = TimingGate()
    private var busy = false
    private var waiters: [CheckedContinuation<Void, Never>] = []

    func acquire() async {
        guard busy else {
            busy = true
            return
        }
        await withCheckedContinuation { waiters.append($0) }
    }

    func release() {
        if waiters.isEmpty {
            busy = false
        } else {
            waiters.removeFirst().resume()
        }
    }
}
