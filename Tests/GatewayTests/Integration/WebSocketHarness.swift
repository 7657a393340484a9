import Foundation
import TestSupport
import Testing

/// A WebSocket upstream (`Tests/Support/ws_echo_server.py`) behind a gateway with a control plane and a
/// JSON access log, and the Python client (`ws_client.py`) the tests drive. Both scripts run on Debian's
/// `/usr/bin/python3`, which has `python3-websockets`.
///
/// Routes: `sockets` (`/ws/*`, `enable_websocket`), `idle` (`/idle/*`, `enable_websocket` with
/// `websocket_idle_timeout: 1`), `h2c` (`/h2c/*`, `upgrade_protocols: [h2c]`) and `plain` (`/*`).
final class WebSocketHarness: Sendable {
    static let python = "/usr/bin/python3"
    static let supportDirectory = IntegrationEnvironment.upstreamScript.deletingLastPathComponent()

    let gateway: GatewayProcess
    let server: ManagedProcess
    let directory: URL
    let accessLogFile: URL
    /// The server's `/sink` reads once this file exists.
    let sinkGoFile: URL
    /// Bytes the server's `/flood` has handed to its socket so far.
    let floodProgressFile: URL
    let serverLog: URL
    /// With `tls`: the test CA's certificate, which signed the TLS listener's certificate for `localhost`.
    let authority: URL?

    private init(gateway: GatewayProcess, server: ManagedProcess, directory: URL, serverLog: URL, authority: URL?) {
        self.gateway = gateway
        self.server = server
        self.directory = directory
        self.serverLog = serverLog
        self.authority = authority
        accessLogFile = directory.appendingPathComponent("access.log.zst")
        sinkGoFile = directory.appendingPathComponent("sink.go")
        floodProgressFile = directory.appendingPathComponent("flood.progress")
    }

    /// Starts the server and the gateway (`drain_timeout` in seconds); with `tls`, the gateway also has a
    /// TLS listener with a certificate for `localhost`, and route `upstream-tls` (`/up-tls/*`) reaches the
    /// server over TLS (`scheme: https`).
    static func start(_ label: String, drainTimeout: Double = 5, tls: Bool = false) async throws -> WebSocketHarness {
        let directory = try IntegrationEnvironment.makeTemporaryDirectory(label)
        var listen = "\"127.0.0.1:0\""
        var ssls = ""
        var authority: URL?
        var serverTLS: [String] = []
        let tlsPortFile = directory.appendingPathComponent("ws-tls.port")
        if tls {
            let certificates = try await TestCertificates.authority(in: directory)
            let issued = try await certificates.issue(["localhost"])
            listen = "[\"127.0.0.1:0\", {address: \"127.0.0.1:0\", tls: true}]"
            ssls =
                "ssls: [{id: local, snis: [localhost], cert_file: \"\(issued.certificate.path)\", key_file: \"\(issued.key.path)\"}]"
            authority = certificates.authority.certificate
            serverTLS = [
                "--tls-cert", issued.certificate.path, "--tls-key", issued.key.path, "--tls-port-file",
                tlsPortFile.path,
            ]
        }
        let portFile = directory.appendingPathComponent("ws.port")
        let serverLog = directory.appendingPathComponent("ws-server.log")
        let (server, port) = try await ManagedProcess.launch(
            "ws_echo_server.py",
            executable: URL(fileURLWithPath: python),
            arguments: [
                supportDirectory.appendingPathComponent("ws_echo_server.py").path, "--port-file", portFile.path,
                "--go-file", directory.appendingPathComponent("sink.go").path, "--progress-file",
                directory.appendingPathComponent("flood.progress").path,
            ] + serverTLS,
            logFile: serverLog
        ) { () -> Int? in
            guard let text = try? String(contentsOf: portFile, encoding: .utf8), let port = Int(text),
                IntegrationEnvironment.portAccepts(port)
            else { return nil }
            if tls && (try? String(contentsOf: tlsPortFile, encoding: .utf8)) == nil { return nil }
            return port
        }
        // With `tls`, an `https` upstream on the server's TLS port, verified against the test CA.
        var secureUpstream = ""
        var secureRoute = ""
        if tls, let authority, let text = try? String(contentsOf: tlsPortFile, encoding: .utf8) {
            secureUpstream = """
                  - id: secure
                    scheme: https
                    nodes: {"127.0.0.1:\(text)": 1}
                    tls: {verify: true, sni: localhost, ca_file: "\(authority.path)"}

                """
            secureRoute = """
                  - id: upstream-tls
                    uris: ["/up-tls/*"]
                    upstream_id: secure
                    enable_websocket: true

                """
        }
        let accessLog = directory.appendingPathComponent("access.log.zst")
        do {
            let gateway = try await GatewayProcess.start(in: directory) { controlPort in
                """
                workers: 1
                listen: \(listen)
                \(ssls)
                shutdown: {drain_timeout: \(drainTimeout)}
                control: {listen: "127.0.0.1:\(controlPort)"}
                metrics: {enabled: true}
                access_log: {enabled: true, path: "\(accessLog.path)", format: json, flush_interval: 0.2}
                upstreams:
                  - id: ws
                    nodes: {"127.0.0.1:\(port)": 1}
                    timeout: {connect: 2, send: 30, read: 30}
                \(secureUpstream)routes:
                  - id: sockets
                    uris: ["/ws/*"]
                    upstream_id: ws
                    enable_websocket: true
                  - id: idle
                    uris: ["/idle/*"]
                    upstream_id: ws
                    enable_websocket: true
                    websocket_idle_timeout: 1
                \(secureRoute)  - id: h2c
                    uris: ["/h2c/*"]
                    upstream_id: ws
                    upgrade_protocols: [h2c]
                  - id: plain
                    uris: ["/*"]
                    upstream_id: ws

                """
            }
            return WebSocketHarness(
                gateway: gateway,
                server: server,
                directory: directory,
                serverLog: serverLog,
                authority: authority
            )
        } catch {
            await server.terminate(grace: .seconds(2))
            throw error
        }
    }

