import ArgumentParser
import Foundation
import Gateway

struct RulesCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rules",
        abstract:
            "Write the Prometheus rules (recording rules and burn-rate alerts) for the config's `slo` objectives.",
        discussion: """
            One rule file for exactly the objectives of the routes and upstreams in the configuration (with \
            the Admin API's resources when admin.listen is set), in the scheme Sloth and Pyrra generate. \
            Errors in the configuration are reported as `gateway check` reports them.
            """
    )

    @Option(name: .long, help: "Path to the YAML configuration file.")
    var config: String = "config/gateway.yaml"

    @Option(name: .long, help: "Write the rules to this file (atomically) instead of standard output.")
    var output: String?

    @Option(
        name: .long,
        help: """
            Divide every window (5m … 3d, the objective's window and the alerts' `for`) by N, for tests: \
            60 turns 5m into 5s and 1h into 1m. Rounded to whole milliseconds; record names keep the \
            unscaled windows.
            """
    )
    var windowScale: Double = 1

    @Option(
        name: .long,
        help: """
            Histogram series latency objectives read: classic (the le bucket at the threshold) or native \
            (histogram_fraction). Default: native when metrics.native_histograms is on.
            """
    )
    var histograms: String?

    @Option(name: .long, help: "Base of the alerts' runbook_url; the alert's anchor is appended.")
    var runbook: String = "docs/RUNBOOK.md"

    func validate() throws {
        if let histograms, SLORuleGenerator.Histograms(rawValue: histograms) == nil {
            throw ValidationError("--histograms must be classic or native, not \(histograms)")
        }
        guard windowScale.isFinite, windowScale >= 1 else {
            throw ValidationError("--window-scale must be a number of at least 1")
        }
    }

    func run() throws {
        let loaded: LoadedConfiguration
        do {
            loaded = try LoadedConfiguration.load(ConfigLoader.source(path: config))
        } catch {
            let count = error.issues.count
            var text = "\(config): \(count) \(count == 1 ? "problem" : "problems")\n"
            for issue in error.issues {
                text += "  \(issue)\n"
            }
            FileHandle.standardError.write(Data(text.utf8))
            throw ExitCode(1)
        }
        var options = SLORuleGenerator.Options()
        options.windowScale = windowScale
        options.histograms = histograms.flatMap(SLORuleGenerator.Histograms.init(rawValue:))
        options.runbook = runbook
        options.sourceName = config
        let generator = SLORuleGenerator(config: loaded.config, options: options)
        let text: String
        do {
            text = try generator.render()
        } catch {
            FileHandle.standardError.write(Data("gateway rules: \(error)\n".utf8))
            throw ExitCode(1)
        }
        for note in generator.objectives.skipped {
            FileHandle.standardError.write(Data("gateway rules: left out: \(note)\n".utf8))
        }
        guard let output else {
            print(text, terminator: "")
            return
        }
        do {
            try text.write(toFile: output, atomically: true, encoding: .utf8)
        } catch {
            FileHandle.standardError.write(
                Data("gateway rules: cannot write \(output): \(error.localizedDescription)\n".utf8)
            )
            throw ExitCode(1)
        }
    }
}
