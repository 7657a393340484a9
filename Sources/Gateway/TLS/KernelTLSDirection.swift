/// Which half of a connection a `crypto_info` protects: the `SOL_TLS` option it is installed with.
package enum KernelTLSDirection: Int32, Sendable, CaseIterable {
    /// Records this side sends (`TLS_TX`).
    case transmit = 1
    /// Records this side receives (`TLS_RX`).
    case receive = 2

    /// Whether this direction uses the server's write keys: a server transmits with them, a client receives.
    package func usesServerKeys(as role: KernelTLSRole) -> Bool {
        (role == .server) == (self == .transmit)
    }
}

/// Which end of the TLS session the gateway is: a server on listeners, a client to upstreams.
package enum KernelTLSRole: Sendable, CaseIterable {
    case server
    case client
}
