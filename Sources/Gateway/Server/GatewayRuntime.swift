import AccessLog
import Foundation
import Glibc
import Logging
import Telemetry
import Tracing

/// A whole gateway in one process: engine choice, workers, access log and control plane, wired from
/// one configuration. `gateway run` is this plus signal handling; tests run it in-process.
public final class GatewayRuntime: @unchecked Sendable {
    public let config: GatewayConfig
    public let plan: ProxyPlan
    public let engine: EngineSelection
    package let observability: GatewayObservability
    package let server: GatewayServer
    private let logger: Logger
    private var controlServer: ControlServer?
    /// Validates, compiles and publishes new configurations (SIGHUP, file changes, Admin API).
    package let reloader: ConfigReloader
    private var watcher: ConfigFileWatcher?
    private var adminServer: ControlServer?
    /// The etcd store and its watch thread (`config.store: etcd`).
    private let etcd: EtcdConfigStore?
    private let etcdSync: EtcdConfigSync?

    /// Chooses the engine (logging why under `auto` when io_uring is unavailable) and sets up metrics
    /// and, when `accessLog` is on and configured, the access log. Binds nothing yet. With
    /// `configPath`, SIGHUP (and, under `config.watch`, a change of the file) reloads it.
    /// `loaded` (from ``load(_:)``) carries the source and Admin API resources `plan` was compiled from;
    /// without it the Admin API and Admin-resource reloads are unavailable.
    package init(
        plan: ProxyPlan,
        logger: Logger,
        accessLog: Bool = true,
        configPath: String? = nil,
        loaded: LoadedConfiguration? = nil
    ) throws {
        self.config = plan.config
        self.plan = plan
        self.logger = logger
        engine = try EngineSelection.resolve(plan.config.engine)
        if let reason = engine.fallbackReason {
            logger.warning("io_uring is unavailable (\(reason)): using the epoll engine")
        }
        // The same lines a reload logs: an expired certificate is named at start, key path first.
        for warning in ConfigReloader.labelled(
            plan.config.warnings,
            in: plan.config,
            resources: loaded?.resources ?? ResourceSet()
        ) {
            logger.warning("config warning (start): \(warning)")
        }
        observability = try GatewayObservability(plan: plan, engine: engine.kind, accessLog: accessLog)
        let server = GatewayServer(plan: plan, logger: logger, engine: engine, observability: observability)
        self.server = server
        let registry = observability.registry
        reloader = ConfigReloader(
            path: configPath,
            base: loaded?.source,
            resources: loaded?.resources ?? ResourceSet(),
            store: loaded?.store,
            publisher: server.publisher,
            healthController: server.healthController,
            logger: logger,
            onReload: { [observability, logger] previous, next in
                Self.retireSeries(of: previous, missingFrom: next, in: registry)
                Self.reconfigureTracing(observability.spanExporter, from: previous.config, to: next.config, logger)
            }
        )
        let reloader = reloader
        server.onHangUp = { reloader.requestReloadFromFile(trigger: "SIGHUP") }
        try ConfigMetricsCollector.install(registry: registry, settings: plan.config.metrics) { reloader.status }
        try TLSMetricsCollector.install(registry: registry, settings: plan.config.metrics) { reloader.current }
        etcd = loaded?.etcd
        if let etcd {
            etcdSync = EtcdConfigSync(store: etcd, reloader: reloader, logger: logger)
            try ConfigStoreMetricsCollector.install(registry: registry, settings: plan.config.metrics) { etcd.status }
        } else {
            etcdSync = nil
        }
        if let configPath, plan.config.reload.watch {
            watcher = ConfigFileWatcher(path: configPath, reloader: reloader, logger: logger)
        }
    }

    /// Metric series of routes, upstreams and node addresses a reload removed: shown by one more
    /// scrape, then dropped (what survives keeps counting).
    private static func retireSeries(of previous: ProxyPlan, missingFrom next: ProxyPlan, in registry: MetricRegistry) {
        func live(_ plan: ProxyPlan) -> (routes: Set<String>, upstreams: Set<String>, nodes: Set<String>) {
            let routes = (0..<plan.routeCount).filter { plan.isLive(route: $0) }.map { plan.routeIDs[$0] }
            let upstreams = (0..<plan.upstreamCount).filter { plan.isLive(upstream: $0) }.map { plan.upstreamIDs[$0] }
            let nodes = (0..<plan.nodeCount).filter { plan.isLive(node: $0) }.map { plan.nodeAddresses[$0] }
            return (Set(routes), Set(upstreams), Set(nodes))
        }
        let before = live(previous)
        let after = live(next)
        _ = registry.retireSeries(label: "route", values: before.routes.subtracting(after.routes))
        _ = registry.retireSeries(label: "upstream", values: before.upstreams.subtracting(after.upstreams))
        _ = registry.retireSeries(label: "node", values: before.nodes.subtracting(after.nodes))
    }

