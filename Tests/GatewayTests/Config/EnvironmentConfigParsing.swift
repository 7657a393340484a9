@testable import Gateway

/// Parsing a YAML text with a given environment, for the suites about `${VAR}` and `GATEWAY_*`.
protocol EnvironmentConfigParsing {}

extension EnvironmentConfigParsing {
    static func parse(_ yaml: String, _ environment: [String: String]) throws(ConfigError) -> GatewayConfig {
        try ConfigLoader.parse(yaml: yaml, sourceName: "test", environment: environment, resolveHostnames: false)
    }

    static func issues(_ yaml: String, _ environment: [String: String]) -> [ConfigIssue] {
        do {
            _ = try parse(yaml, environment)
            return []
        } catch {
            return error.issues
        }
    }
}
