import AccessLog
import Foundation
import Glibc
import Telemetry
import Tracing

/// Everything the workers record into, built once at start-up from the configuration: the metric
/// families and, when enabled, the access logger with route and node names interned for records.
package final class GatewayObservability: Sendable {
    package let registry: MetricRegistry
    package let metrics: GatewayMetrics
    package let accessLogger: AccessLogger?
    /// The OTLP span exporter (`tracing.otlp`); nil exports nothing.
    package let spanExporter: SpanExporter?
    /// Per route (index = route), then one more for "no route".
    package let routeSymbols: [AccessLogSymbol]
    /// Per node.
    package let nodeSymbols: [AccessLogSymbol]

    package init(
        plan: ProxyPlan,
        engine: EngineKind,
        registry: MetricRegistry? = nil,
        accessLog: Bool = true
    ) throws {
        // One shard per worker, plus room for a reload's new workers.
        let cores = max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))))
        let workers = plan.config.workers > 0 ? plan.config.workers : cores
        let registry = registry ?? MetricRegistry(writerCapacity: workers * 2 + 2)
        self.registry = registry
        // With `metrics.enabled: false` the request families live in a registry nobody scrapes, so
        // `/metrics` shows no misleading zero series, and workers skip recording altogether.
        let requestRegistry =
            plan.config.metrics.enabled ? registry : MetricRegistry(writerCapacity: workers * 2 + 2)
        metrics = try GatewayMetrics(registry: requestRegistry, plan: plan)
        _ = try ProcessMetrics.register(in: registry)
        try registry.buildInfo(
            "gateway_build_info",
            help: "Build information; the value is always 1.",
            labels: [
                "version": GatewayVersion.string, "config_hash": plan.config.sourceHash, "engine": engine.rawValue,
            ]
        )
        spanExporter = try Self.spanExporter(plan.config.tracing)
        if let spanExporter { try TracingMetricsCollector.install(exporter: spanExporter, registry: registry) }
        let settings = plan.config.accessLog
        guard settings.enabled && accessLog else {
            accessLogger = nil
            routeSymbols = []
            nodeSymbols = []
            return
        }
        var configuration = Self.configuration(settings)
        // TLS and trace fields join the line only where something can fill them: plain gateways keep
        // today's line.
        configuration.fields = AccessLogField.defaultFields(
            tls: plan.config.hasTLSListener,
            tracing: plan.config.tracing.enabled
        )
        let logger = try AccessLogger(configuration: configuration)
        routeSymbols = try plan.routeIDs.map { id throws(AccessLogError) in try logger.register(id) } + [.none]
        nodeSymbols = try (0..<plan.nodeCount).map { node throws(AccessLogError) in
            let entry = plan.nodes[node]
            return try logger.register(String(decoding: plan.arena(entry.hostOffset, entry.hostLength), as: UTF8.self))
        }
        accessLogger = logger
        try AccessLogStatsCollector.install(logger: logger, registry: registry)
    }

    /// The exporter `tracing.otlp` asks for (not started), or nil.
    static func spanExporter(_ settings: TracingSettings) throws -> SpanExporter? {
        guard let configuration = try SpanExporterConfiguration(settings) else { return nil }
        return try SpanExporter(configuration: configuration)
    }

    /// Maps `access_log:` settings onto the AccessLog library's configuration.
    static func configuration(_ settings: AccessLogSettings) -> AccessLogConfiguration {
        let destination: AccessLogConfiguration.Destination
        var baseName = "access"
        if settings.path == "-" || settings.path == "stdout" {
            destination = .standardOutput
        } else {
            let url = URL(fileURLWithPath: settings.path)
            var name = url.lastPathComponent
            for suffix in [".zst", ".log"] where name.hasSuffix(suffix) { name = String(name.dropLast(suffix.count)) }
            if !name.isEmpty { baseName = name }
            let directory = url.deletingLastPathComponent().path
            try? FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            destination = .directory(directory)
        }
        let format: AccessLogFormat
        switch settings.format {
        case .json: format = .json
        case .combined: format = .combined
        case .logfmt: format = .logfmt
        }
        var configuration = AccessLogConfiguration(destination: destination, baseName: baseName, format: format)
        switch settings.compression {
        case .zstd: configuration.compression = .zstd(level: Int32(settings.level))
        case .none: configuration.compression = .none
        }
        configuration.flushInterval = Double(settings.flushInterval.nanoseconds) / 1e9
        if let size = settings.rotateSize { configuration.maxFileSize = Int(size) }
        if let age = settings.rotateAge { configuration.maxAge = Double(age.nanoseconds) / 1e9 }
        if let retain = settings.retain { configuration.retention = retain }
        return configuration
    }
}
