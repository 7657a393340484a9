import Foundation
import TestSupport
import Testing

/// gRPC through the gateway with real grpcio (Debian `python3-grpcio`) on both sides: a client on an
/// h2c listener, the gateway's `grpc` (h2c) and `grpcs` (h2 over TLS, verified against a test CA)
/// upstreams in front of `Tests/Support/grpc_server.py`.
@Suite(.serialized) struct GRPCIntegrationTests {
    static let python = "/usr/bin/python3"
    static let support = IntegrationEnvironment.upstreamScript.deletingLastPathComponent()

    /// The gateway and the server of one test.
    struct Setup {
        let gateway: GatewayProcess
        let server: ManagedProcess
        let directory: URL
        /// The gateway's h2c listener.
        var h2cPort: Int {
            for line in gateway.log.split(separator: "\n") where line.contains("listening on") {
                if let port = GatewayProcess.listeningPort(in: String(line)), port != gateway.port { return port }
            }
            return -1
        }

        /// Runs `grpc_client.py` against the h2c listener; one JSON object per call.
        func call(_ calls: [String]) async throws -> [[String: Any]] {
            let result = try await Command.run(
                GRPCIntegrationTests.python,
                [support.appendingPathComponent("grpc_client.py").path, "--target", "127.0.0.1:\(h2cPort)"] + calls,
                in: directory,
                timeout: .seconds(60)
            )
            let objects = result.stdout.split(separator: "\n").compactMap {
                try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
            }
            guard result.exitCode == 0, objects.count == calls.count else {
                throw IntegrationError(
                    "grpc_client.py \(calls) failed (\(result.exitCode)): \(result.stdout)\(result.log)"
                )
            }
            return objects
        }

        /// Runs Python `script` (named `name` in the test's directory) with the h2c listener's address as
        /// its argument; returns the JSON object it printed.
        func runScript(_ script: String, named name: String, timeout: Duration) async throws -> [String: Any] {
            let file = directory.appendingPathComponent(name)
            try script.writeTestFile(to: file)
            let result = try await Command.run(
                GRPCIntegrationTests.python,
                [file.path, "127.0.0.1:\(h2cPort)"],
                in: directory,
                timeout: timeout
            )
            guard let object = try? JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any]
            else {
                throw IntegrationError(
                    "\(name) printed no JSON object (\(result.exitCode)): \(result.stdout)\(result.log)"
                )
            }
            return object
        }

        /// Stops both; whether the gateway ended cleanly.
        func finish() async -> Bool {
            let clean = await gateway.finish()
            _ = await server.terminate(grace: .seconds(2))
            return clean
        }

