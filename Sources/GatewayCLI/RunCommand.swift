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
        do {
            let runtime = try GatewayRuntime(plan: plan, logger: logger)
            try runtime.prepare()
            logger.info(
                "gateway \(GatewayVersion.string) config \(config) (\(loaded.sourceHash)): \(plan.routeCount) routes, \(plan.upstreamCount) upstreams, engine \(runtime.engine.kind.rawValue)"
            )
            try runtime.runUntilSignalled()
        } catch {
            FileHandle.standardError.write(Data("gateway: \(error)\n".utf8))
            throw ExitCode(1)
        }
    }
}
