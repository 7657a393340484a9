import ArgumentParser
import Gateway

struct CheckCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check",
        abstract: "Validate a configuration file and print every error with its key path."
    )

    @Option(name: .long, help: "Path to the YAML configuration file.")
    var config: String = "config/gateway.yaml"

    func run() throws {
        throw ValidationError("not implemented yet")
    }
}
