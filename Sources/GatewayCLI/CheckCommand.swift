import ArgumentParser
import Foundation
import Gateway

struct CheckCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check",
        abstract: "Validate a configuration file and print every error with its key path.",
        discussion: """
            On success it also prints the effective process-level settings (those GATEWAY_* variables override), \
            each with where its value came from: file, env VARIABLE or default. Warnings (an expired \
            certificate, or one expiring within 7 days) are printed with their key path and do not fail the check.
            """
    )

    @Option(name: .long, help: "Path to the YAML configuration file.")
    var config: String = "config/gateway.yaml"

    func run() throws {
        do {
            let loaded = try ConfigLoader.load(path: config)
            let enabled = loaded.routes.filter(\.enabled).count
            let disabled = loaded.routes.count - enabled
            let suffix = disabled > 0 ? " (\(disabled) disabled)" : ""
            let warnings = loaded.warnings.count
            // Warnings never fail the check: the gateway would start with this file.
            let verdict = warnings == 0 ? "config OK" : "config OK with \(warnings) warning\(warnings == 1 ? "" : "s")"
            var output = "\(verdict): \(loaded.routes.count) routes, \(loaded.upstreams.count) upstreams\(suffix)\n"
            for warning in loaded.warnings {
                output += "  warning: \(warning)\n"
            }
            output += "process settings (a change needs a restart):\n"
            for line in loaded.processSettingsReport {
                output += "  \(line)\n"
            }
            print(output, terminator: "")
        } catch {
            let count = error.issues.count
            var output = "\(config): \(count) \(count == 1 ? "problem" : "problems")\n"
            for issue in error.issues {
                output += "  \(issue)\n"
            }
            FileHandle.standardError.write(Data(output.utf8))
            throw ExitCode(1)
        }
    }
}
