import Logging

/// What `gateway run` starts from: the configuration (the file or flags, plus the resources created
/// through the Admin API), the source it was read from, and the store those resources live in.
package struct LoadedConfiguration: Sendable {
    package let config: GatewayConfig
    package let source: ConfigSource
    package let resources: ResourceSet
    package let store: (any ResourceStore)?
    /// The etcd store when `config.store` is `etcd` (also ``store``).
    package var etcd: EtcdConfigStore?

    /// Validates `source`; with `admin.listen` set, loads the Admin API's store (`admin.data_path`) and
    /// validates the file and those resources together. A store that cannot be read, or resources that
    /// no longer fit the file, are errors: the gateway does not start without them.
    ///
    /// With `config.store: etcd` the resources come from etcd (or its cache when etcd is unreachable; see
    /// ``EtcdConfigStore/start(source:)``), whether or not the Admin API is on.
    package static func load(
        _ source: ConfigSource,
        logger: Logger = Logger(label: "gateway")
    ) throws(ConfigError)
        -> LoadedConfiguration
    {
        let fileOnly = try ConfigLoader.read(source)
        if fileOnly.reload.store == .etcd {
            let etcd = EtcdConfigStore(settings: fileOnly.etcd, logger: logger)
            let start = try etcd.start(source: source)
            var loaded = LoadedConfiguration(
                config: start.config,
                source: source,
                resources: start.resources,
                store: etcd
            )
            loaded.etcd = etcd
            return loaded
        }
        guard fileOnly.admin.listen != nil else {
            return LoadedConfiguration(config: fileOnly, source: source, resources: ResourceSet(), store: nil)
        }
        let store = FileResourceStore(path: fileOnly.admin.dataPath)
        let resources: ResourceSet
        do throws(AdminStoreError) {
            resources = try store.load()
        } catch {
            let issue = ConfigIssue(path: "admin.data_path", line: nil, reason: "\(error)")
            throw ConfigError(code: .invalid, issues: [issue], sourceName: source.sourceName)
        }
        let config = try ConfigLoader.read(source, overlay: ConfigReloader.overlay(resources))
        return LoadedConfiguration(config: config, source: source, resources: resources, store: store)
    }
}
