import Foundation
import TestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// HTTP/2 on the data plane: h2c with prior knowledge and ALPN h2 on listeners with `http2: true`, every
/// stream proxied as an HTTP/1.1 exchange, the protections against the known HTTP/2 attacks, and GOAWAY on
/// drain and idle. Real processes: the gateway, `upstream.py`, curl, h2load and `h2_probe.py`.
@Suite("Integration: HTTP/2", .serialized, .sharedHTTP2Gateway)
struct HTTP2IntegrationTests {
    private var harness: HTTP2Harness {
        get throws { try #require(HTTP2Harness.shared, "the suite trait starts the shared gateway") }
    }

    @Test("h2c with prior knowledge and HTTP/1.1 on the http2 listener; the plain listener speaks no h2")
    func h2cPriorKnowledge() async throws {
        let harness = try harness
        let h2 = try await harness.curl(.h2c, "/big?size=200000", ["--http2-prior-knowledge"])
        #expect(h2.exitCode == 0 && h2.status == 200, "\(h2.summary)")
        #expect(h2.version == "2", "\(h2.summary)")
        #expect(h2.body == expectedPattern(200_000), "h2c body of \(h2.body.count) bytes differs from the pattern")

        let http1 = try await harness.curl(.h2c, "/big?size=200000", ["--http1.1"])
        #expect(http1.exitCode == 0 && http1.status == 200, "\(http1.summary)")
        #expect(http1.version == "1.1", "\(http1.summary)")
        #expect(http1.body == h2.body)

        let plain = try await harness.curl(.plain, "/status/200", ["--http2-prior-knowledge", "--max-time", "10"])
        #expect(plain.version != "2", "the listener without http2 spoke HTTP/2: \(plain.summary)")
        #expect(plain.status != 200, "the listener without http2 answered an h2 request: \(plain.summary)")
        let plainHTTP1 = try await harness.curl(.plain, "/status/200", ["--http1.1"])
        #expect(plainHTTP1.status == 200 && plainHTTP1.version == "1.1", "\(plainHTTP1.summary)")
    }

    @Test("TLS listener with http2 offers ALPN h2 and still http/1.1")
    func tlsALPN() async throws {
        let harness = try harness
        let h2 = try await harness.curl(.tls, "/big?size=200000", ["--http2"])
        #expect(h2.exitCode == 0 && h2.status == 200, "\(h2.summary)")
        #expect(h2.version == "2", "ALPN did not pick h2: \(h2.summary)")
        #expect(h2.body == expectedPattern(200_000), "TLS h2 body of \(h2.body.count) bytes differs from the pattern")

        let http1 = try await harness.curl(.tls, "/status/200", ["--http1.1"])
        #expect(http1.exitCode == 0 && http1.status == 200, "\(http1.summary)")
        #expect(http1.version == "1.1", "\(http1.summary)")

        let probe = try await harness.probe("get", on: .tls, ["--path", "/status/200"])
        #expect(probe.json["alpn"] as? String == "h2", "\(probe)")
        #expect(probe.status == "200", "\(probe)")
    }

    @Test("1 MB request bodies with and without content-length are echoed intact over h2c and TLS")
    func requestBodies() async throws {
        let harness = try harness
        let payload = harness.directory.appendingPathComponent("payload-1m")
        let bytes = (0..<1_048_576).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ $0 >> 11) }
        try Data(bytes).writeTestFile(to: payload)
        for listener in [HTTP2Harness.Listener.h2c, .tls] {
            let version = listener == .tls ? "--http2" : "--http2-prior-knowledge"
            let withLength = try await harness.curl(listener, "/echo", [version, "--data-binary", "@\(payload.path)"])
            #expect(withLength.status == 200 && withLength.version == "2", "\(listener): \(withLength.summary)")
            #expect(
                withLength.body == bytes,
                "\(listener): content-length body echoed as \(withLength.body.count) bytes"
            )

