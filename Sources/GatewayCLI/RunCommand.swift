import AccessLog
import ArgumentParser
import Foundation
import Gateway
import Glibc
import Logging

struct RunCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "run", abstract: "Run the gateway.")

    @Option(name: .long, help: "Path to the YAML configuration file.")
    var config: String = "config/gateway.yaml"

    func run() throws {
        LoggingSystem.bootstrap(StreamLogHandler.standardError)
        var logger = Logger(label: "gateway")
        logger.logLevel = .info
        let loaded: GatewayConfig
        let plan: ProxyPlan
        do {
            loaded = try ConfigLoader.load(path: config)
            plan = try ProxyPlan(config: loaded)
        } catch {
            var output = "\(config): invalid configuration\n"
            for issue in error.issues { output += "  \(issue)\n" }
            FileHandle.standardError.write(Data(output.utf8))
            throw ExitCode(1)
        }
        let observability: GatewayObservability
        do {
            observability = try GatewayObservability(plan: plan)
        } catch {
            FileHandle.standardError.write(Data("gateway: cannot set up metrics or the access log: \(error)\n".utf8))
            throw ExitCode(1)
        }
        let server = GatewayServer(plan: plan, logger: logger, observability: observability)
        var controlServer: ControlServer? = nil
        do {
            try server.prepare()
            if let accessLogger = observability.accessLogger {
                try accessLogger.start()
                accessLogger.handleReopenSignal(SIGUSR1)
                logger.info(
                    "access log: \(loaded.accessLog.path) (\(loaded.accessLog.format.rawValue)); SIGUSR1 reopens it"
                )
            }
            if let listen = loaded.control.listen {
                guard let address = SocketAddress(host: listen.host, port: listen.port) else {
                    throw EngineError(code: .bind, message: "control.listen: '\(listen.host)' is not an IP address")
                }
                let healthController = server.healthController
                let plane = ControlPlane(
                    plan: plan,
                    control: server.control,
                    health: { healthController.snapshot() },
                    metrics: ControlPlane.metricsRenderer(for: observability.registry)
                )
                controlServer = try ControlServer(address: address) { plane.handle($0) }
                try controlServer?.start()
                logger.info("control plane on \(controlServer!.address): /metrics /healthz /readyz /status")
            }
            logger.info(
                "gateway \(GatewayVersion.string) config \(config) (\(loaded.sourceHash)): \(plan.routeCount) routes, \(plan.upstreamCount) upstreams"
            )
            try server.run()
            // Workers have stopped: everything they logged is in the rings; write it and close the frame.
            observability.accessLogger?.shutdown()
            controlServer?.stop()
        } catch {
            FileHandle.standardError.write(Data("gateway: \(error)\n".utf8))
            throw ExitCode(1)
        }
    }
}
