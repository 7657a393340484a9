import AccessLog
import Glibc
import Logging

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

    /// Chooses the engine (logging why under `auto` when io_uring is unavailable) and sets up metrics
    /// and, when `accessLog` is on and configured, the access log. Binds nothing yet.
    public init(plan: ProxyPlan, logger: Logger, accessLog: Bool = true) throws {
        self.config = plan.config
        self.plan = plan
        self.logger = logger
        engine = try EngineSelection.resolve(plan.config.engine)
        if let reason = engine.fallbackReason {
            logger.warning("io_uring is unavailable (\(reason)): using the epoll engine")
        }
        observability = try GatewayObservability(plan: plan, engine: engine.kind, accessLog: accessLog)
        server = GatewayServer(plan: plan, logger: logger, engine: engine, observability: observability)
    }

    /// The data-plane addresses bound by ``prepare()`` (port 0 resolved).
    public var boundAddresses: [SocketAddress] { server.boundAddresses }

    /// The control-plane address, once ``prepare()`` has bound it.
    public var controlAddress: SocketAddress? { controlServer?.address }

    /// Binds the listeners, starts the access-log thread and the control plane.
    public func prepare() throws {
        try server.prepare()
        if let accessLogger = observability.accessLogger {
            try accessLogger.start()
            accessLogger.handleReopenSignal(SIGUSR1)
            logger.info(
                "access log: \(config.accessLog.path) (\(config.accessLog.format.rawValue)); SIGUSR1 reopens it"
            )
        }
        if let listen = config.control.listen {
            guard let address = SocketAddress(host: listen.host, port: listen.port) else {
                throw EngineError(code: .bind, message: "control.listen: '\(listen.host)' is not an IP address")
            }
            let healthController = server.healthController
            let plane = ControlPlane(
                plan: plan,
                control: server.control,
                engine: engine,
                health: { healthController.snapshot() },
                panics: { healthController.panics() },
                metrics: ControlPlane.metricsRenderer(for: observability.registry)
            )
            let control = try ControlServer(address: address, engine: engine.kind) { plane.handle($0) }
            try control.start()
            controlServer = control
            logger.info("control plane on \(control.address): /metrics /healthz /readyz /status")
        }
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
        // Workers have stopped: everything they logged is in the rings; write it and close the frame.
        observability.accessLogger?.shutdown()
        controlServer?.stop()
        controlServer = nil
    }
}
