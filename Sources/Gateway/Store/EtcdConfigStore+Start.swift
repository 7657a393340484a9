import Foundation

extension EtcdConfigStore {
    /// What a start read: the resources to serve, the configuration they validate to with the file, and
    /// whether they came from the cache (etcd unreachable).
    package struct Start: Sendable {
        package var resources: ResourceSet
        package var config: GatewayConfig
        package var fromCache: Bool
    }

    /// Reads every resource from etcd (waiting at most `etcd.timeout` per endpoint) and validates them with
    /// `source`, rejecting invalid ones one by one. With etcd unreachable it starts from the cache file; with no
    /// cache either it throws, naming the endpoints.
    package func start(source: ConfigSource) throws(ConfigError) -> Start {
        var resources: ResourceSet
        var fromCache = false
        do throws(EtcdError) {
            let range = try client.range(prefix: layout.rangePrefix)
            replace(with: range)
            resources = candidate()
            updateStatus {
                $0.up = true
                $0.endpoint = client.currentEndpoint.description
            }
        } catch {
            let endpoints = client.settings.endpoints.map(\.description).joined(separator: ", ")
            guard FileManager.default.fileExists(atPath: cache.path) else {
                let reason =
                    "cannot read the configuration from etcd (\(endpoints)): \(error.message); "
                    + "and there is no cache at \(cache.path) to start from: refusing to start"
                throw ConfigError(
                    code: .invalid,
                    issues: [ConfigIssue(path: "etcd.endpoints", line: nil, reason: reason)],
                    sourceName: source.sourceName,
                    cause: error
                )
            }
            do throws(AdminStoreError) {
                resources = try cache.load()
            } catch {
                throw ConfigError(
                    code: .invalid,
                    issues: [ConfigIssue(path: "etcd.cache_path", line: nil, reason: "\(error)")],
                    sourceName: source.sourceName
                )
            }
            fromCache = true
            logger.warning(
                "etcd unreachable (\(endpoints)): \(error.message); starting from the cache \(cache.path) (revision \(resources.revision)) and retrying in the background"
            )
            updateStatus {
                $0.up = false
                $0.fromCache = true
                $0.lastError = error.message
                $0.revision = resources.revision
                $0.endpoint = client.currentEndpoint.description
            }
        }
        let revision = resources.revision
        let outcome = try EtcdResourceFilter.filter(resources, lastGood: ResourceSet(), layout: layout) {
            set throws(ConfigError) in
            try ConfigLoader.read(source, overlay: ConfigReloader.overlay(set))
        }
        report(outcome.rejected)
        var served = outcome.resources
        served.revision = revision
        if !fromCache { writeCache(served) }
        return Start(resources: served, config: outcome.validated, fromCache: fromCache)
    }

    /// Records and logs the resources not served (each rejection once per change of its reason).
    package func report(_ rejected: [ConfigStoreStatus.Rejection]) {
        let previous = state.withLock { status -> [ConfigStoreStatus.Rejection] in
            defer { status.rejected = rejected }
            return status.rejected
        }
        for rejection in rejected where !previous.contains(rejection) {
            let what =
                rejection.reason == .unsupportedPlugin
                ? "not served: it uses a plugin or plugin setting this gateway does not support"
                : rejection.servingPrevious ? "rejected; its previous version keeps serving" : "rejected; not served"
            logger.error("etcd: \(rejection.key) \(what): \(rejection.detail)")
        }
    }
}
