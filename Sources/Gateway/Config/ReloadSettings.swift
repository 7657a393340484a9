/// How the configuration file is followed while the gateway runs (key `config:`).
package struct ReloadSettings: Sendable, Equatable {
    /// Where the resources created through the Admin API live (`config.store`).
    package enum Store: String, Sendable, Equatable, CaseIterable {
        /// A local JSON file, `admin.data_path` (the default).
        case file
        /// etcd in APISIX's key layout (the `etcd:` section); shared by a fleet of gateways.
        case etcd
    }

    /// Whether a change of the configuration file triggers a reload (`config.watch`, default true).
    package var watch: Bool = true
    /// Where Admin API resources are stored and read from (`config.store`, default `file`).
    package var store: Store = .file

    package init() {}
}
