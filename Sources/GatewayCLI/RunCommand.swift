import AccessLog
import ArgumentParser
import Foundation
import Gateway
import Glibc
import Logging

struct RunCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Run the gateway.",
        discussion: """
            With --upstream no file is read: the gateway proxies every path (/*) to the given nodes, round-robin \
            (e.g. gateway run --listen :8080 --upstream 127.0.0.1:3000). GATEWAY_* environment variables override \
            the process-level settings of either (see docs/CONFIG.md).
            """
    )

    @Option(name: .long, help: "Path to the YAML configuration file (default: config/gateway.yaml).")
    var config: String?

    @Option(
        name: .long,
        help: "Quick start without a file: an upstream node host:port (repeatable); every path is proxied to them."
    )
    var upstream: [String] = []

    @Option(name: .long, help: "Quick start: address to listen on, e.g. :8080 (all interfaces) or 127.0.0.1:8080.")
    var listen: [String] = []

    @Option(name: .long, help: "Quick start: control-plane address for /metrics, /healthz, /readyz, /status.")
    var control: String?

    func validate() throws {
        if config != nil && !upstream.isEmpty {
            throw ValidationError("--config and --upstream cannot be combined: --upstream runs without a file")
        }
        if upstream.isEmpty && (!listen.isEmpty || control != nil) {
            throw ValidationError(
                "--listen and --control belong to the quick start and need --upstream; with a file, set listen and control.listen in it (or GATEWAY_LISTEN, GATEWAY_CONTROL_LISTEN)"
            )
        }
    }

    func run() throws {
        let quickStart = upstream.isEmpty ? nil : QuickStart(listen: listen, upstreams: upstream, control: control)
        let path = config ?? "config/gateway.yaml"
        let configuration: LoadedConfiguration
        let plan: ProxyPlan
        do throws(ConfigError) {
            let source: ConfigSource
            if let quickStart {
                source = ConfigLoader.quickStartSource(quickStart)
            } else {
                source = try ConfigLoader.source(path: path)
            }
            // Logging is set up first (at the file's log_level): loading may already talk to etcd and log.
            let level = try ConfigLoader.read(source).logLevel
            LoggingSystem.bootstrap { label in
                var handler = StreamLogHandler.standardError(label: label)
                handler.logLevel = level
                return handler
            }
            configuration = try LoadedConfiguration.load(source, logger: Logger(label: "gateway"))
            plan = try ProxyPlan(config: configuration.config)
        } catch {
            var output = "\(quickStart == nil ? path : "command line"): invalid configuration\n"
            for issue in error.issues { output += "  \(issue)\n" }
            FileHandle.standardError.write(Data(output.utf8))
            throw ExitCode(1)
        }
        let source = quickStart.map { "command line (\($0.commandLine))" } ?? path
        let loaded = configuration.config
        let logger = Logger(label: "gateway")
        do {
            let runtime = try GatewayRuntime(
                plan: plan,
                logger: logger,
                configPath: quickStart == nil ? path : nil,
                loaded: configuration
            )
            try runtime.prepare()
            logger.info(
                "gateway \(GatewayVersion.string) config \(source) (\(loaded.sourceHash)): \(plan.routeCount) routes, \(plan.upstreamCount) upstreams, engine \(runtime.engine.kind.rawValue)"
            )
            try runtime.runUntilSignalled()
        } catch {
            FileHandle.standardError.write(Data("gateway: \(error)\n".utf8))
            throw ExitCode(1)
        }
    }
}
