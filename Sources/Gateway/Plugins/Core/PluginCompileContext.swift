import Synchronization

/// What compiling plugins for one plan may use: the plan's consumers and the process's shared state.
package final class PluginCompileContext: @unchecked Sendable {
    /// The consumers of the plan being compiled; empty while a configuration is only validated.
    package let consumers: ConsumerTable
    /// Where counters shared by workers live; nil while only validating (nothing is kept).
    package let shared: PluginSharedState?
    /// Workers that will run the plan.
    package let workerCount: Int
    /// The settings each group was joined with in this plan (`limit-count`'s `group`), by plugin and group.
    private let groups = Mutex<[String: String]>([:])

    package init(consumers: ConsumerTable, shared: PluginSharedState?, workerCount: Int) {
        self.consumers = consumers
        self.shared = shared
        self.workerCount = max(1, workerCount)
    }

    /// The state kept for `plugin` at `scope` with these settings: shared and kept across reloads when
    /// compiling a plan, fresh when only validating.
    package func sharedState<State: AnyObject & Sendable>(
        _ plugin: String,
        scope: PluginScope,
        settings: String,
        make: () -> State
    ) -> State {
        guard let shared else { return make() }
        return shared.state(for: "\(scope)/\(plugin)/\(FNV1a.hex(FNV1a.hash(settings.utf8)))", make: make)
    }

    /// The state every instance of `plugin` in `group` shares (`limit-count`'s `group`: routes in one
    /// group count together), or nil when another instance in this plan joined the group with other
    /// `settings` (APISIX: "group conf mismatched"). Kept under the group and its settings, so a reload
    /// that changes them starts afresh, like ``sharedState(_:scope:settings:make:)``.
    package func groupState<State: AnyObject & Sendable>(
        _ plugin: String,
        group: String,
        settings: String,
        make: () -> State
    ) -> State? {
        let key = "group/\(plugin)/\(group)"
        let matches = groups.withLock { groups in
            if let joined = groups[key] { return joined == settings }
            groups[key] = settings
            return true
        }
        guard matches else { return nil }
        guard let shared else { return make() }
        return shared.state(for: "\(key)/\(FNV1a.hex(FNV1a.hash(settings.utf8)))", make: make)
    }
}