    /// A reload that changed `tracing.otlp`, `tracing.service_name` or `tracing.resource_attributes`:
    /// the running exporter takes the new configuration on its own thread (queued spans leave by the
    /// old one first). Called on the reload thread, never on a worker.
    private static func reconfigureTracing(
        _ exporter: SpanExporter?,
        from previous: GatewayConfig,
        to next: GatewayConfig,
        _ logger: Logger
    ) {
        guard let exporter, previous.tracing != next.tracing else { return }
        do {
            guard let configuration = try SpanExporterConfiguration(next.tracing),
                configuration != exporter.configuration
            else { return }
            try exporter.reconfigure(configuration)
            logger.info(
                "tracing: spans now exported to \(configuration.endpoint) (service.name \(configuration.serviceName))"
            )
        } catch {
            logger.error("tracing: the new exporter configuration was not applied: \(error)")
        }
    }

    /// The data-plane addresses bound by ``prepare()`` (port 0 resolved).
    public var boundAddresses: [SocketAddress] { server.boundAddresses }

    /// The control-plane address, once ``prepare()`` has bound it.
    public var controlAddress: SocketAddress? { controlServer?.address }

    /// Binds the listeners, starts the access-log thread and the control plane. On failure, stops what it
    /// had started (threads, the collectors' references) before throwing.
    public func prepare() throws {
        do {
            try startServices()
        } catch {
            finish()
            throw error
        }
    }

    private func startServices() throws {
        try server.prepare()
        if let accessLogger = observability.accessLogger {
            try accessLogger.start()
            accessLogger.handleReopenSignal(SIGUSR1)
            logger.info(
                "access log: \(config.accessLog.path) (\(config.accessLog.format.rawValue)); SIGUSR1 reopens it"
            )
        }
        if let exporter = observability.spanExporter {
            try exporter.start()
            logger.info(
                "tracing: spans exported to \(exporter.configuration.endpoint) (sampling_ratio \(config.tracing.samplingRatio))"
            )
        }
        if let listen = config.control.listen {
            guard let address = SocketAddress(host: listen.host, port: listen.port) else {
                throw EngineError(code: .bind, message: "control.listen: '\(listen.host)' is not an IP address")
            }
            let healthController = server.healthController
            let reloader = reloader
            let plane = ControlPlane(
                plan: plan,
                control: server.control,
                engine: engine,
                health: { healthController.snapshot() },
                panics: { healthController.panics() },
                metrics: ControlPlane.metricsRenderer(for: observability.registry),
                current: { reloader.current },
                reloads: { reloader.status },
                traffic: TrafficSampler(registry: observability.registry),
                configStore: { [etcd] in etcd?.status }
            )
            let control = try ControlServer(address: address, engine: engine.kind) { plane.handle($0) }
            try control.start()
            controlServer = control
            logger.info("control plane on \(control.address): /metrics /healthz /readyz /status")
        }
        try startAdmin()
        reloader.startReloadThread()
        watcher?.start()
        etcdSync?.start()
        if let etcd {
            logger.info("config store: \(etcd.client.settings) (cache \(etcd.cache.path))")
        }
    }

    /// The Admin API on its own listener (`admin.listen`), serving through the reload path.
    private func startAdmin() throws {
        guard let listen = config.admin.listen else { return }
        guard let address = SocketAddress(host: listen.host, port: listen.port) else {
            throw EngineError(code: .bind, message: "admin.listen: '\(listen.host)' is not an IP address")
        }
        let reloader = reloader
        // With etcd, the watch changes the resources too: the API reads and writes from what is in force.
        var live: (@Sendable () -> ResourceSet)?
        if etcd != nil { live = { @Sendable in reloader.resources } }
        let api = AdminAPI(
            keys: config.admin.keys,
            allow: config.admin.allow,
            fileName: reloader.path ?? "the command line",
            fileResources: { reloader.fileResources },
            initial: reloader.resources,
            apply: { reloader.applyResources($0) },
            now: { Int64(Date().timeIntervalSince1970) },
            live: live
        )
        let server = try ControlServer(address: address, engine: engine.kind, lowPriority: true) { request in
            api.handle(request, peer: request.peer?.addressBytes ?? [])
        }
        try server.start()
        adminServer = server
        logger.info("admin API on \(server.address): /apisix/admin/ (\(config.admin.keys.count) keys)")
    }

    /// Serves until SIGTERM or SIGINT, drains, then stops the access log and control plane.
    public func runUntilSignalled() throws {
        defer { finish() }
        try server.run()
    }

    /// Starts the workers and returns once every one serves (for running a gateway inside a test).
    public func start() throws {
        try server.start()
        try server.waitUntilRunning()
    }

    /// Drains the workers, then stops the access log and the control plane.
    public func stop() {
        server.stop()
        finish()
    }

    private func finish() {
        etcdSync?.stop()
        watcher?.stop()
        reloader.stopReloadThread()
        adminServer?.stop()
        adminServer = nil
        // Workers have stopped: everything they logged is in the rings; write it and close the frame.
        observability.accessLogger?.shutdown()
        observability.spanExporter?.shutdown()
        controlServer?.stop()
        controlServer = nil
        // No scrape can come now: let go of the collectors, whose captures lead back to the registry.
        observability.registry.removeCollectors()
    }
}
