import ArgumentParser
import Gateway

@main
struct GatewayCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gateway",
        abstract: "A Prometheus-first HTTP/1.1 and HTTP/2 API gateway on io_uring.",
        version: GatewayVersion.string,
        subcommands: [RunCommand.self, CheckCommand.self, LogsCommand.self, TopCommand.self, RulesCommand.self]
    )
}
