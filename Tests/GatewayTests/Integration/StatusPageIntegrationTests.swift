import Foundation
import TestSupport
import Testing

/// The live status page as a browser shows it: headless Chromium loads `GET /` from the control plane
/// under the page's own Content-Security-Policy (a wrong script hash would leave the page empty), after
/// real traffic through the gateway, with one upstream whose only node is down.
@Suite("Integration: status page in a real browser")
struct StatusPageIntegrationTests {
    /// A gateway with a healthy route (`api` to a live upstream) and a broken one (`legacy` to a port nobody
    /// listens on, actively probed so its node turns unhealthy within a second or two); both carry SLO
    /// objectives, so `legacy`'s availability budget is spent (every request fails) and `api`'s is whole.
    static func start(in directory: URL, upstream: UpstreamProcess, deadPort: Int) async throws -> GatewayProcess {
        try await GatewayProcess.start(in: directory) { control in
            """
            listen: ["127.0.0.1:0"]
            control: {listen: "127.0.0.1:\(control)"}
            upstreams:
              - id: backend
                nodes: {"127.0.0.1:\(upstream.port)": 1}
              - id: broken
                nodes: {"127.0.0.1:\(deadPort)": 1}
                checks: {active: {type: http, http_path: /status/200, timeout: 1, healthy: {interval: 0.5, successes: 1}, unhealthy: {interval: 0.5, http_failures: 1, tcp_failures: 1, timeouts: 1}}}
            routes:
              - {id: api, uri: /api/*, upstream_id: backend, slo: {availability: 99.9, latency: {threshold: 5, target: 99}}}
              - {id: legacy, uri: /legacy/*, upstream_id: broken, slo: {availability: 99}}

            """
        }
    }

    /// Sends traffic to both routes and waits until `/status/traffic` shows the dead node down.
    static func prepare(_ gateway: GatewayProcess, deadNode: String, in directory: URL) async throws {
        let urls =
            (0..<40).map { "\(gateway.url)/api/status/200?n=\($0)" } + (0..<10).map { "\(gateway.url)/legacy/x\($0)" }
        let transfers = try await CurlBatch.run(urls, in: directory)
        #expect(transfers.filter { $0.status == 200 }.count == 40, "\(transfers.map(\.status))")
        #expect(transfers.filter { $0.status >= 500 }.count == 10, "\(transfers.map(\.status))")
        var last = ""
        let down = try await eventually(timeout: .seconds(30), interval: .milliseconds(200)) {
            let response = try await gateway.control("/status/traffic")
            last = response.bodyString
            guard let json = try? response.jsonObject(), let upstreams = json["upstreams"] as? [[String: Any]] else {
                return false
            }
            let nodes = upstreams.flatMap { $0["nodes"] as? [[String: Any]] ?? [] }
            return nodes.contains { $0["node"] as? String == deadNode && $0["healthy"] as? Bool == false }
        }
        #expect(down, "the dead node never showed unhealthy: \(last)")
    }

    /// Runs headless Chromium on `url` with `arguments` (after the common flags) and returns what it wrote.
    static func chromium(_ arguments: [String], url: String, in directory: URL) async throws -> CommandResult {
        let profile = directory.appendingPathComponent("chromium-\(UUID().uuidString.prefix(8))")
        return try await Command.run(
            "chromium",
            [
                "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
                "--user-data-dir=\(profile.path)", "--virtual-time-budget=5000",
            ] + arguments + [url],
            in: directory,
            timeout: .seconds(90)
        )
    }

    /// The opening `<tr ...>` tags of the rendered DOM that carry `attribute`.
    static func rows(in dom: String, with attribute: String) -> [String] {
        dom.components(separatedBy: "<tr").dropFirst().compactMap { part in
            let tag = part.prefix { $0 != ">" }
            return tag.contains(attribute) ? String(tag) : nil
        }
    }

    /// The text of the element with id `id` (a leaf element).
    static func text(of id: String, in dom: String) -> String? {
        guard let attribute = dom.range(of: "id=\"\(id)\""),
            let open = dom[attribute.upperBound...].range(of: ">"),
            let end = dom[open.upperBound...].range(of: "<")
        else { return nil }
        return String(dom[open.upperBound..<end.lowerBound])
    }

    /// The texts of the budget cells of the SLO table.
    static func budgets(in dom: String) -> [String] {
        dom.components(separatedBy: "<td class=\"num budget\">").dropFirst().map { String($0.prefix { $0 != "<" }) }
    }

