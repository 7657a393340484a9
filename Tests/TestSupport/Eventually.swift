/// Polls `condition` every `interval` until it holds (true) or `timeout` passes (false, after a last try).
///
/// Tests wait for what they need this way rather than sleeping a fixed time, which is either too short
/// on a loaded machine or wasted on an idle one.
package func eventually(
    timeout: Duration,
    interval: Duration = .milliseconds(20),
    _ condition: () async throws -> Bool
) async throws -> Bool {
    let deadline = ContinuousClock.now.advanced(by: timeout)
    while ContinuousClock.now < deadline {
        if try await condition() { return true }
        try await Task.sleep(for: interval)
    }
    return try await condition()
}
