import CLiburing
import Glibc
import Logging
import Synchronization

/// Starts the workers for a configuration, waits for SIGTERM/SIGINT, drains, and stops.
public final class GatewayServer: @unchecked Sendable {
    package let plan: ProxyPlan
    package let control: WorkerControl
    /// The I/O engine every worker runs on.
    public let engine: EngineSelection
    private let logger: Logger
    /// Bound listening sockets, one list per worker.
    private var listeners: [[Int32]] = []
    /// The addresses actually bound (port 0 resolved).
    public private(set) var boundAddresses: [SocketAddress] = []
    private var threads: [pthread_t] = []
    private let failures = StartupFailures()

    package let observability: GatewayObservability
    /// Node availability published by the health controller, outcomes counted by the workers.
    package let health: NodeHealthBoard
    /// Active checks, passive decisions and circuit breakers, on their own thread.
    package let healthController: HealthController
    /// Reloaded plans on their way to the workers.
    package let publisher: PlanPublisher
    /// Called on the signal-handling thread when SIGHUP arrives (the runtime reloads the config).
    package var onHangUp: (@Sendable () -> Void)?

    /// A server recording metrics but no access log, for embedding in tests and benchmarks.
    public convenience init(plan: ProxyPlan, logger: Logger, engine: EngineSelection) {
        self.init(plan: plan, logger: logger, engine: engine, observability: nil)
    }

    /// `observability` defaults to metrics only (no access log).
    package init(plan: ProxyPlan, logger: Logger, engine: EngineSelection, observability: GatewayObservability?) {
        self.plan = plan
        self.logger = logger
        self.engine = engine
        self.observability =
            observability ?? (try! GatewayObservability(plan: plan, engine: engine.kind, accessLog: false))
        let configured = plan.config.workers
        let count = configured > 0 ? configured : max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))))
        control = WorkerControl(workerCount: count)
        health = NodeHealthBoard(
            nodeCount: plan.nodeCapacity,
            workerCount: count,
            upstreamCount: plan.upstreamCapacity
        )
        healthController = HealthController(plan: plan, board: health, engine: engine.kind)
        let publisher = PlanPublisher(plan: plan, workerCount: count)
        self.publisher = publisher
        try? HealthMetricsCollector.install(
            registry: self.observability.registry,
            controller: healthController,
            settings: plan.config.metrics,
            upstreamIDs: { publisher.current.config.upstreams.map(\.id) }
        )
    }

    /// Binds every listener for every worker.
    public func prepare() throws(EngineError) {
        var addresses: [SocketAddress] = []
        for (index, listen) in plan.config.listen.enumerated() {
            guard let address = SocketAddress(host: listen.host, port: listen.port) else {
                throw EngineError(code: .bind, message: "listen[\(index)]: '\(listen.host)' is not an IP address")
            }
            addresses.append(address)
        }
        listeners = Array(repeating: [], count: control.workerCount)
        for var address in addresses {
            for worker in 0..<control.workerCount {
                let fd = try Sockets.listen(on: address)
                if address.port == 0, let local = SocketAddress.local(of: fd) {
                    // Port 0: every later worker binds the port the kernel picked for the first.
                    address = local
                }
                listeners[worker].append(fd)
            }
            boundAddresses.append(address)
        }
    }

    /// Runs until a termination signal has been handled and every worker has drained.
    package func run() throws(EngineError) {
        var signals = sigset_t()
        sigemptyset(&signals)
        sigaddset(&signals, SIGTERM)
        sigaddset(&signals, SIGINT)
        sigaddset(&signals, SIGPIPE)
        sigaddset(&signals, SIGHUP)
        // Block before creating threads so workers inherit the mask and only this thread takes them.
        pthread_sigmask(SIG_BLOCK, &signals, nil)
        try start()
        for (address, listen) in zip(boundAddresses, plan.config.listen) {
            logger.info("listening on \(address) with \(control.workerCount) workers\(listen.tls ? " (TLS)" : "")")
        }
        if plan.config.hasTLSListener {
            logger.info("\(KernelTLSSupport.mode(setting: plan.config.tls.kernelTLS).startupLine)")
        }
        // Wait for a termination signal, or for a worker that failed to start.
        while true {
            if let failure = failures.first {
                stop()
                throw failure
            }
            var timeout = timespec(tv_sec: 0, tv_nsec: 100_000_000)
            let signal = sigtimedwait(&signals, nil, &timeout)
            if signal == SIGHUP {
                if let onHangUp { onHangUp() } else { logger.info("SIGHUP: nothing to reload") }
                continue
            }
            if signal == SIGTERM || signal == SIGINT {
                control.beginShutdown()
                let delay = plan.config.shutdown.delay
                logger.info("received \(signal == SIGTERM ? "SIGTERM" : "SIGINT"): not ready; draining in \(delay)")
                if delay > .zero { usleep(UInt32(clamping: delay.nanoseconds / 1000)) }
                break
            }
        }
        stop()
        logger.info("stopped")
    }

    /// Starts one thread per worker and returns; the workers serve until ``stop()``.
    public func start() throws(EngineError) {
        healthController.start()
        for worker in 0..<control.workerCount {
            let context = WorkerContext(
                index: worker,
                engine: engine.kind,
                plan: plan,
                publisher: publisher,
                control: control,
                observability: observability,
                health: health,
                listeners: listeners[worker],
                failures: failures
            )
            var thread = pthread_t()
            let box = Unmanaged.passRetained(context).toOpaque()
            let created = pthread_create(
                &thread,
                nil,
                { raw in
                    let context = Unmanaged<WorkerContext>.fromOpaque(raw!).takeRetainedValue()
                    context.run()
                    return nil
                },
                box
            )
            guard created == 0 else {
                Unmanaged<WorkerContext>.fromOpaque(box).release()
                throw EngineError(
                    code: .thread,
                    message: "cannot start worker thread: \(String(cString: strerror(created)))"
                )
            }
            threads.append(thread)
        }
    }

    /// Waits until every worker has posted its accepts (or one failed to start).
    public func waitUntilRunning() throws(EngineError) {
        while !control.allRunning {
            if let failure = failures.first { throw failure }
            usleep(1000)
        }
    }

    /// Drains every worker (finishing in-flight requests up to the drain timeout) and joins them.
    public func stop() {
        control.beginDrain()
        joinAll()
        healthController.stop()
        // Counted as the workers finished, after the last scrape could see it: the log keeps it.
        let tunnels = control.tunnelsClosedByDrain
        let noun = tunnels == 1 ? "tunnel" : "tunnels"
        logger.info("drain: closed \(tunnels) open \(noun) at the end of shutdown.drain_timeout")
    }

    private func joinAll() {
        for thread in threads { pthread_join(thread, nil) }
        threads.removeAll()
    }
}

