import Foundation

extension ConfigReloader {
    /// Applies what a shared store (etcd) holds through the reload path: the file as last loaded plus the
    /// store's resources, validated and compiled, then published. Resources that do not validate are
    /// rejected one by one (see ``EtcdResourceFilter``) and the rest applies.
    ///
    /// `candidate` is read under the reload lock, so an Admin API write (which updates the store's view
    /// under the same lock) is never undone by an older view. Returns the outcome (also when nothing
    /// changed), or nil when the whole set was rejected (counted and logged like a failed reload).
    /// `report` gets the rejections before the plan is published, so `/status` never lags what is served.
    package func applyStoreResources(
        trigger: String,
        layout: EtcdLayout,
        candidate: () -> ResourceSet,
        report: ([ConfigStoreStatus.Rejection]) -> Void = { _ in }
    ) -> EtcdResourceFilter.Outcome<GatewayConfig>? {
        let started = ContinuousClock.now
        return state.withLock { state -> EtcdResourceFilter.Outcome<GatewayConfig>? in
            guard let base = state.base else { return nil }
            let proposed = candidate()
            do throws(ConfigError) {
                var outcome = try EtcdResourceFilter.filter(proposed, lastGood: state.resources, layout: layout) {
                    set throws(ConfigError) in
                    try ConfigLoader.read(base, overlay: Self.overlay(set))
                }
                outcome.resources.revision = max(proposed.revision, state.resources.revision)
                report(outcome.rejected)
                if outcome.resources.resources == state.resources.resources {
                    // Nothing served changes, and the revision stays: an Admin API write prepared meanwhile is
                    // still built on what is in force (the etcd store refuses one that is not).
                    return outcome
                }
                let plan = try compile(outcome.validated)
                state.resources = outcome.resources
                state.status.apiResources = Self.ids(of: outcome.resources)
                publish(
                    plan,
                    config: outcome.validated,
                    resources: outcome.resources,
                    trigger: trigger,
                    since: started,
                    status: &state.status
                )
                return outcome
            } catch {
                record(failure: error, trigger: trigger, into: &state.status)
                return nil
            }
        }
    }
}
