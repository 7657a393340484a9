/// One upstream server: an IP literal or host name, a port and a weight.
package struct UpstreamNode: Sendable, Equatable {
    /// IP literal (IPv6 without brackets) or DNS name.
    package var host: String
    /// TCP port.
    package var port: UInt16
    /// Relative share of requests; 0 disables the node without removing it.
    package var weight: Int
    /// The address as written in the config ("host:port"); the node's label in metrics and `/status`.
    package var address: String
    /// Socket addresses filled in by ``ConfigLoader`` through ``resolve()``; empty until then.
    package var resolved: [ResolvedAddress] = []

    package init(host: String, port: UInt16, weight: Int, address: String? = nil) {
        self.host = host
        self.port = port
        self.weight = weight
        self.address = address ?? HostPort.format(host: host, port: port)
    }
}

/// A resolved socket address: the raw bytes of a `sockaddr_in` or `sockaddr_in6`.
package struct ResolvedAddress: Sendable, Hashable, CustomStringConvertible {
    /// `AF_INET` or `AF_INET6`.
    package var family: Int32
    /// The sockaddr structure's bytes, ready to pass to `connect` with `bytes.count` as its length.
    package var bytes: [UInt8]
    /// Numeric "ip:port" form, for logs and `/status`.
    package var description: String

    package init(family: Int32, bytes: [UInt8], description: String) {
        self.family = family
        self.bytes = bytes
        self.description = description
    }
}
