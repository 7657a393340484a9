import ArgumentParser

struct LogsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "logs",
        abstract: "Read the gateway's access logs.",
        subcommands: [LogsTailCommand.self, LogsGenerateCommand.self]
    )
}
