/// What the etcd configuration store is doing, for `/status` (`config_store`) and the
/// `gateway_config_store_*` metrics.
package struct ConfigStoreStatus: Sendable, Equatable {
    /// A resource in etcd this gateway does not serve.
    package struct Rejection: Sendable, Equatable {
        /// Why: the value is invalid here, or names a plugin or a plugin setting (`_meta.filter`, ...) this
        /// gateway does not support.
        package enum Reason: String, Sendable {
            case invalid
            case unsupportedPlugin = "unsupported_plugin"
        }

        /// The etcd key, e.g. `/apisix/routes/1`.
        package var key: String
        package var kind: AdminResourceKind
        package var id: String
        package var reason: Reason
        /// Every problem found in it ("key.path: reason").
        package var detail: String
        /// Whether an earlier good version of it keeps serving.
        package var servingPrevious: Bool
    }

    /// `etcd` (only the etcd store reports a status).
    package var type = "etcd"
    /// Whether the last request to etcd succeeded and the watch is open.
    package var up = false
    /// The etcd revision the served resources reflect.
    package var revision: Int64 = 0
    /// The endpoint in use (or tried last).
    package var endpoint = ""
    package var watchRestarts: UInt64 = 0
    package var resyncs: UInt64 = 0
    /// Resources not served as written in etcd, by key.
    package var rejected: [Rejection] = []
    /// The last error talking to etcd ("" while up).
    package var lastError = ""
    /// Whether the served resources came from the cache file because etcd was unreachable at start (until
    /// the first resync).
    package var fromCache = false

    package init() {}
}
