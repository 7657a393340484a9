import Synchronization

/// State plugin instances share across workers and keep across reloads (a rate limit's counters),
/// kept under the instance's scope, name and settings, so a reload that leaves a plugin's settings
/// alone keeps its counts, and one that changes them starts afresh.
///
/// Used while plans compile (control plane), never on a worker.
package final class PluginSharedState: Sendable {
    /// The state of this process's gateway.
    package static let process = PluginSharedState()

    private struct Store: ~Copyable {
        var states: [String: AnyObject] = [:]
        var used: Set<String> = []
    }

    private let store = Mutex(Store())

    package init() {}

    /// The state kept under `key`, made by `make` the first time.
    package func state<State: AnyObject & Sendable>(for key: String, make: () -> State) -> State {
        store.withLock { store in
            store.used.insert(key)
            if let existing = store.states[key] as? State { return existing }
            let state = make()
            store.states[key] = state
            return state
        }
    }

    /// Forgets what the last compiled plan did not use (call after a plan is published).
    package func keepOnlyUsed() {
        store.withLock { store in
            store.states = store.states.filter { store.used.contains($0.key) }
            store.used = []
        }
    }
}
