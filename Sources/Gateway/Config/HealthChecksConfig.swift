/// Active and passive health checks of an upstream's nodes, in APISIX's `checks` shape.
package struct HealthChecksConfig: Sendable, Equatable {
    /// Probes the gateway sends to each node on a timer; `nil` when not configured.
    package var active: ActiveHealthCheck?
    /// Judgement from real traffic; `nil` when not configured.
    package var passive: PassiveHealthCheck?

    package init(active: ActiveHealthCheck? = nil, passive: PassiveHealthCheck? = nil) {
        self.active = active
        self.passive = passive
    }
}

/// `checks.active`: periodic probes, off the workers.
package struct ActiveHealthCheck: Sendable, Equatable {
    /// What a probe does.
    package enum Kind: String, Sendable, Equatable, CaseIterable {
        /// `GET http_path`; the status decides.
        case http
        /// Connect only.
        case tcp
        /// A TLS handshake, then the `http` probe over it; a failed handshake counts as a failed connect.
        case https
    }

    /// When a node is healthy: how often it is probed and what brings an unhealthy node back.
    package struct Healthy: Sendable, Equatable {
        /// Time between probes of a healthy node.
        package var interval: Duration = .seconds(1)
        /// Consecutive successful probes that make an unhealthy node healthy.
        package var successes: Int = 2
        /// Statuses that count as a success.
        package var httpStatuses: [Int] = [200, 302]

        package init() {}
    }

    /// When a node is unhealthy: how often it is probed and what makes a healthy node unhealthy.
    package struct Unhealthy: Sendable, Equatable {
        /// Time between probes of an unhealthy node.
        package var interval: Duration = .seconds(1)
        /// Consecutive probes answered with a status in ``httpStatuses``.
        package var httpFailures: Int = 5
        /// Consecutive probes that could not connect.
        package var tcpFailures: Int = 2
        /// Consecutive probes that timed out.
        package var timeouts: Int = 3
        /// Statuses that count as a failure.
        package var httpStatuses: [Int] = [429, 404, 500, 501, 502, 503, 504, 505]

        package init() {}
    }

    package var type: Kind = .http
    /// Request target of an `http` probe.
    package var httpPath: String = "/"
    /// `Host` header of an `http` probe; `nil` sends the node's address.
    package var host: String?
    /// Port probed instead of the node's own.
    package var port: UInt16?
    /// Time allowed for one probe (connect, TLS handshake, send, first response line).
    package var timeout: Duration = .seconds(1)
    /// Probes in flight at once for this upstream; `nil` means one per node.
    package var concurrency: Int?
    /// `https_verify_certificate`: an `https` probe verifies the node's certificate (never more strictly
    /// than the upstream's own `tls.verify`).
    package var verifyCertificate = true
    package var healthy: Healthy = Healthy()
    package var unhealthy: Unhealthy = Unhealthy()

    package init() {}
}

/// `checks.passive`: outcomes of real requests, counted by each worker.
package struct PassiveHealthCheck: Sendable, Equatable {
    /// What brings an unhealthy node back.
    package struct Healthy: Sendable, Equatable {
        /// Statuses that count as a success.
        package var httpStatuses: [Int] = Array(200...299)
        /// Consecutive successes that make an unhealthy node healthy.
        package var successes: Int = 5

        package init() {}
    }

    /// What makes a healthy node unhealthy.
    package struct Unhealthy: Sendable, Equatable {
        /// Statuses that count as a failure.
        package var httpStatuses: [Int] = [429, 500, 503]
        /// Consecutive responses with a status in ``httpStatuses``.
        package var httpFailures: Int = 5
        /// Consecutive connect failures.
        package var tcpFailures: Int = 2
        /// Consecutive timeouts.
        package var timeouts: Int = 7

        package init() {}
    }

    /// Accepted for APISIX compatibility; both kinds count the same outcomes here.
    package var type: ActiveHealthCheck.Kind = .http
    package var healthy: Healthy = Healthy()
    package var unhealthy: Unhealthy = Unhealthy()

    package init() {}
}
