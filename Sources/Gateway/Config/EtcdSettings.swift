/// Where the fleet's configuration lives when `config.store` is `etcd` (key `etcd:`, APISIX's
/// `deployment.etcd` names).
///
/// Process-level: a change needs a restart. ``password`` is a secret and is never logged.
package struct EtcdSettings: Sendable, Equatable {
    /// One etcd member's HTTP/JSON gateway (`http://host:port` or `host:port`).
    package struct Endpoint: Sendable, Equatable, CustomStringConvertible {
        package var host: String
        package var port: Int

        package init(host: String, port: Int) {
            self.host = host
            self.port = port
        }

        /// `http://host:port`, as logs and `/status` show it.
        package var description: String {
            host.contains(":") ? "http://[\(host)]:\(port)" : "http://\(host):\(port)"
        }
    }

    /// The members, tried in turn (`etcd.endpoints`, default `["http://127.0.0.1:2379"]`).
    package var endpoints: [Endpoint] = [Endpoint(host: "127.0.0.1", port: 2379)]
    /// The key prefix every resource lives under (`etcd.prefix`, default `/apisix`), without a trailing `/`.
    package var prefix: String = "/apisix"
    /// How long one request may take, and how long start waits for etcd (`etcd.timeout`, default 30 s).
    package var timeout: Duration = .seconds(30)
    /// User and password for etcd's authentication (`etcd.user`, `etcd.password`); none by default.
    package var user: String?
    package var password: String?
    /// Where the last applied resources are cached for a start without etcd (`etcd.cache_path`).
    package var cachePath: String = "data/etcd-cache.json"
    /// How APISIX's encrypted plugin fields are read and written (`etcd.data_encryption`).
    package var dataEncryption = EtcdDataEncryption()

    package init() {}
}

extension EtcdSettings: CustomStringConvertible {
    /// The settings without the password.
    package var description: String {
        let auth = user.map { ", user \($0)" } ?? ""
        return "etcd \(endpoints.map(\.description).joined(separator: ",")) prefix \(prefix)\(auth)"
    }
}
