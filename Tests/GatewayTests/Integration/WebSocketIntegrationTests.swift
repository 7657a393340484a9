import Foundation
import TestSupport
import Testing

/// WebSocket and Upgrade tunnels (issue 16, part 1) with the Python `websockets` client and server.
@Suite("Integration: WebSocket tunnels", .serialized)
struct WebSocketIntegrationTests {
    @Test("text, binary, a 10 MB message, ping/pong and close codes pass through; metrics and access lines")
    func echoThroughTheTunnel() async throws {
        try await withWebSockets("ws-echo") { harness in
            let echo = try await harness.client(["echo", harness.base + "/ws"])
            #expect(echo["text"] as? Bool == true)
            #expect(echo["binary"] as? Bool == true)
            #expect(echo["large"] as? Bool == true)
            #expect(echo["pong"] as? Bool == true)
            // The client's close code reached the server, whose echo of it came back.
            #expect(echo["client_close_echoed"] as? Int == 4001)
            #expect(echo["server_close"] as? Int == 4002)
            #expect(echo["server_close_reason"] as? String == "server-bye")
            let serverLog = try String(contentsOf: harness.serverLog, encoding: .utf8)
            #expect(serverLog.contains("closed /echo code=4001 reason=client-bye"), "\(serverLog)")

            // A frame sent in the same write as the handshake is forwarded after the 101.
            let early = try await harness.client(["early", "127.0.0.1", String(harness.gateway.port), "/ws/echo"])
            #expect(early["status"] as? Int == 101)
            #expect(early["echo"] as? String == "early-frame")
            let head = (early["head"] as? String ?? "").lowercased()
            #expect(head.contains("upgrade: websocket"))
            #expect(head.contains("connection: upgrade"))
            #expect(head.contains("sec-websocket-accept: "))

            let route = ["route": "sockets"]
            let metrics = try await harness.metrics {
                $0.sum("gateway_websocket_connections_total", route) == 3
                    && $0.sum("gateway_websocket_connections_active", route) == 0
                    && $0.sum("gateway_websocket_duration_seconds_count", route) == 3
            }
            #expect(metrics.sum("gateway_websocket_connections_total", route) == 3)
            #expect(metrics.sum("gateway_websocket_connections_active", route) == 0)
            #expect(metrics.sum("gateway_websocket_duration_seconds_count", route) == 3)
            let up = metrics.sum("gateway_tunnel_bytes_total", ["route": "sockets", "direction": "client_to_upstream"])
            let down = metrics.sum(
                "gateway_tunnel_bytes_total",
                ["route": "sockets", "direction": "upstream_to_client"]
            )
            #expect(up > 10_485_760 && up < 11_000_000, "client_to_upstream \(up)")
            #expect(down > 10_485_760 && down < 11_000_000, "upstream_to_client \(down)")

            var lines: [[String: Any]] = []
            _ = try await eventually(timeout: .seconds(20), interval: .milliseconds(200)) {
                lines = try await harness.tunnelLines()
                return lines.count >= 3
            }
            #expect(lines.count == 3)
            for line in lines {
                #expect(line["route"] as? String == "sockets")
                #expect(line["upstream_status"] as? Int == 101)
                #expect((line["bytes_in"] as? Int ?? 0) > 0 && (line["bytes_out"] as? Int ?? 0) > 0)
                #expect((line["duration"] as? Double ?? 0) > 0)
            }
            // The 10 MB message went both ways through one of them.
            #expect(
                lines.contains {
                    ($0["bytes_in"] as? Int ?? 0) > 10_485_760 && ($0["bytes_out"] as? Int ?? 0) > 10_485_760
                }
            )
        }
    }

    @Test("wss to a TLS listener, and to an https upstream: the same tunnel")
    func secureTunnel() async throws {
        try await withWebSockets("ws-tls", tls: true) { harness in
            let secure = harness.secureBase
            let echo = try await harness.client(secure.options + ["echo", secure.url + "/ws"])
            #expect(echo["text"] as? Bool == true)
            #expect(echo["binary"] as? Bool == true)
            #expect(echo["large"] as? Bool == true)
            #expect(echo["pong"] as? Bool == true)
            #expect(echo["client_close_echoed"] as? Int == 4001)
            #expect(echo["server_close"] as? Int == 4002)
            let metrics = try await harness.metrics {
                $0.sum("gateway_websocket_connections_total", ["route": "sockets"]) == 2
                    && $0.sum("gateway_websocket_connections_active", ["route": "sockets"]) == 0
            }
            #expect(metrics.sum("gateway_websocket_connections_total", ["route": "sockets"]) == 2)

            // TLS on both sides: wss to the gateway, https to the upstream.
            let both = try await harness.client(secure.options + ["echo", secure.url + "/up-tls"])
            #expect(both["large"] as? Bool == true)
            #expect(both["pong"] as? Bool == true)
            #expect(both["client_close_echoed"] as? Int == 4001)
            #expect(both["server_close"] as? Int == 4002)
            let upstreamTLS = try await harness.metrics {
                $0.sum("gateway_websocket_connections_total", ["route": "upstream-tls"]) == 2
                    && $0.sum("gateway_websocket_connections_active", ["route": "upstream-tls"]) == 0
            }
            #expect(upstreamTLS.sum("gateway_websocket_connections_total", ["route": "upstream-tls"]) == 2)
        }
    }

    @Test("routes without the keys keep stripping Upgrade; h2c only where allowed; an unasked 101 is a 502")
    func upgradesNeedTheRouteKeys() async throws {
        try await withWebSockets("ws-routes") { harness in
            // Without enable_websocket the Upgrade header never reaches the server: it refuses the handshake.
            let plain = try await harness.client(["handshake", harness.base + "/plain/echo"])
            #expect(plain["status"] as? Int == 426)
            let forced = try await RawConnection.request(port: harness.gateway.port, "/plain/force101")
            #expect(forced.status == 502)

            func upstreamHeaders(_ path: String, _ protocolName: String) async throws -> [String: Any] {
                let result = try await Curl.run(
                    "\(harness.gateway.url)\(path)",
                    ["-H", "Upgrade: \(protocolName)", "-H", "Connection: Upgrade"],
                    in: harness.directory
                )
                #expect(result.status == 200)
                return try result.jsonObject()
            }
            let h2cOnSockets = try await upstreamHeaders("/ws/headers", "h2c")
            #expect(h2cOnSockets["upgrade"] == nil && h2cOnSockets["connection"] == nil)
            let h2cAllowed = try await upstreamHeaders("/h2c/headers", "h2c")
            #expect(h2cAllowed["upgrade"] as? String == "h2c")
            #expect(h2cAllowed["connection"] as? String == "Upgrade")
            let websocketOnH2C = try await upstreamHeaders("/h2c/headers", "websocket")
            #expect(websocketOnH2C["upgrade"] == nil)
            let websocketOnPlain = try await upstreamHeaders("/plain/headers", "websocket")
            #expect(websocketOnPlain["upgrade"] == nil && websocketOnPlain["connection"] == nil)
            let sockets = try await upstreamHeaders("/ws/headers", "websocket")
            #expect(sockets["upgrade"] as? String == "websocket")
        }
    }

    @Test("1,000 concurrent idle tunnels stay open and cheap")
    func thousandIdleTunnels() async throws {
        try await withWebSockets("ws-idle") { harness in
            // One tunnel first, so what the first one sets up once is not counted per tunnel.
            _ = try await harness.client(["handshake", harness.base + "/ws/echo"])
            let before = harness.residentKiB
            let ready = harness.directory.appendingPathComponent("idle.ready")
            let go = harness.directory.appendingPathComponent("idle.go")
            async let outcome = harness.client(
                ["idle", harness.base + "/ws", "1000", ready.path, go.path],
                timeout: .seconds(300)
            )
            let opened = try await eventually(timeout: .seconds(240), interval: .milliseconds(100)) {
                harness.number(in: ready) != nil
            }
            #expect(opened)
            #expect(harness.number(in: ready) == 1000)
            let metrics = try await harness.metrics {
                $0.sum("gateway_websocket_connections_active", ["route": "sockets"]) == 1000
            }
            #expect(metrics.sum("gateway_websocket_connections_active", ["route": "sockets"]) == 1000)
            let after = harness.residentKiB
            let perTunnel = Double(after - before) * 1024 / 1000
            print(
                "WebSocket idle tunnels: gateway RSS \(before) KiB -> \(after) KiB, \(Int(perTunnel)) bytes per tunnel"
            )
            #expect(perTunnel < 16 * 1024, "RSS per idle tunnel \(perTunnel) bytes")
            try Data().writeTestFile(to: go)
            let result = try await outcome
            #expect(result["opened"] as? Int == 1000)
            #expect(result["second"] as? Int == 1000)
            let closed = try await harness.metrics {
                $0.sum("gateway_websocket_connections_active", ["route": "sockets"]) == 0
            }
            #expect(closed.sum("gateway_websocket_connections_active", ["route": "sockets"]) == 0)
        }
    }

    @Test("a slow reader on either side does not make the gateway buffer")
    func slowReaders() async throws {
        try await withWebSockets("ws-slow") { harness in
            let total = 50 * 1024 * 1024
            // 10 MB each way first: every receive buffer and block the relay can use is touched once, so
            // what follows measures buffering, not the pools' first use.
            _ = try await harness.client(["echo", harness.base + "/ws"])
            let before = harness.residentKiB

            // The client stops reading while the server sends 50 MB.
            let ready = harness.directory.appendingPathComponent("read.ready")
            let go = harness.directory.appendingPathComponent("read.go")
            async let download = harness.client(["slowread", harness.base + "/ws", String(total), ready.path, go.path])
            let sent = try await harness.settledNumber(in: harness.floodProgressFile)
            let duringDownload = harness.residentKiB
            print(
                "WebSocket slow client: server blocked after \(sent) bytes; gateway RSS \(before) -> \(duringDownload) KiB"
            )
            #expect(sent < total)
            #expect(duringDownload - before < 8 * 1024)
            try Data().writeTestFile(to: go)
            let received = try await download
            #expect(received["received"] as? Int == total)
            #expect(received["last"] as? String == "done")

            // The server stops reading while the client sends 50 MB.
            let progress = harness.directory.appendingPathComponent("write.progress")
            // 100 MiB: loopback receive buffers autotune up to 32 MiB each (tcp_rmem), so a smaller upload
            // could fit in the kernel's buffers without the client ever blocking.
            let uploadTotal = 100 * 1024 * 1024
            async let upload = harness.client(["slowwrite", harness.base + "/ws", String(uploadTotal), progress.path])
            let written = try await harness.settledNumber(in: progress)
            let duringUpload = harness.residentKiB
            print(
                "WebSocket slow server: client blocked after \(written) bytes; gateway RSS \(before) -> \(duringUpload) KiB"
            )
            #expect(written < uploadTotal)
            #expect(duringUpload - before < 8 * 1024)
            try Data().writeTestFile(to: harness.sinkGoFile)
            let counted = try await upload
            #expect(counted["sent"] as? Int == uploadTotal)
            #expect(counted["counted"] as? Int == uploadTotal)
        }
    }

    @Test("an upgrade_protocols tunnel that is not a WebSocket: bytes both ways, a close on either side propagates")
    func plainUpgradeTunnel() async throws {
        try await withRawUpgrades("raw-upgrade") { gateway, server, directory in
            let port = String(gateway.port)
            let result = try await rawClient(["raw", "127.0.0.1", port, "/proto/echo", "x-echo"], in: directory)
            #expect(result["status"] as? Int == 101, "\(result)")
            #expect(result["echoed"] as? Bool == true, "1 MiB did not come back intact: \(result)")
            // The server's close reached the client, after the server's last bytes.
            #expect(result["server_close"] as? String == "bye\n", "\(result)")
            #expect(result["second_status"] as? Int == 101 && result["ping"] as? String == "ping", "\(result)")
            // The client's close reached the server.
            let serverLog = directory.appendingPathComponent("upgrade-server.log")
            let clientCloseSeen = try await eventually(timeout: .seconds(20), interval: .milliseconds(100)) {
                ((try? String(contentsOf: serverLog, encoding: .utf8)) ?? "").contains("peer closed after 4 bytes")
            }
            #expect(clientCloseSeen, "\((try? String(contentsOf: serverLog, encoding: .utf8)) ?? "")")

            let route = ["route": "proto"]
            var last: MetricsExposition?
            let counted = try await eventually(timeout: .seconds(20), interval: .milliseconds(100)) {
                let metrics = try await gateway.scrape().exposition
                last = metrics
                return metrics.sum("gateway_websocket_connections_total", route) == 2
                    && metrics.sum("gateway_websocket_connections_active", route) == 0
            }
            let metrics = try #require(last)
            #expect(counted, "\(metrics.samples("gateway_websocket_connections_total"))")
            let up = metrics.sum("gateway_tunnel_bytes_total", ["route": "proto", "direction": "client_to_upstream"])
            let down = metrics.sum("gateway_tunnel_bytes_total", ["route": "proto", "direction": "upstream_to_client"])
            #expect(up >= 1_048_576 + 4 && up < 1_100_000, "client_to_upstream \(up)")
            #expect(down >= 1_048_576 + 4 && down < 1_100_000, "upstream_to_client \(down)")
            _ = server
        }
    }

    @Test("without websocket_idle_timeout a quiet tunnel closes at the upstream's timeout.read")
    func idleTimeoutFallsBackToReadTimeout() async throws {
        try await withRawUpgrades("raw-idle") { gateway, _, directory in
            let result = try await rawClient(
                ["rawidle", "127.0.0.1", String(gateway.port), "/quick/echo", "x-echo"],
                in: directory
            )
            #expect(result["status"] as? Int == 101, "\(result)")
            // Upstream `raw-quick` has `timeout.read: 1`; the route sets no websocket_idle_timeout.
            let seconds = result["seconds"] as? Double ?? 0
            #expect(seconds > 0.8 && seconds < 15, "closed after \(seconds) s")
            var last: MetricsExposition?
            let counted = try await eventually(timeout: .seconds(20), interval: .milliseconds(100)) {
                let metrics = try await gateway.scrape().exposition
                last = metrics
                return metrics.sum("gateway_timeouts_total", ["kind": "tunnel_idle"]) == 1
            }
            #expect(counted, "\(String(describing: last?.samples("gateway_timeouts_total")))")
        }
    }

    @Test("a quiet tunnel closes at websocket_idle_timeout; the drain closes open tunnels")
    func idleTimeoutAndDrain() async throws {
        try await withWebSockets("ws-drain", drainTimeout: 1) { harness in
            let quiet = try await harness.client([
                "wait", harness.base + "/idle/echo", harness.directory.appendingPathComponent("quiet.ready").path,
            ])
            #expect(quiet["code"] as? Int == 1006)
            let quietSeconds = quiet["seconds"] as? Double ?? 0
            #expect(quietSeconds > 0.8 && quietSeconds < 15, "closed after \(quietSeconds) s")
            let metrics = try await harness.metrics {
                $0.sum("gateway_timeouts_total", ["kind": "tunnel_idle"]) == 1
            }
            #expect(metrics.sum("gateway_timeouts_total", ["kind": "tunnel_idle"]) == 1)

            let ready = harness.directory.appendingPathComponent("open.ready")
            async let open = harness.client(["wait", harness.base + "/ws/echo", ready.path])
            let tunnelOpen = try await eventually(timeout: .seconds(30)) {
                FileManager.default.fileExists(atPath: ready.path)
            }
            #expect(tunnelOpen)
            let status = await harness.gateway.stop(grace: .seconds(20))
            #expect(status == 0)
            let closed = try await open
            #expect(closed["code"] as? Int == 1006)
            // The count is taken as the workers finish, after the control plane's last scrape: the log has it.
            let log = harness.gateway.log
            #expect(
                log.contains("drain: closed 1 open tunnel at the end of shutdown.drain_timeout"),
                "\(harness.gateway.logTail)"
            )

            let lines = try await harness.tunnelLines()
            #expect(
                lines.contains { $0["route"] as? String == "idle" && $0["error"] as? String == "tunnel idle timeout" }
            )
            #expect(
                lines.contains {
                    $0["route"] as? String == "sockets"
                        && $0["error"] as? String == "tunnel closed at the end of the drain"
                },
                "\(lines)"
            )
        }
    }
}

