import Synchronization
import Telemetry

/// Publishes `gateway_tls_certificate_expiry_timestamp_seconds{ssl_id, sni}` for the certificates of the
/// plan serving new connections (`ssls` entries, and upstream client certificates as
/// `ssl_id="upstream/<id>"`, `sni=""`), read on the scraping thread. Series of certificates a reload removed
/// are shown once more, then dropped.
enum TLSMetricsCollector {
    static func install(
        registry: MetricRegistry,
        settings: MetricsSettings,
        plan: @escaping @Sendable () -> ProxyPlan
    ) throws {
        guard settings.enabled else { return }
        let expiry = try registry.gauge(
            "gateway_tls_certificate_expiry_timestamp_seconds",
            help:
                "notAfter of each configured certificate as Unix seconds, per ssls entry and server name (the earliest of an entry's certificates).",
            labelNames: ["ssl_id", "sni"]
        )
        let shown = Mutex<Set<[String]>>([])
        registry.addCollector {
            var current: [[String]: Double] = [:]
            let serving = plan()
            for (index, context) in serving.upstreamTLS.enumerated() {
                // Upstream client certificates (mTLS to the nodes) expire too.
                guard let context, context.clientCertificateExpiry > 0, index < serving.upstreamCount,
                    serving.isLive(upstream: index),
                    index < serving.upstreamIDs.count
                else { continue }
                current[["upstream/" + serving.upstreamIDs[index], ""]] = Double(context.clientCertificateExpiry)
            }
            for entry in serving.tls?.entries ?? [] {
                guard let earliest = entry.expiries.min() else { continue }
                // An entry without server names (a default certificate) still gets its series.
                for sni in entry.snis.isEmpty ? [""] : entry.snis {
                    current[[entry.id, sni]] = Double(earliest)
                }
            }
            let gone = shown.withLock { shown in
                defer { shown = Set(current.keys) }
                return shown.subtracting(current.keys)
            }
            for labels in gone { _ = try? expiry.retire(labelValues: labels) }
            for (labels, value) in current { try? expiry.handle(labels).set(value) }
        }
    }
}