            // `-T -` streams stdin: DATA frames without content-length, which go upstream chunked.
            let streamed = try await harness.curl(listener, "/echo", [version, "-T", "-"], stdinFile: payload)
            #expect(streamed.status == 200 && streamed.version == "2", "\(listener): \(streamed.summary)")
            #expect(streamed.body == bytes, "\(listener): streamed body echoed as \(streamed.body.count) bytes")
        }
        // What the upstream saw for a body without length: chunked, no content-length.
        let small = harness.directory.appendingPathComponent("payload-small")
        try Data("hello over h2".utf8).writeTestFile(to: small)
        let seen = try await harness.curl(.h2c, "/headers", ["--http2-prior-knowledge", "-T", "-"], stdinFile: small)
        #expect(seen.status == 200, "\(seen.summary)")
        let headers = try upstreamHeaders(seen)
        #expect(headers["transfer-encoding"]?.lowercased() == "chunked", "upstream saw \(headers)")
        #expect(headers["content-length"] == nil, "upstream saw \(headers)")
    }

    @Test("response trailers of a chunked upstream response reach the HTTP/2 client; 100 Continue as HEADERS")
    func trailers() async throws {
        let harness = try harness
        for listener in [HTTP2Harness.Listener.h2c, .tls] {
            let result = try await harness.probe("trailers", on: listener, ["--path", "/chunked?chunks=5&size=3000"])
            #expect(result.error == nil && result.status == "200", "\(listener): \(result)")
            let trailers = try #require(result.trailers, "\(listener): no trailing HEADERS: \(result)")
            let checksum = trailers.first { $0.first == "x-checksum" }?.last
            #expect(checksum != nil, "\(listener): trailers \(trailers)")
            #expect(checksum == result.json["body_sha256"] as? String, "\(listener): \(result)")
            #expect(result.json["body_bytes"] as? Int == 15_000, "\(listener): \(result)")
            #expect(!trailers.contains { $0.first == ":status" }, "\(listener): trailers \(trailers)")
        }
        // The gateway's own 100 Continue (for `expect: 100-continue`) is an informational HEADERS block.
        let expect = try await harness.probe("expect", on: .h2c, ["--path", "/echo"])
        let statuses = expect.blocks.compactMap { block in block.first { $0.first == ":status" }?.last }
        #expect(statuses == ["100", "200"], "\(expect)")
        #expect(expect.json["interim_first"] as? Bool == true, "no 100 before the body was sent: \(expect)")
        #expect(expect.json["body"] as? String == "hello", "\(expect)")
        // An upstream's 103 is not forwarded (on HTTP/1.1 neither), and does not break the stream.
        let early = try await harness.probe("trailers", on: .h2c, ["--path", "/early"])
        #expect(early.status == "200" && early.json["body_bytes"] as? Int == 11, "\(early)")
    }

    @Test("request trailers reach the upstream as a chunked trailer section; trailers that cannot go reset the stream")
    func requestTrailers() async throws {
        let harness = try harness
        // A body without content-length goes up chunked: the trailers follow its final chunk.
        let forwarded = try await harness.probe("request-trailers", on: .h2c, ["--path", "/rec/record"])
        #expect(forwarded.error == nil && forwarded.status == "200", "\(forwarded)")
        let seen = try #require(
            try? JSONSerialization.jsonObject(with: Data((forwarded.json["body"] as? String ?? "").utf8))
                as? [String: Any],
            "\(forwarded)"
        )
        #expect(seen["framing"] as? String == "chunked", "\(seen)")
        #expect(seen["body_bytes"] as? Int == 14, "\(seen)")
        let trailers = seen["trailers"] as? [[String]] ?? []
        #expect(trailers.contains(["x-trailer-one", "1"]), "\(seen)")
        // The probe's x-checksum is sha256("hello trailers").
        let checksum = trailers.first { $0.first == "x-checksum" }?.last
        #expect(checksum == "751deea5412df1b310ba8b50f84808766b2fc2477cb54af5033d270f74e46601", "\(seen)")

        // Trailers with a content-length body, or over a block, cannot go up: the stream is reset, and
        // counted as a reset the gateway sent. The trailers come half a second after the body, and the
        // upstream holds those requests open (it waits for a go file), so they arrive while the request is
        // on its way upstream (before it is, the gateway answers 400 itself).
        let go = harness.directory.appendingPathComponent("trailers.go")
        defer { try? Data().writeTestFile(to: go) }
        let before = try await harness.metrics()
        let withLength = try await harness.probe(
            "request-trailers",
            on: .h2c,
            ["--path", "/rec/sink?go=\(go.path)", "--with-length", "--trailer-delay", "0.5"]
        )
        #expect(withLength.error == nil, "\(withLength)")
        #expect(withLength.json["stream_reset"] as? String == "INTERNAL_ERROR", "\(withLength)")
        #expect(withLength.status == nil, "\(withLength)")
        let oversized = try await harness.probe(
            "request-trailers",
            on: .h2c,
            ["--path", "/rec/sink?go=\(go.path)", "--trailer-bytes", "60000", "--trailer-delay", "0.5"]
        )
        #expect(oversized.error == nil, "\(oversized)")
        #expect(oversized.json["stream_reset"] as? String == "INTERNAL_ERROR", "\(oversized)")
        let name = "gateway_http2_resets_total"
        let (after, counted) = try await harness.metrics(until: { after in
            after.sum(name, ["direction": "sent"]) >= before.sum(name, ["direction": "sent"]) + 2
        })
        #expect(counted, "resets: \(after.samples(name)), before \(before.samples(name))")
        // Logged with why.
        var reasons: [String] = []
        let logged = try await eventually(timeout: .seconds(10), interval: .milliseconds(100)) {
            reasons = harness.accessRecords().compactMap { record in
                guard (record["path"] as? String)?.hasPrefix("/rec/sink") == true else { return nil }
                return record["error"] as? String
            }
            return reasons.filter { $0 == "request trailers cannot be forwarded" }.count >= 2
        }
        #expect(logged, "access log errors of the refused streams: \(reasons)")
    }

    @Test("a 20 MB HTTP/2 upload to an upstream that does not read stays in flow control, not in the gateway")
    func uploadBackpressure() async throws {
        let harness = try harness
        let total = 20 * 1024 * 1024
        let go = harness.directory.appendingPathComponent("upload.go")
        let progress = harness.directory.appendingPathComponent("upload.progress")
        // First uploads (on new connections, so on both workers most likely) touch the buffers the relay
        // uses, so what follows measures buffering, not the pools' first use.
        try Data().writeTestFile(to: go)
        for _ in 0..<4 {
            let warm = try await harness.probe(
                "upload",
                on: .h2c,
                ["--path", "/rec/sink?go=\(go.path)", "--size", "4000000"],
                timeout: 60
            )
            #expect(warm.status == "200", "\(warm)")
        }
        try FileManager.default.removeItem(at: go)
        let before = harness.gateway.residentKiB ?? 0

        async let upload = harness.probe(
            "upload",
            on: .h2c,
            ["--path", "/rec/sink?go=\(go.path)", "--size", String(total), "--progress", progress.path],
            timeout: 120
        )
        let sent = try await settledNumber(in: progress)
        let during = harness.gateway.residentKiB ?? 0
        print(
            "HTTP/2 upload to a stalled upstream: client blocked after \(sent) bytes; RSS \(before) -> \(during) KiB"
        )
        #expect(sent < total, "the client sent everything to an upstream that reads nothing")
        // Without backpressure the gateway would hold what the kernel buffers do not: over 15 MB here.
        #expect(during - before < 10 * 1024, "gateway RSS grew \(during - before) KiB")
        try Data().writeTestFile(to: go)
        let result = try await upload
        #expect(result.error == nil && result.status == "200", "\(result)")
        let body = try? JSONSerialization.jsonObject(with: Data((result.json["body"] as? String ?? "").utf8))
        #expect((body as? [String: Any])?["bytes"] as? Int == total, "\(result)")
    }

    @Test("a slow HTTP/2 reader of a fast 60 MB download does not make the gateway buffer it")
    func slowReader() async throws {
        let harness = try harness
        let size = 60 * 1024 * 1024
        let sampler = ResidentSetSampler(pid: harness.gateway.pid)
        let clock = ContinuousClock()
        let started = clock.now
        let result = try await harness.curl(
            .h2c,
            "/big?size=\(size)",
            ["--http2-prior-knowledge", "--limit-rate", "30M"]
        )
        let seconds = Double((clock.now - started).components.seconds)
        let peak = await sampler.stop()
        #expect(result.status == 200 && result.version == "2", "\(result.status) \(result.version) \(result.stderr)")
        #expect(result.body.count == size)
        #expect(seconds >= 1, "the rate limit did not apply")
        #expect(peak < 64 * 1024, "gateway peak RSS \(peak) KiB while a slow HTTP/2 client downloads 60 MB")
    }

    @Test("the client's stream window caps what the gateway sends until the client opens it")
    func flowControlWindow() async throws {
        let harness = try harness
        // A raw h2 client: default 65,535-byte windows, no WINDOW_UPDATE for 2 s, then a large one.
        let script = """
            import json, socket, sys, time
            import h2.connection, h2.config, h2.events
            sock = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=10)
            conn = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True))
            conn.initiate_connection()
            conn.send_headers(1, [(":method", "GET"), (":scheme", "http"), (":authority", "t"),
                                  (":path", "/big?size=4000000")], end_stream=True)
            sock.sendall(conn.data_to_send())
            received, ended, opened = 0, False, False
            before = None
            start = time.time()
            while not ended and time.time() - start < 20:
                if not opened and time.time() - start > 2:
                    before = received
                    conn.increment_flow_control_window(2**31 - 1 - 65535)
                    conn.increment_flow_control_window(2**31 - 1 - 65535, stream_id=1)
                    opened = True
                    sock.sendall(conn.data_to_send())
                sock.settimeout(0.2)
                try:
                    data = sock.recv(65536)
                except socket.timeout:
                    continue
                if not data:
                    break
                for event in conn.receive_data(data):
                    if isinstance(event, h2.events.DataReceived):
                        received += len(event.data)
                    if isinstance(event, h2.events.StreamEnded):
                        ended = True
                sock.sendall(conn.data_to_send())
            print(json.dumps({"before_update": before, "received": received, "ended": ended}))
            """
        let file = harness.directory.appendingPathComponent("window_client.py")
        try script.writeTestFile(to: file)
        let result = try await Command.run(
            "/usr/bin/python3",
            [file.path, String(harness.port(.h2c))],
            in: harness.directory,
            timeout: .seconds(60)
        )
        let object = try #require(
            try? JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any],
            "\(result.stdout)\(result.log)"
        )
        // Exactly the initial window arrived while it was closed; the rest once it opened.
        #expect(object["before_update"] as? Int == 65_535, "\(object)")
        #expect(object["received"] as? Int == 4_000_000, "\(object)")
        #expect(object["ended"] as? Bool == true, "\(object)")
    }

    @Test("multiplexing with h2load on h2c and TLS; gauges back to 0; access log says HTTP/2.0")
    func multiplexing() async throws {
        let harness = try harness
        for listener in [HTTP2Harness.Listener.h2c, .tls] {
            let load = try await harness.h2load(
                listener,
                "/\(listener)-load/status/200",
                ["-n", "2000", "-c", "4", "-m", "20"]
            )
            #expect(load.exitCode == 0, "\(listener): \(load.output)")
            #expect(load.requests["succeeded"] == 2000, "\(listener): \(load.output)")
            #expect(load.statusCodes["2xx"] == 2000, "\(listener): \(load.output)")
        }
        let (metrics, idle) = try await harness.metrics(until: { metrics in
            metrics.value("gateway_http2_streams_active") == 0 && metrics.value("gateway_http2_connections_active") == 0
        })
        #expect(
            idle,
            """
            streams \(String(describing: metrics.value("gateway_http2_streams_active"))), \
            connections \(String(describing: metrics.value("gateway_http2_connections_active")))
            """
        )
        // Every stream is logged as its own request, with protocol HTTP/2.0.
        var counts: [String: Int] = [:]
        let logged = try await eventually(timeout: .seconds(10), interval: .milliseconds(100)) {
            counts = [:]
            for record in harness.accessRecords() {
                guard let path = record["path"] as? String, path.hasSuffix("-load/status/200") else { continue }
                counts[
                    "\(path) \(record["protocol"] as? String ?? "?") \(record["status"] as? Int ?? 0)",
                    default: 0
                ] += 1
            }
            return counts["/h2c-load/status/200 HTTP/2.0 200"] == 2000
                && counts["/tls-load/status/200 HTTP/2.0 200"] == 2000
        }
        #expect(logged, "access log records of the load: \(counts)")
    }

    /// One HTTP/2 attack from `h2_probe.py` and what the gateway must answer.
    struct Attack: CustomTestStringConvertible, Sendable {
        var name: String
        var options: [String] = ["--path", "/status/200"]
        /// The GOAWAY error code expected, or nil when the connection survives with a 431.
        var goaway: String?
        /// The `reason` label of `gateway_http2_goaway_sent_total` expected to go up.
        var reason: String?

        var testDescription: String { name }
    }

    static let attacks: [Attack] = [
        Attack(name: "max-streams", goaway: "PROTOCOL_ERROR", reason: "protocol_error"),
        Attack(name: "rapid-reset", goaway: "ENHANCE_YOUR_CALM", reason: "rapid_reset"),
        Attack(name: "continuation-flood", goaway: "ENHANCE_YOUR_CALM", reason: "flood"),
        Attack(name: "settings-flood", goaway: "ENHANCE_YOUR_CALM", reason: "flood"),
        Attack(name: "ping-flood", goaway: "ENHANCE_YOUR_CALM", reason: "flood"),
        Attack(name: "empty-frames", goaway: "ENHANCE_YOUR_CALM", reason: "flood"),
        Attack(name: "hpack-bomb"),
        Attack(name: "big-headers"),
    ]

    @Test("each HTTP/2 attack gets its GOAWAY or 431, is counted, and the gateway serves on", arguments: attacks)
    func protection(_ attack: Attack) async throws {
        let harness = try harness
        let before = try await harness.metrics()
        let result = try await harness.probe(attack.name, on: .h2c, attack.options, timeout: 15)
        #expect(result.error == nil, "\(result)")
        if let expected = attack.goaway {
            #expect(result.goaway, "no GOAWAY: \(result)")
            #expect(result.goawayError == expected, "\(result)")
            // The gateway lingers after its GOAWAY: the connection ends with a FIN, not a reset.
            #expect(result.json["connection_reset"] as? Bool != true, "\(result)")
        } else {
            // The stream over the limit gets 431; the connection lives on.
            #expect(!result.goaway, "\(result)")
            let status = attack.name == "hpack-bomb" ? result.streamStatus(3) : result.status
            #expect(status == "431", "\(result)")
            if attack.name == "hpack-bomb" {
                #expect(result.streamStatus(1) == "200", "the stream filling the table: \(result)")
            }
        }
        // Counted: the GOAWAY by its reason, a 431 as a rejected request; resets received for rapid reset.
        let (after, counted) = try await harness.metrics(until: { after in
            var done: Bool
            if let reason = attack.reason {
                let name = "gateway_http2_goaway_sent_total"
                done = after.sum(name, ["reason": reason]) > before.sum(name, ["reason": reason])
            } else {
                // Like HTTP/1.1's, an h2 header list over the limit counts as a request the parser rejected.
                let name = "gateway_http_rejected_requests_total"
                let labels = ["reason": "header_too_large"]
                done = after.sum(name, labels) > before.sum(name, labels)
            }
            if attack.name == "rapid-reset" {
                let name = "gateway_http2_resets_total"
                done =
                    done
                    && after.sum(name, ["direction": "received"]) >= before.sum(name, ["direction": "received"]) + 1000
            }
            return done
        })
        #expect(
            counted,
            """
            not counted; goaway_sent_total: \(after.samples("gateway_http2_goaway_sent_total")), \
            resets: \(after.samples("gateway_http2_resets_total")), \
            rejected: \(after.samples("gateway_http_rejected_requests_total"))
            """
        )
        // The gateway survived: a new connection is served.
        let next = try await harness.curl(.h2c, "/status/200", ["--http2-prior-knowledge"])
        #expect(next.status == 200 && next.version == "2", "after \(attack.name): \(next.summary)")
        #expect(harness.gateway.process.isRunning, "gateway gone after \(attack.name):\n\(harness.gateway.logTail)")
    }

    @Test("SIGTERM: GOAWAY NO_ERROR to h2 clients, their in-flight streams still complete with 200")
    func gracefulDrain() async throws {
        try await HTTP2Harness.with("h2-drain", drainTimeout: 15) { harness in
            let options = ["--path", "/slow?delay=3", "--idle", "0"]
            let probes = [HTTP2Harness.Listener.h2c, .tls].map { listener in
                Task { try await harness.probe("get", on: listener, options, timeout: 25) }
            }
            let reached = try await eventually(timeout: .seconds(15), interval: .milliseconds(50)) {
                try await harness.upstream.counts().requests >= 2
            }
            try #require(reached, "the slow requests never reached the upstream")
            harness.gateway.expectExit()
            harness.gateway.process.signal(SIGTERM)
            for (listener, probe) in zip(["h2c", "tls"], probes) {
                let result = try await probe.value
                #expect(result.goaway, "\(listener): no GOAWAY on drain: \(result)")
                #expect(result.goawayError == "NO_ERROR", "\(listener): \(result)")
                #expect(result.status == "200", "\(listener): in-flight stream did not complete: \(result)")
                #expect(result.json["body_bytes"] as? Int == 5, "\(listener): body \"slept\" expected: \(result)")
                #expect((result.json["last_stream_id"] as? Int ?? 0) >= 1, "\(listener): \(result)")
            }
            let code = await harness.gateway.process.waitForExit(timeout: .seconds(15))
            #expect(code == 0, "gateway exit status \(String(describing: code)):\n\(harness.gateway.logTail)")
        }
    }

    @Test("an h2 connection without streams for limits.keepalive_timeout gets GOAWAY (reason idle)")
    func idleGoaway() async throws {
        try await HTTP2Harness.with("h2-idle", keepaliveTimeout: 1) { harness in
            // Both at once: each waits up to 6 s for its GOAWAY.
            let probes = [HTTP2Harness.Listener.h2c, .tls].map { listener in
                (
                    listener,
                    Task { try await harness.probe("idle", on: listener, ["--path", "/status/200"], timeout: 6) }
                )
            }
            for (listener, probe) in probes {
                let result = try await probe.value
                #expect(result.status == "200", "\(listener): \(result)")
                #expect(result.goaway, "\(listener): no GOAWAY within 5 s of 1 s idle: \(result)")
                #expect(result.goawayError == "NO_ERROR", "\(listener): \(result)")
                let after = result.json["goaway_after_ms"] as? Int ?? -1
                #expect(after >= 800 && after < 5_000, "\(listener): GOAWAY \(after) ms after the response")
                #expect(result.closed, "\(listener): connection left open after the idle GOAWAY: \(result)")
            }
            let (metrics, counted) = try await harness.metrics(
                until: { metrics in
                    metrics.sum("gateway_http2_goaway_sent_total", ["reason": "idle"]) >= 2
                        && metrics.value("gateway_http2_connections_active") == 0
                },
                timeout: .seconds(3)
            )
            #expect(
                counted,
                """
                goaway: \(metrics.samples("gateway_http2_goaway_sent_total")), \
                connections: \(String(describing: metrics.value("gateway_http2_connections_active")))
                """
            )
        }
    }

    /// Waits until the integer in `file` exists and has not changed for `quiet` (its writer is blocked).
    private func settledNumber(
        in file: URL,
        quiet: Duration = .seconds(1),
        timeout: Duration = .seconds(60)
    ) async throws -> Int {
        let clock = ContinuousClock()
        var last = -1
        var since = clock.now
        let settled = try await eventually(timeout: timeout, interval: .milliseconds(100)) {
            let value = (try? String(contentsOf: file, encoding: .utf8)).flatMap { Int($0) } ?? -1
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

    /// `upstream.py`'s pattern bytes (`/big`): byte i of each 64 KiB piece is (i * 31 + 7) % 251.
    private func expectedPattern(_ size: Int) -> [UInt8] {
        let piece = (0..<65_536).map { UInt8(($0 * 31 + 7) % 251) }
        return (0..<size).map { piece[$0 % 65_536] }
    }

    /// The request headers `/headers` saw, lower-cased names.
    private func upstreamHeaders(_ result: HTTP2CurlResult) throws -> [String: String] {
        let object = try JSONSerialization.jsonObject(with: Data(result.body)) as? [String: Any]
        let pairs = object?["headers"] as? [[String]] ?? []
        var headers: [String: String] = [:]
        for pair in pairs where pair.count == 2 { headers[pair[0].lowercased()] = pair[1] }
        return headers
    }
}
