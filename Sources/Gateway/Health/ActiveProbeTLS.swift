/// Chooses the TLS client context of an upstream's `checks.active.type: https` probes.
///
/// A probe asks whether the node can serve the traffic the gateway sends it, so it uses the same TLS
/// settings as that traffic: an `https` upstream's own context (CA, SNI, client certificate, versions).
/// `https_verify_certificate: false` only relaxes verification; it never makes a probe verify what the
/// traffic does not (`tls.verify: false`), which would eject nodes that serve requests fine.
package enum ActiveProbeTLS {
    /// The context for `upstream`'s probes; `nil` unless its active check is `https`.
    ///
    /// - Parameters:
    ///   - upstream: The upstream as configured; its `tls:` block is read even with `scheme: http`.
    ///   - upstreamContext: The plan's context of an `https` upstream (reused when verification agrees).
    ///   - settings: The process's `tls:` protocol settings.
    /// - Throws: ``TLSError`` when OpenSSL refuses the context (out of memory; every setting was checked
    ///   when the configuration was read).
    package static func context(
        for upstream: UpstreamConfig,
        upstreamContext: TLSClientContext?,
        settings: TLSSettings
    ) throws(TLSError) -> TLSClientContext? {
        guard let check = upstream.checks?.active, check.type == .https else { return nil }
        var tls = upstream.tls
        tls.verify = tls.verify && check.verifyCertificate
        if upstream.scheme == .https, let upstreamContext, upstreamContext.verify == tls.verify {
            return upstreamContext
        }
        return try TLSClientContext(tls, settings: settings, serverName: serverName(upstream, check))
    }

    /// The name sent and verified. An `https` upstream's is its traffic's (`tls.sni`, else `upstream_host`
    /// with `pass_host: rewrite`, as ``ProxyPlan`` builds it). An `http` upstream's traffic has none, so
    /// `tls.sni`, else the host name of the probe's `host` (APISIX's checker sends its Host as SNI), else
    /// of `upstream_host` with `pass_host: rewrite`. `nil`: the node's IP address is verified.
    static func serverName(_ upstream: UpstreamConfig, _ check: ActiveHealthCheck) -> String? {
        if let sni = upstream.tls.sni { return sni }
        let rewrite = upstream.passHost == .rewrite ? upstream.upstreamHost : nil
        if upstream.scheme == .https { return rewrite }
        for candidate in [check.host, rewrite] {
            guard let candidate, let name = try? HostPort.split(candidate, defaultPort: 443).host else { continue }
            if HostPort.isHostname(name) && !IPAddress.isIPv4(name) { return name }
        }
        return nil
    }
}
