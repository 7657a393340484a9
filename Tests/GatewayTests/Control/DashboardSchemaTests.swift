import Foundation
import TestSupport
import Testing

/// `dashboards/gateway.json` held to Grafana's own dashboard schema, as the `grafana-foundation-sdk`
/// package (PyPI) publishes it: typed models generated from that schema, which
/// `Tests/Support/validate_dashboard.py` decodes the file through (see the script for exactly how).
@Suite("Dashboard: Grafana's schema (grafana-foundation-sdk)")
struct DashboardSchemaTests {
    static let script = IntegrationEnvironment.repositoryRoot.appendingPathComponent(
        "Tests/Support/validate_dashboard.py"
    )

    static func validate(_ file: URL) async throws -> CommandResult {
        try await Command.run("python3", [script.path, file.path], timeout: .seconds(60))
    }

    @Test("the shipped dashboard matches the schema")
    func shippedDashboardMatches() async throws {
        let file = IntegrationEnvironment.repositoryRoot.appendingPathComponent("dashboards/gateway.json")
        let result = try await Self.validate(file)
        #expect(result.exitCode == 0, "schema violations:\n\(result.stdout)\(result.log)")
        #expect(result.stdout.hasPrefix("ok:"), "\(result.stdout)\(result.log)")
    }

    @Test("the validator rejects an unknown key, a wrongly typed value and an unknown panel type")
    func validatorRejectsViolations() async throws {
        let directory = try TestFiles.makeTemporaryDirectory("dashboard-schema")
        defer { try? FileManager.default.removeItem(at: directory) }
        let source = IntegrationEnvironment.repositoryRoot.appendingPathComponent("dashboards/gateway.json")
        var dashboard = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: source)) as? [String: Any])
        var panels = try #require(dashboard["panels"] as? [[String: Any]])
        let stat = try #require(panels.firstIndex { $0["type"] as? String == "stat" })
        panels[stat]["colour"] = "red"
        var grid = try #require(panels[stat]["gridPos"] as? [String: Any])
        grid["h"] = "4"
        panels[stat]["gridPos"] = grid
        let other = try #require(panels.firstIndex { $0["type"] as? String == "timeseries" })
        panels[other]["type"] = "no-such-panel"
        dashboard["panels"] = panels
        let file = directory.appendingPathComponent("bad.json")
        try JSONSerialization.data(withJSONObject: dashboard).writeTestFile(to: file)
        let result = try await Self.validate(file)
        #expect(result.exitCode == 1)
        #expect(result.stdout.contains("$.panels[\(stat)].colour: not defined by the schema"), "\(result.stdout)")
        #expect(result.stdout.contains("$.panels[\(stat)].grid_pos.h: '4' is not int"), "\(result.stdout)")
        #expect(result.stdout.contains("$.panels[\(other)]: unknown panel type 'no-such-panel'"), "\(result.stdout)")
    }
}
