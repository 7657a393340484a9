import Foundation
import TestSupport
import Testing

/// CORS as a browser enforces it: headless Chromium loads a page from one origin that calls a route on
/// the gateway at another origin. The result is read from the page the browser rendered, not from curl.
@Suite("Integration: CORS in a real browser")
struct CORSBrowserIntegrationTests {
    /// A page that calls `api` with a custom header (so the browser sends a preflight first) and
    /// writes what happened into `#result`.
    static func page(api: String) -> String {
        """
        <!doctype html>
        <html><body><div id="result">pending</div>
        <script>
        fetch("\(api)", {method: "POST", headers: {"X-Custom": "1", "Content-Type": "application/json"}, body: "{}"})
          .then(r => r.text().then(t => {
            document.getElementById("result").textContent = "status=" + r.status + " expose=" + r.headers.get("X-Exposed");
          }))
          .catch(e => { document.getElementById("result").textContent = "blocked=" + e.name; });
        </script></body></html>
        """
    }

    /// Serves `directory` over HTTP on a loopback port (a second origin for the pages).
    static func pageServer(_ directory: URL, log: URL) async throws -> (ManagedProcess, Int) {
        // Port 0, read back from the server's own line: a port picked here and released was once taken by
        // another test's gateway before http.server could bind it, and Chromium loaded that gateway's 404.
        try await ManagedProcess.launch(
            "http.server",
            executable: URL(fileURLWithPath: "/usr/bin/env"),
            arguments: [
                "python3", "-u", "-m", "http.server", "0", "--bind", "127.0.0.1", "--directory", directory.path,
            ],
            logFile: log
        ) { () -> Int? in
            // "Serving HTTP on 127.0.0.1 port 41234 (http://127.0.0.1:41234/) ..."
            let text = (try? String(contentsOf: log, encoding: .utf8)) ?? ""
            guard let range = text.range(of: #"port [0-9]+ "#, options: .regularExpression),
                let port = Int(text[range].dropFirst(5).dropLast())
            else { return nil }
            return port
        }
    }

    /// The text of `#result` once Chromium has run the page's script.
    static func browserResult(_ url: String, in directory: URL) async throws -> String {
        let profile = directory.appendingPathComponent("chromium-\(UUID().uuidString.prefix(8))")
        let result = try await Command.run(
            "chromium",
            [
                "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
                "--user-data-dir=\(profile.path)", "--virtual-time-budget=15000", "--dump-dom", url,
            ],
            in: directory,
            timeout: .seconds(90)
        )
        guard let start = result.stdout.range(of: "<div id=\"result\">"),
            let end = result.stdout[start.upperBound...].range(of: "</div>")
        else {
            throw IntegrationError(
                "no #result in what Chromium rendered (exit \(result.exitCode)):\n\(result.stdout)\n\(result.log)"
            )
        }
        return String(result.stdout[start.upperBound..<end.lowerBound])
    }

    @Test("an allowed origin reads the response; a disallowed one is blocked by the browser")
    func browserEnforcesTheGatewaysCORS() async throws {
        let directory = try IntegrationEnvironment.makeTemporaryDirectory("cors-browser")
        defer { try? FileManager.default.removeItem(at: directory) }
        let pages = directory.appendingPathComponent("pages")
        try FileManager.default.createDirectory(at: pages, withIntermediateDirectories: true)
        let upstream = try await UpstreamProcess.start(in: directory)
        let (allowedServer, allowedPort) = try await Self.pageServer(
            pages,
            log: directory.appendingPathComponent("allowed.log")
        )
        let (otherServer, otherPort) = try await Self.pageServer(
            pages,
            log: directory.appendingPathComponent("other.log")
        )
        let gateway: GatewayProcess
        do {
            gateway = try await GatewayProcess.start(
                yaml: IntegrationEnvironment.withTestEngine(
                    """
                    listen: ["127.0.0.1:0"]
                    upstreams: [{id: backend, nodes: {"127.0.0.1:\(upstream.port)": 1}}]
                    routes:
                      - id: api
                        uri: /api/*
                        upstream_id: backend
                        plugins:
                          cors:
                            allow_origins: "http://127.0.0.1:\(allowedPort)"
                            allow_methods: "GET,POST"
                            allow_headers: "X-Custom,Content-Type"
                            expose_headers: "X-Exposed"
                          response-rewrite:
                            headers: {set: {X-Exposed: "yes"}}

                    """
                ),
                in: directory
            )
        } catch {
            await allowedServer.terminate()
            await otherServer.terminate()
            await upstream.stop()
            throw error
        }
        try await IntegrationEnvironment.withTearDown(of: directory) {
            try Self.page(api: "\(gateway.url)/api/headers").writeTestFile(
                to: pages.appendingPathComponent("call.html")
            )
            let allowed = try await Self.browserResult("http://127.0.0.1:\(allowedPort)/call.html", in: directory)
            #expect(allowed == "status=200 expose=yes", "allowed origin: \(allowed)")
            let blocked = try await Self.browserResult("http://127.0.0.1:\(otherPort)/call.html", in: directory)
            #expect(blocked == "blocked=TypeError", "disallowed origin: \(blocked)")

            // What the browser saw, from the wire: the preflight is the gateway's own answer.
            let preflight = try await Curl.run(
                "\(gateway.url)/api/headers",
                [
                    "-X", "OPTIONS", "-H", "Origin: http://127.0.0.1:\(allowedPort)",
                    "-H", "Access-Control-Request-Method: POST", "-H", "Access-Control-Request-Headers: x-custom",
                ],
                in: directory
            )
            #expect(preflight.status == 200)
            #expect(preflight.header("Access-Control-Allow-Origin") == "http://127.0.0.1:\(allowedPort)")
        } tearDown: {
            let clean = await gateway.finish()
            await allowedServer.terminate()
            await otherServer.terminate()
            await upstream.stop()
            return clean
        }
    }
}
