import ArgumentParser
import Gateway

struct RunCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "run", abstract: "Run the gateway.")

    @Option(name: .long, help: "Path to the YAML configuration file.")
    var config: String = "config/gateway.yaml"

    func run() throws {
        throw ValidationError("not implemented yet")
    }
}