/// Errors from worker threads that failed during start-up.
private final class StartupFailures: Sendable {
    private let errors = Mutex<[EngineError]>([])

    func record(_ error: EngineError) { errors.withLock { $0.append(error) } }

    var first: EngineError? { errors.withLock { $0.first } }
}

/// What a worker thread needs to build its ``Worker`` on its own thread (io_uring's single issuer).
private final class WorkerContext: @unchecked Sendable {
    let index: Int
    let engine: EngineKind
    let plan: ProxyPlan
    let publisher: PlanPublisher
    let control: WorkerControl
    let observability: GatewayObservability
    let health: NodeHealthBoard
    let listeners: [Int32]
    let failures: StartupFailures

    init(
        index: Int,
        engine: EngineKind,
        plan: ProxyPlan,
        publisher: PlanPublisher,
        control: WorkerControl,
        observability: GatewayObservability,
        health: NodeHealthBoard,
        listeners: [Int32],
        failures: StartupFailures
    ) {
        self.health = health
        self.index = index
        self.engine = engine
        self.plan = plan
        self.publisher = publisher
        self.control = control
        self.observability = observability
        self.listeners = listeners
        self.failures = failures
    }

    func run() {
        switch engine {
        case .ioUring: run(IOUringExecutor.self)
        case .epoll: run(EpollExecutor.self)
        }
    }

    private func run<IO: IOExecutor>(_ executor: IO.Type) {
        do {
            let worker = try Worker<IO>(
                index: index,
                plan: plan,
                control: control,
                observability: observability,
                health: health,
                listeners: listeners,
                publisher: publisher
            )
            worker.run()
        } catch {
            failures.record(error)
        }
    }
}
