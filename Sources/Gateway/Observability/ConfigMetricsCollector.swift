import Synchronization
import Telemetry

/// Publishes what the reload path did as `gateway_config_*` metrics, read on the scraping thread.
enum ConfigMetricsCollector {
    static func install(
        registry: MetricRegistry,
        settings: MetricsSettings,
        status: @escaping @Sendable () -> ConfigReloadStatus
    ) throws {
        guard settings.enabled else { return }
        let reloads = try registry.counter(
            "gateway_config_reloads_total",
            help: "Configuration reloads (SIGHUP, file change, Admin API write), by result: success or failure.",
            labelNames: ["result"]
        )
        let lastSuccess = try registry.gauge(
            "gateway_config_last_reload_success_timestamp_seconds",
            help: "When the configuration in use was loaded: at start, or by the last successful reload.",
            labelNames: []
        )
        let generation = try registry.gauge(
            "gateway_config_generation",
            help: "Generation of the configuration serving new requests: 0 at start, one more per successful reload.",
            labelNames: []
        )
        let successful = try registry.gauge(
            "gateway_config_last_reload_successful",
            help: "1 when the latest reload attempt succeeded (or none was made), 0 when it was rejected.",
            labelNames: []
        )
        let info = try registry.gauge(
            "gateway_config_info",
            help: "1 for the hash (FNV-1a 64) of the configuration in use.",
            labelNames: ["hash"]
        )
        let shownHash = Mutex<String?>(nil)
        registry.addCollector {
            let current = status()
            try? reloads.handle(["success"]).setSharedTotal(Double(current.successes))
            try? reloads.handle(["failure"]).setSharedTotal(Double(current.failures))
            try? lastSuccess.handle([]).set(current.lastSuccess.timeIntervalSince1970)
            try? generation.handle([]).set(Double(current.generation))
            try? successful.handle([]).set(current.lastAttemptSucceeded ? 1 : 0)
            let previous = shownHash.withLock { shown in
                defer { shown = current.hash }
                return shown
            }
            if let previous, previous != current.hash {
                // Shown once more at 0, then gone.
                try? info.handle([previous]).set(0)
                _ = try? info.retire(labelValues: [previous])
            }
            try? info.handle([current.hash]).set(1)
        }
    }
}