    @Test("GET / in Chromium: routes with rates, nodes with their state, the dead node red, SLO budgets; CSP held")
    func statusPageInChromium() async throws {
        // Kept with the screenshot when the test fails (withTearDown removes it after a pass).
        let directory = try IntegrationEnvironment.makeTemporaryDirectory("status-page")
        let upstream = try await UpstreamProcess.start(in: directory)
        // Held bound (not listening) for the whole test: a released port could be taken by another test's
        // listener, which would answer for the "dead" node.
        let dead = try RefusingPort()
        defer { withExtendedLifetime(dead) {} }
        let deadPort = dead.port
        let deadNode = "127.0.0.1:\(deadPort)"
        let gateway: GatewayProcess
        do {
            gateway = try await Self.start(in: directory, upstream: upstream, deadPort: deadPort)
        } catch {
            await upstream.stop()
            throw error
        }
        try await IntegrationEnvironment.withTearDown(of: directory) {
            try await Self.prepare(gateway, deadNode: deadNode, in: directory)

            // The page itself, from the wire: self-contained and under a hash-based policy.
            let page = try await gateway.control("/")
            #expect(page.status == 200)
            #expect(page.header("Content-Type")?.hasPrefix("text/html") == true)
            let policy = try #require(page.header("Content-Security-Policy"))
            #expect(policy.contains("default-src 'none'") && policy.contains("script-src 'sha256-"))
            #expect(policy.contains("connect-src 'self'") && !policy.contains("unsafe-inline"))
            let html = page.bodyString
            for external in ["src=\"http", "href=\"http", "src=\"//", "href=\"//", "src='", "href='", "url("] {
                #expect(!html.contains(external), "the page refers to something outside it: \(external)")
            }
            // /status keeps its shape; /status/traffic adds traffic and the SLO place to it.
            let status = try await gateway.control("/status").jsonObject()
            let traffic = try await gateway.control("/status/traffic").jsonObject()
            #expect(Set(status.keys).isSubset(of: Set(traffic.keys)))
            let slos = try #require(traffic["slo"] as? [[String: Any]])
            #expect(slos.count == 3, "one entry per objective: \(slos)")
            let spent = try #require(slos.first { $0["route"] as? String == "legacy" })
            #expect(spent["slo"] as? String == "availability" && spent["objective"] as? Double == 99)
            #expect((spent["budget_remaining"] as? Double ?? 0) < 0, "legacy: \(spent)")
            #expect((spent["error_ratio"] as? Double ?? 0) > 0.9, "legacy: \(spent)")
            #expect(spent["window"] as? String == "30d" && spent["since"] is String)
            let whole = try #require(
                slos.first { $0["route"] as? String == "api" && $0["slo"] as? String == "availability" }
            )
            #expect(whole["budget_remaining"] as? Double == 1, "api: \(whole)")
            let rates = try #require(traffic["traffic"] as? [String: Any])
            #expect(rates["connections_active"] as? Int != nil)
            let routes = try #require(rates["routes"] as? [[String: Any]])
            #expect(routes.compactMap { $0["route"] as? String }.starts(with: ["api", "legacy"]), "\(routes)")

            // Rates cover about the last second: keep traffic (and errors) flowing while the browser looks.
            let load = Task {
                while !Task.isCancelled {
                    // Every fourth request fails, so any second with traffic in it has errors too (with the
                    // failure last in the batch, a loaded machine showed a second of successes only).
                    let urls = (0..<20).map {
                        $0 % 4 == 3 ? "\(gateway.url)/legacy/t\($0)" : "\(gateway.url)/api/status/200?t=\($0)"
                    }
                    _ = try? await CurlBatch.run(urls, in: directory)
                }
            }
            defer { load.cancel() }
            // A screenshot: Chromium rendered the page.
            let screenshot = directory.appendingPathComponent("status.png")
            let shot = try await Self.chromium(
                ["--window-size=1280,1400", "--screenshot=\(screenshot.path)"],
                url: "\(gateway.controlURL)/",
                in: directory
            )
            let png = try Data(contentsOf: screenshot)
            #expect(
                png.starts(with: [0x89, 0x50, 0x4E, 0x47]),
                "not a PNG (chromium exit \(shot.exitCode)): \(shot.log)"
            )
            #expect(png.count > 20_000, "a \(png.count)-byte screenshot is too small to show the page")

            // The DOM after the script ran: what the page shows.
            let dump = try await Self.chromium(["--dump-dom"], url: "\(gateway.controlURL)/", in: directory)
            let dom = dump.stdout
            load.cancel()
            _ = await load.value
            #expect(Self.text(of: "live", in: dom)?.hasPrefix("live") == true, "the script did not run: \(dom)")
            let requestsPerSecond = Self.text(of: "rps", in: dom).flatMap(Double.init)
            #expect(
                (requestsPerSecond ?? 0) > 0,
                "requests/s shown: \(String(describing: Self.text(of: "rps", in: dom)))"
            )
            let errors = Self.text(of: "error-ratio", in: dom) ?? ""
            #expect(errors.hasSuffix("%") && errors != "0.00%", "error ratio shown: \(errors)")
            for route in ["api", "legacy"] {
                let row = Self.rows(in: dom, with: "data-route=\"\(route)\"")
                #expect(row.count == 1, "route \(route) is not shown once: \(row)")
            }
            let dead = Self.rows(in: dom, with: "data-node=\"\(deadNode)\"")
            #expect(dead.count == 1 && dead[0].contains("class=\"node down\""), "dead node row: \(dead)")
            let live = Self.rows(in: dom, with: "data-node=\"127.0.0.1:\(upstream.port)\"")
            #expect(live.count == 1 && live[0].contains("class=\"node up\""), "live node row: \(live)")
            // The SLO table: legacy's spent budget in red, api's whole budget in green.
            let spentRow = Self.rows(in: dom, with: "data-subject=\"legacy\"")
            #expect(spentRow.count == 1 && spentRow[0].contains("class=\"slo bad\""), "legacy SLO row: \(spentRow)")
            let okRows = Self.rows(in: dom, with: "data-subject=\"api\"")
            #expect(
                okRows.count == 2 && okRows.allSatisfy { $0.contains("class=\"slo ok\"") },
                "api SLO rows: \(okRows)"
            )
            let budgets = Self.budgets(in: dom)
            #expect(budgets.count == 3 && budgets.contains("100.00%"), "budgets shown: \(budgets)")
            #expect(budgets.contains { $0.hasPrefix("-") && $0.hasSuffix("%") }, "budgets shown: \(budgets)")
            #expect(dom.contains("counted since the gateway started"))
            #expect(dom.contains("config generation"))
        } tearDown: {
            let clean = await gateway.finish()
            await upstream.stop()
            return clean
        }
    }
}
