import Foundation
import Yams

/// Reads, checks and normalises gateway configuration files.
public enum ConfigLoader {
    /// Reads and validates the YAML file at `path`, reporting every problem at once.
    ///
    /// `${VAR}` references in values are expanded from `environment`, and its `GATEWAY_*` variables override the
    /// process-level settings (see ``ProcessSetting``). With `resolveHostnames` node host names are resolved
    /// now, so a name that does not resolve is a config error naming the node rather than a failure on the first
    /// request.
    package static func load(
        path: String,
        environment: [String: String] = ProcessInfo.processInfo.environment,
        resolveHostnames: Bool = true
    ) throws(ConfigError) -> GatewayConfig {
        try read(
            source(path: path, environment: environment),
            environment: environment,
            resolveHostnames: resolveHostnames
        )
    }

    /// Validates YAML text; `sourceName` is recorded in the result and in errors. `environment` as in
    /// ``load(path:environment:resolveHostnames:)``.
    public static func parse(
        yaml: String,
        sourceName: String,
        environment: [String: String] = ProcessInfo.processInfo.environment,
        resolveHostnames: Bool = true
    ) throws(ConfigError) -> GatewayConfig {
        try read(
            source(yaml: yaml, sourceName: sourceName, environment: environment),
            environment: environment,
            resolveHostnames: resolveHostnames
        )
    }

    /// Places `flags`, then the environment's overrides of the settings no flag set, and reads the result.
    static func read(
        _ document: ConfigDocument,
        flags: [ConfigOverride],
        environment: [String: String],
        reader: inout ConfigReader,
        sourceName: String
    ) throws(ConfigError) -> GatewayConfig {
        var document = document
        let flagged = Set(flags.map(\.setting))
        for override in flags + ConfigOverride.environment(environment).filter({ !flagged.contains($0.setting) }) {
            document.apply(override)
        }
        var config = GatewayConfig()
        reader.document(document.root, into: &config)
        config.settingSources = document.sources
        config.warnings = reader.warnings.enumerated().sorted {
            ($0.element.line ?? Int.max, $0.offset) < ($1.element.line ?? Int.max, $1.offset)
        }.map { document.attribute($0.element) }
        guard reader.issues.isEmpty else {
            // File order reads best; cross-reference checks run last but belong where their key is.
            let issues = reader.issues.enumerated().sorted {
                ($0.element.line ?? Int.max, $0.offset) < ($1.element.line ?? Int.max, $1.offset)
            }.map { document.attribute($0.element) }
            throw ConfigError(code: .invalid, issues: issues, sourceName: sourceName)
        }
        return config
    }

    static func syntaxIssue(_ error: any Error) -> ConfigIssue {
        guard let yamlError = error as? YamlError else {
            return ConfigIssue(path: "(yaml)", line: nil, reason: "\(error)")
        }
        switch yamlError {
        case .scanner(let context, let problem, let mark, _), .parser(let context, let problem, let mark, _),
            .composer(let context, let problem, let mark, _):
            let context = context.map { "\($0.text) at line \($0.mark.line): " } ?? ""
            return ConfigIssue(path: "(yaml)", line: mark.line, column: mark.column, reason: "\(context)\(problem)")
        case .duplicatedKeysInMapping(let duplicates, let context):
            let keys = duplicates.map { "\"\($0)\"" }.joined(separator: ", ")
            return ConfigIssue(
                path: "(yaml)",
                line: context.mark.line,
                column: context.mark.column,
                reason: "duplicate key \(keys) in one mapping"
            )
        case .reader(let problem, _, _, _):
            return ConfigIssue(path: "(yaml)", line: nil, reason: "cannot read the text: \(problem)")
        default:
            return ConfigIssue(path: "(yaml)", line: nil, reason: "\(yamlError)")
        }
    }

    static func reason(_ error: any Error) -> String {
        if let cocoa = error as? CocoaError, let underlying = cocoa.userInfo[NSUnderlyingErrorKey] as? NSError,
            let posix = POSIXErrorCode(rawValue: Int32(underlying.code))
        {
            return String(cString: strerror(posix.rawValue))
        }
        return error.localizedDescription
    }
}