/// Runs `body` with `ws_upgrade_server.py` behind a gateway whose routes allow `Upgrade: x-echo`:
/// `proto` (`/proto/*`, upstream `raw`, `timeout.read: 30`) and `quick` (`/quick/*`, upstream `raw-quick`,
/// `timeout.read: 1`), neither with `websocket_idle_timeout`.
private func withRawUpgrades(
    _ label: String,
    _ body: (GatewayProcess, ManagedProcess, URL) async throws -> Void
) async throws {
    try await timingSensitive {
        let directory = try IntegrationEnvironment.makeTemporaryDirectory(label)
        let portFile = directory.appendingPathComponent("upgrade.port")
        let (server, port) = try await ManagedProcess.launch(
            "ws_upgrade_server.py",
            executable: URL(fileURLWithPath: WebSocketHarness.python),
            arguments: [
                WebSocketHarness.supportDirectory.appendingPathComponent("ws_upgrade_server.py").path,
                "--port-file", portFile.path,
            ],
            logFile: directory.appendingPathComponent("upgrade-server.log")
        ) { () -> Int? in
            guard let text = try? String(contentsOf: portFile, encoding: .utf8), let port = Int(text),
                IntegrationEnvironment.portAccepts(port)
            else { return nil }
            return port
        }
        let gateway: GatewayProcess
        do {
            gateway = try await GatewayProcess.start(in: directory) { controlPort in
                """
                workers: 1
                listen: "127.0.0.1:0"
                control: {listen: "127.0.0.1:\(controlPort)"}
                metrics: {enabled: true}
                upstreams:
                  - id: raw
                    nodes: {"127.0.0.1:\(port)": 1}
                    timeout: {connect: 2, send: 30, read: 30}
                  - id: raw-quick
                    nodes: {"127.0.0.1:\(port)": 1}
                    timeout: {connect: 2, send: 30, read: 1}
                routes:
                  - id: proto
                    uris: ["/proto/*"]
                    upstream_id: raw
                    upgrade_protocols: [x-echo]
                  - id: quick
                    uris: ["/quick/*"]
                    upstream_id: raw-quick
                    upgrade_protocols: [x-echo]

                """
            }
        } catch {
            await server.terminate(grace: .seconds(2))
            throw error
        }
        try await IntegrationEnvironment.withTearDown(of: directory) {
            try await body(gateway, server, directory)
        } tearDown: {
            let clean = await gateway.finish()
            await server.terminate(grace: .seconds(2))
            return clean
        }
    }
}

/// Runs `ws_client.py` (its raw modes) and returns the JSON it printed.
private func rawClient(_ arguments: [String], in directory: URL) async throws -> [String: Any] {
    let result = try await Command.run(
        WebSocketHarness.python,
        [WebSocketHarness.supportDirectory.appendingPathComponent("ws_client.py").path] + arguments,
        in: directory,
        timeout: .seconds(120)
    )
    guard result.exitCode == 0,
        let object = try? JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any]
    else {
        throw IntegrationError("ws_client.py \(arguments) failed (\(result.exitCode)): \(result.stdout)\(result.log)")
    }
    return object
}
