import Synchronization
import Telemetry

/// Publishes the etcd configuration store's state as `gateway_config_store_*` metrics, read on the
/// scraping thread. Installed only when `config.store` is `etcd`.
enum ConfigStoreMetricsCollector {
    static func install(
        registry: MetricRegistry,
        settings: MetricsSettings,
        status: @escaping @Sendable () -> ConfigStoreStatus
    ) throws {
        guard settings.enabled else { return }
        let up = try registry.gauge(
            "gateway_config_store_up",
            help: "1 while the configuration store (etcd) answers and its watch is open, 0 while it is unreachable.",
            labelNames: []
        )
        let revision = try registry.gauge(
            "gateway_config_store_revision",
            help: "The etcd revision the served configuration reflects.",
            labelNames: []
        )
        let restarts = try registry.counter(
            "gateway_config_store_watch_restarts_total",
            help: "Times the etcd watch failed and was opened again (resuming from the last revision).",
            labelNames: []
        )
        let resyncs = try registry.counter(
            "gateway_config_store_resync_total",
            help:
                "Full reads of the etcd prefix: after compaction removed the revision to resume from, or a start from the cache.",
            labelNames: []
        )
        let rejected = try registry.gauge(
            "gateway_config_store_rejected_resources",
            help:
                "1 for each resource in etcd not served as written: invalid here, or using a plugin or plugin setting (_meta.filter, ...) this gateway does not support.",
            labelNames: ["kind", "id", "reason"]
        )
        let shown = Mutex<Set<[String]>>([])
        registry.addCollector {
            let current = status()
            try? up.handle([]).set(current.up ? 1 : 0)
            try? revision.handle([]).set(Double(current.revision))
            try? restarts.handle([]).setSharedTotal(Double(current.watchRestarts))
            try? resyncs.handle([]).setSharedTotal(Double(current.resyncs))
            let labels = Set(current.rejected.map { [$0.kind.rawValue, $0.id, $0.reason.rawValue] })
            let gone = shown.withLock { shown in
                defer { shown = labels }
                return shown.subtracting(labels)
            }
            for values in gone { _ = try? rejected.retire(labelValues: values) }
            for values in labels { try? rejected.handle(values).set(1) }
        }
    }
}
