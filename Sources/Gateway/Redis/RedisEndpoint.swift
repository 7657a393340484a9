/// One Redis server a rate-limit plugin counts in: where it is and how a connection to it starts.
///
/// Two plugins configured with the same endpoint share each worker's connection to it.
package struct RedisEndpoint: Sendable, Hashable, CustomStringConvertible {
    /// The host as configured (an IP address or a name resolved when the configuration is compiled).
    package var host: String
    package var port: UInt16
    /// `AUTH username password` when both are set, `AUTH password` with only a password.
    package var username: String?
    package var password: String?
    /// `SELECT database` when not 0.
    package var database: Int
    /// How long a connect, and a request's wait for its answer, may take (nanoseconds).
    package var timeout: UInt64

    package init(
        host: String,
        port: UInt16 = 6379,
        username: String? = nil,
        password: String? = nil,
        database: Int = 0,
        timeout: UInt64 = 1_000_000_000
    ) {
        self.host = host
        self.port = port
        self.username = username
        self.password = password
        self.database = database
        self.timeout = timeout
    }

    /// "host:port/database", never the password.
    package var description: String { "\(host):\(port)/\(database)" }
}