    var base: String { "ws://127.0.0.1:\(gateway.port)" }

    /// The TLS listener's `wss://` base, and the client options that trust it.
    var secureBase: (url: String, options: [String]) {
        var port = -1
        for line in gateway.log.split(separator: "\n") where line.contains("(TLS)") {
            port = GatewayProcess.listeningPort(in: String(line)) ?? -1
        }
        return ("wss://127.0.0.1:\(port)", ["--ca", authority?.path ?? "", "--sni", "localhost"])
    }

    /// Runs `ws_client.py` with `arguments` and returns the JSON it printed.
    func client(_ arguments: [String], timeout: Duration = .seconds(120)) async throws -> [String: Any] {
        let result = try await Command.run(
            Self.python,
            [Self.supportDirectory.appendingPathComponent("ws_client.py").path] + arguments,
            in: directory,
            timeout: timeout
        )
        guard result.exitCode == 0,
            let object = try? JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any]
        else {
            throw IntegrationError(
                "ws_client.py \(arguments) failed (\(result.exitCode)): \(result.stdout)\(result.log)"
            )
        }
        return object
    }

    /// The gateway's resident memory in KiB.
    var residentKiB: Int { gateway.residentKiB ?? 0 }

    /// An integer a script wrote to `file`, or nil before it exists.
    func number(in file: URL) -> Int? {
        (try? String(contentsOf: file, encoding: .utf8)).flatMap { Int($0) }
    }

    /// Waits until the integer in `file` exists and has not changed for `quiet` (the writer is blocked);
    /// returns it.
    func settledNumber(
        in file: URL,
        quiet: Duration = .seconds(1),
        timeout: Duration = .seconds(60)
    ) async throws
        -> Int
    {
        let clock = ContinuousClock()
        var last = -1
        var since = clock.now
        let settled = try await eventually(timeout: timeout, interval: .milliseconds(100)) {
            let value = number(in: file) ?? -1
            if value != last {
                last = value
                since = clock.now
                return false
            }
            return value >= 0 && clock.now - since >= quiet
        }
        guard settled else { throw IntegrationError("\(file.lastPathComponent) never settled (last \(last))") }
        return last
    }

    /// The access log's JSON lines for tunnels (status 101).
    func tunnelLines() async throws -> [[String: Any]] {
        let lines = try await Command.zstdLines(of: accessLogFile, in: directory)
        return lines.compactMap { line in
            guard let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
                object["status"] as? Int == 101
            else { return nil }
            return object
        }
    }

    /// Polls the metrics until `condition` holds; returns the last scrape.
    func metrics(
        until condition: (MetricsExposition) -> Bool,
        timeout: Duration = .seconds(30)
    ) async throws -> MetricsExposition {
        var last: MetricsExposition?
        _ = try await eventually(timeout: timeout, interval: .milliseconds(100)) {
            let scraped = try await gateway.scrape().exposition
            last = scraped
            return condition(scraped)
        }
        return last!
    }

    /// Stops the gateway (unless the test did) and the server; whether the gateway ended cleanly.
    func finish() async -> Bool {
        let clean = await gateway.finish()
        await server.terminate(grace: .seconds(2))
        return clean
    }
}

/// Runs `body` with a ``WebSocketHarness`` and tears it down even when `body` throws.
func withWebSockets<T>(
    _ label: String,
    drainTimeout: Double = 5,
    tls: Bool = false,
    _ body: (WebSocketHarness) async throws -> T
) async throws -> T {
    // Tunnels move megabytes and hold a thousand connections: they take turns with the other heavy tests.
    try await timingSensitive {
        let harness = try await WebSocketHarness.start(label, drainTimeout: drainTimeout, tls: tls)
        return try await IntegrationEnvironment.withTearDown(of: harness.directory) {
            try await body(harness)
        } tearDown: {
            await harness.finish()
        }
    }
}