        /// Starts grpc_server.py (h2c and TLS ports) and a gateway with an h2c listener, a `grpc` upstream
        /// (route `echo`) and a `grpcs` one (route `echo-tls`, under `/tls/`).
        static func start(_ label: String) async throws -> Setup {
            let directory = try IntegrationEnvironment.makeTemporaryDirectory(label)
            let certificates = try await TestCertificates.authority(in: directory)
            let issued = try await certificates.issue(["localhost"])
            let portFile = directory.appendingPathComponent("grpc.port")
            let tlsPortFile = directory.appendingPathComponent("grpc-tls.port")
            let (server, port) = try await ManagedProcess.launch(
                "grpc_server.py",
                executable: URL(fileURLWithPath: python),
                arguments: [
                    support.appendingPathComponent("grpc_server.py").path, "--port-file", portFile.path,
                    "--tls-cert", issued.certificate.path, "--tls-key", issued.key.path, "--tls-port-file",
                    tlsPortFile.path,
                ],
                logFile: directory.appendingPathComponent("grpc-server.log")
            ) { () -> Int? in
                guard let text = try? String(contentsOf: portFile, encoding: .utf8), let port = Int(text),
                    IntegrationEnvironment.portAccepts(port)
                else { return nil }
                return port
            }
            do {
                let tlsPort = (try? String(contentsOf: tlsPortFile, encoding: .utf8)).flatMap { Int($0) } ?? -1
                let refusing = try Loopback.unusedPort()
                let accessLog = directory.appendingPathComponent("access.log.zst")
                let gateway = try await GatewayProcess.start(in: directory) { control in
                    """
                    workers: 1
                    listen: ["127.0.0.1:0", {address: "127.0.0.1:0", http2: true}]
                    control: {listen: "127.0.0.1:\(control)"}
                    config: {watch: false}
                    access_log: {enabled: true, path: "\(accessLog.path)", format: json, flush_interval: 0.2}
                    upstreams:
                      - id: plain
                        scheme: grpc
                        nodes: {"127.0.0.1:\(port)": 1}
                      - id: secure
                        scheme: grpcs
                        nodes: {"127.0.0.1:\(tlsPort)": 1}
                        tls: {verify: true, sni: localhost, ca_file: "\(certificates.authority.certificate.path)"}
                      - id: down
                        scheme: grpc
                        nodes: {"127.0.0.1:\(refusing)": 1}
                        retries: 0
                    routes:
                      - id: echo
                        uri: /gateway.test.Echo/*
                        upstream_id: plain
                      - id: echo-down
                        uri: /down/gateway.test.Echo/*
                        upstream_id: down
                      - id: echo-tls
                        uri: /tls/gateway.test.Echo/*
                        upstream_id: secure
                        plugins: {proxy-rewrite: {regex_uri: ["^/tls/(.*)", "/$1"]}}
                    """
                }
                return Setup(gateway: gateway, server: server, directory: directory)
            } catch {
                _ = await server.terminate(grace: .seconds(2))
                throw error
            }
        }
    }

    static func withSetup(_ label: String, _ body: (Setup) async throws -> Void) async throws {
        try await timingSensitive {
            let setup = try await Setup.start(label)
            try await IntegrationEnvironment.withTearDown(of: setup.directory) {
                try await body(setup)
            } tearDown: {
                await setup.finish()
            }
        }
    }

    @Test("unary, server-streaming and ping-pong bidi calls, with status codes and trailers passed through")
    func callsAndStatuses() async throws {
        try await Self.withSetup("grpc-calls") { setup in
            let results = try await setup.call([
                "unary:hello", "fail:5", "fail:14", "stream:5", "bidi:a,b,c", "pingpong:x,y,z",
            ])
            #expect(results[0]["code"] as? String == "OK")
            #expect(results[0]["responses"] as? [String] == ["hello"])
            #expect((results[0]["trailers"] as? [String: String])?["x-trailer"] == "unary")
            #expect(results[1]["code"] as? String == "NOT_FOUND")
            #expect(results[1]["details"] as? String == "asked to fail")
            #expect(results[2]["code"] as? String == "UNAVAILABLE")
            #expect(results[3]["responses"] as? [String] == (0..<5).map { "item-\($0)" })
            #expect(results[4]["responses"] as? [String] == ["A", "B", "C"])
            // Each message went out only after the previous answer came back: both directions streamed.
            #expect(results[5]["code"] as? String == "OK", "\(results[5])")
            #expect(results[5]["responses"] as? [String] == ["X", "Y", "Z"])

            let (_, metrics) = try await setup.gateway.scrape()
            #expect(metrics.sum("gateway_grpc_requests_total", ["route": "echo", "grpc_status": "0"]) == 4)
            #expect(metrics.sum("gateway_grpc_requests_total", ["route": "echo", "grpc_status": "5"]) == 1)
            #expect(metrics.sum("gateway_grpc_requests_total", ["route": "echo", "grpc_status": "14"]) == 1)
            // HTTP alone sees six 200s.
            #expect(metrics.sum("gateway_http_requests_total", ["route": "echo", "code": "200"]) == 6)

            var lines: [[String: Any]] = []
            let logged = try await eventually(timeout: .seconds(20), interval: .milliseconds(200)) {
                lines = try await Command.zstdLines(
                    of: setup.directory.appendingPathComponent("access.log.zst"),
                    in: setup.directory
                ).compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
                return lines.count >= 6
            }
            #expect(logged, "access lines: \(lines)")
            #expect(lines.allSatisfy { $0["protocol"] as? String == "HTTP/2.0" })
            #expect(lines.compactMap { $0["grpc_status"] as? Int }.sorted() == [0, 0, 0, 0, 5, 14])
        }
    }

    @Test("grpcs: HTTP/2 over TLS to the server, verified against the test CA")
    func overTLS() async throws {
        try await Self.withSetup("grpc-tls") { setup in
            let script = """
                import grpc, json, sys
                channel = grpc.insecure_channel(sys.argv[1])
                unary = channel.unary_unary("/tls/gateway.test.Echo/Unary")
                stream = channel.unary_stream("/tls/gateway.test.Echo/ServerStream")
                out = {"unary": unary(b"sealed", timeout=10).decode(),
                       "stream": [item.decode() for item in stream(b"3", timeout=10)]}
                try:
                    unary(b"fail:7", timeout=10)
                except grpc.RpcError as error:
                    out["fail"] = error.code().name
                print(json.dumps(out))
                """
            let object = try await setup.runScript(script, named: "tls_client.py", timeout: .seconds(60))
            #expect(object["unary"] as? String == "sealed")
            #expect(object["stream"] as? [String] == ["item-0", "item-1", "item-2"])
            #expect(object["fail"] as? String == "PERMISSION_DENIED")
            let (_, metrics) = try await setup.gateway.scrape()
            #expect(metrics.sum("gateway_grpc_requests_total", ["route": "echo-tls", "grpc_status": "7"]) == 1)
            #expect(
                metrics.sum("gateway_upstream_connections_total", ["upstream": "secure", "event": "failed"]) == 0
            )
        }
    }

    @Test("concurrent calls are streams multiplexed on one upstream connection")
    func multiplexed() async throws {
        try await Self.withSetup("grpc-mux") { setup in
            let script = """
                import grpc, json, sys, concurrent.futures
                channel = grpc.insecure_channel(sys.argv[1])
                stream = channel.unary_stream("/gateway.test.Echo/ServerStream")
                def call(index):
                    return len(list(stream(b"20", timeout=30)))
                with concurrent.futures.ThreadPoolExecutor(16) as pool:
                    counts = list(pool.map(call, range(100)))
                print(json.dumps({"counts": sorted(set(counts)), "calls": len(counts)}))
                """
            let object = try await setup.runScript(script, named: "fan_out.py", timeout: .seconds(120))
            #expect(object["calls"] as? Int == 100)
            #expect(object["counts"] as? [Int] == [20])
            let (_, metrics) = try await setup.gateway.scrape()
            #expect(metrics.sum("gateway_grpc_requests_total", ["route": "echo", "grpc_status": "0"]) == 100)
            // Up to 16 calls at once, all on one HTTP/2 connection to the server.
            #expect(metrics.sum("gateway_upstream_connections_total", ["upstream": "plain", "event": "opened"]) == 1)
        }
    }

    @Test("a node that refuses the connection: the call fails UNAVAILABLE, and the gateway serves on")
    func refusedNode() async throws {
        try await Self.withSetup("grpc-down") { setup in
            let script = """
                import grpc, json, sys
                channel = grpc.insecure_channel(sys.argv[1])
                out = {}
                try:
                    channel.unary_unary("/down/gateway.test.Echo/Unary")(b"x", timeout=10)
                    out["down"] = "OK"
                except grpc.RpcError as error:
                    out["down"] = error.code().name
                out["up"] = channel.unary_unary("/gateway.test.Echo/Unary")(b"still", timeout=10).decode()
                print(json.dumps(out))
                """
            let object = try await setup.runScript(script, named: "down_client.py", timeout: .seconds(60))
            // The gateway's 502 is what a gRPC client reads as UNAVAILABLE.
            #expect(object["down"] as? String == "UNAVAILABLE", "\(object)")
            #expect(object["up"] as? String == "still")
            let (_, metrics) = try await setup.gateway.scrape()
            #expect(metrics.sum("gateway_upstream_connections_total", ["upstream": "down", "event": "failed"]) >= 1)
            #expect(metrics.sum("gateway_http_requests_total", ["route": "echo-down", "code": "502"]) == 1)
        }
    }
}
