/// A local address to listen on: an IPv4 or IPv6 literal, or `localhost`, and a port; for the data plane
/// also whether the listener speaks TLS and HTTP/2.
package struct ListenAddress: Sendable, Hashable, CustomStringConvertible {
    /// The host as written, without IPv6 brackets ("127.0.0.1", "::1", "localhost"); ":8080" gives "0.0.0.0".
    package var host: String
    /// The port; 0 lets the kernel pick one (useful in tests).
    package var port: UInt16
    /// Connections start with a TLS handshake (`listen: [{address, tls: true}]`).
    package var tls = false
    /// HTTP/2 is offered (ALPN `h2` with TLS, prior-knowledge h2c without).
    package var http2 = false

    package init(host: String, port: UInt16, tls: Bool = false, http2: Bool = false) {
        self.host = host
        self.port = port
        self.tls = tls
        self.http2 = http2
    }

    /// Whether both name the same socket address, whatever their protocols.
    package func sameSocket(as other: ListenAddress) -> Bool {
        host == other.host && port == other.port
    }

    /// Parses "127.0.0.1:8080", "0.0.0.0:80", "[::1]:8080", ":8080" (all IPv4 interfaces) or "localhost:8080".
    package init(parsing text: String) throws(AddressError) {
        if text.hasPrefix(":") && !text.hasPrefix("::") {
            self.init(host: "0.0.0.0", port: try HostPort.port(String(text.dropFirst())))
            return
        }
        let (host, port) = try HostPort.split(text, defaultPort: nil)
        guard host == "localhost" || IPAddress.isIPv4(host) || IPAddress.isIPv6(host) else {
            throw AddressError("listen host must be an IPv4 or IPv6 literal or localhost, not \"\(host)\"")
        }
        self.init(host: host, port: port)
    }

    /// "host:port", with brackets around IPv6 hosts.
    package var description: String {
        HostPort.format(host: host, port: port)
    }

    /// Whether ``host`` is an IPv6 literal.
    package var isIPv6: Bool {
        IPAddress.isIPv6(host)
    }
}

/// Why a "host:port" string was rejected.
package struct AddressError: Error, Sendable, Equatable {
    /// What is wrong, phrased to follow the key path in a config issue.
    package var reason: String

    package init(_ reason: String) {
        self.reason = reason
    }
}
