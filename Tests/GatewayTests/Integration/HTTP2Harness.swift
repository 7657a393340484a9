import Foundation
import TestSupport
import Testing

/// A gateway with three listeners in front of `upstream.py` (and of `h2_upstream.py` under `/rec/*`) — plain HTTP/1.1 only, h2c (`http2: true`) and
/// TLS with ALPN `h2,http/1.1` (certificate for `localhost` from a test CA, also the default without SNI) —
/// a control plane with metrics, a JSON access log, and the HTTP/2 clients the tests drive: curl, h2load and
/// `Tests/Support/h2_probe.py` (Debian's `/usr/bin/python3`, which has python3-h2).
final class HTTP2Harness: Sendable {
    static let python = "/usr/bin/python3"
    static let probeScript = IntegrationEnvironment.upstreamScript.deletingLastPathComponent()
        .appendingPathComponent("h2_probe.py")
    static let recorderScript = IntegrationEnvironment.upstreamScript.deletingLastPathComponent()
        .appendingPathComponent("h2_upstream.py")

    /// The listener a client talks to.
    enum Listener: String, CustomStringConvertible {
        /// `127.0.0.1:0` without `http2`.
        case plain
        /// `{address, http2: true}`: h2c with prior knowledge, and HTTP/1.1.
        case h2c
        /// `{address, tls: true, http2: true}`: ALPN h2 or http/1.1.
        case tls

        var description: String { rawValue }
    }

    let gateway: GatewayProcess
    let upstream: UpstreamProcess
    /// `Tests/Support/h2_upstream.py`, behind route `recorder` (`/rec/*`): reports request framing and
    /// trailers, and holds bodies unread on request.
    let recorder: ManagedProcess
    let directory: URL
    let accessLogFile: URL
    /// The test CA's certificate, which signed the TLS listener's certificate for `localhost`.
    let authority: URL
    let plainPort: Int
    let h2cPort: Int
    let tlsPort: Int

    private init(
        gateway: GatewayProcess,
        upstream: UpstreamProcess,
        recorder: ManagedProcess,
        directory: URL,
        authority: URL,
        ports: [Int]
    ) {
        self.gateway = gateway
        self.upstream = upstream
        self.recorder = recorder
        self.directory = directory
        self.authority = authority
        accessLogFile = directory.appendingPathComponent("access.log")
        plainPort = ports[0]
        h2cPort = ports[1]
        tlsPort = ports[2]
    }

    /// The shared harness of the suite running under ``HTTP2SharedGateway``.
    @TaskLocal static var shared: HTTP2Harness?

    /// Starts the upstream and the gateway; `keepaliveTimeout` and `drainTimeout` in seconds.
    static func start(
        _ label: String,
        keepaliveTimeout: Double = 30,
        drainTimeout: Double = 5
    ) async throws -> HTTP2Harness {
        let directory = try IntegrationEnvironment.makeTemporaryDirectory(label)
        let certificates = try await TestCertificates.authority(in: directory)
        let issued = try await certificates.issue(["localhost"])
        let accessLog = directory.appendingPathComponent("access.log")
        let upstream = try await UpstreamProcess.start(in: directory)
        let recorderPortFile = directory.appendingPathComponent("recorder.port")
        let recorder: (process: ManagedProcess, ready: Int)
        do {
            recorder = try await ManagedProcess.launch(
                "h2_upstream.py",
                executable: URL(fileURLWithPath: python),
                arguments: [recorderScript.path, "--port-file", recorderPortFile.path],
                logFile: directory.appendingPathComponent("recorder.log")
            ) { () -> Int? in
                guard let text = try? String(contentsOf: recorderPortFile, encoding: .utf8), let port = Int(text),
                    IntegrationEnvironment.portAccepts(port)
                else { return nil }
                return port
            }
        } catch {
            await upstream.stop()
            throw error
        }
        do {
            let gateway = try await GatewayProcess.start(in: directory) { control in
                """
                workers: 2
                listen:
                  - "127.0.0.1:0"
                  - {address: "127.0.0.1:0", http2: true}
                  - {address: "127.0.0.1:0", tls: true, http2: true}
                ssls: [{id: local, snis: [localhost], cert_file: "\(issued.certificate.path)", key_file: "\(issued.key.path)"}]
                tls: {default_ssl: local}
                http2: {max_concurrent_streams: 128, max_header_list_size: 16384, max_resets_per_second: 100, max_empty_frames: 64}
                limits: {keepalive_timeout: \(keepaliveTimeout), client_max_body_size: 0}
                shutdown: {drain_timeout: \(drainTimeout)}
                control: {listen: "127.0.0.1:\(control)"}
                config: {watch: false}
                metrics: {enabled: true}
                access_log: {enabled: true, path: "\(accessLog.path)", format: json, compression: none, flush_interval: 0.1}
                upstreams:
                  - id: backend
                    nodes: {"127.0.0.1:\(upstream.port)": 1}
                    timeout: {connect: 2, send: 30, read: 30}
                    keepalive_pool: {size: 32, idle_timeout: 30, requests: 10000}
                  - id: recorder
                    nodes: {"127.0.0.1:\(recorder.ready)": 1}
                    timeout: {connect: 2, send: 60, read: 60}
                routes:
                  - {id: recorder, uri: /rec/*, upstream_id: recorder}
                  - {id: all, uri: /*, upstream_id: backend}

                """
            }
            let ports = listeningPorts(in: gateway.log)
            guard ports.count == 3 else {
                await gateway.stop()
                throw IntegrationError("expected 3 listeners, the log names \(ports):\n\(gateway.logTail)")
            }
            return HTTP2Harness(
                gateway: gateway,
                upstream: upstream,
                recorder: recorder.process,
                directory: directory,
                authority: certificates.authority.certificate,
                ports: ports
            )
        } catch {
            await upstream.stop()
            await recorder.process.terminate(grace: .seconds(2))
            throw error
        }
    }

    /// The ports of the "listening on 127.0.0.1:PORT" lines, in the config's order.
    static func listeningPorts(in log: String) -> [Int] {
        log.split(separator: "\n").compactMap { line in
            line.contains("listening on 127.0.0.1:") ? GatewayProcess.listeningPort(in: String(line)) : nil
        }
    }

    func port(_ listener: Listener) -> Int {
        switch listener {
        case .plain: return plainPort
        case .h2c: return h2cPort
        case .tls: return tlsPort
        }
    }

    /// The URL of `path` on `listener` (`https://localhost:PORT` for TLS, which ``curl(_:_:_:stdinFile:)``
    /// resolves to 127.0.0.1).
    func url(_ listener: Listener, _ path: String) -> String {
        switch listener {
        case .plain, .h2c: return "http://127.0.0.1:\(port(listener))\(path)"
        case .tls: return "https://localhost:\(tlsPort)\(path)"
        }
    }

    /// One curl transfer of `path` on `listener` with `options` (`--http2-prior-knowledge`, `--http2`,
    /// `--http1.1`, ...), trusting the test CA.
    func curl(
        _ listener: Listener,
        _ path: String,
        _ options: [String],
        stdinFile: URL? = nil
    ) async throws -> HTTP2CurlResult {
        let bodyFile = directory.appendingPathComponent("curl-\(UUID().uuidString.prefix(8)).body")
        defer { try? FileManager.default.removeItem(at: bodyFile) }
        var arguments = ["-sS", "-o", bodyFile.path, "-w", "%{http_code} %{http_version}"]
        if listener == .tls {
            arguments += ["--cacert", authority.path, "--resolve", "localhost:\(tlsPort):127.0.0.1"]
        }
        let result = try await Command.run(
            "curl",
            arguments + options + [url(listener, path)],
            in: directory,
            stdinFile: stdinFile,
            timeout: .seconds(60)
        )
        let fields = result.stdout.split(separator: " ")
        return HTTP2CurlResult(
            exitCode: result.exitCode,
            status: fields.count > 0 ? Int(fields[0]) ?? 0 : 0,
            version: fields.count > 1 ? String(fields[1]) : "",
            body: Array((try? Data(contentsOf: bodyFile)) ?? Data()),
            stderr: result.log
        )
    }

    /// Runs `h2_probe.py MODE` against `listener` (h2c or TLS) and returns the JSON line it printed.
    func probe(
        _ mode: String,
        on listener: Listener = .h2c,
        _ options: [String] = [],
        timeout: Double = 10
    ) async throws -> HTTP2ProbeResult {
        var arguments = [
            Self.probeScript.path, "--host", "127.0.0.1", "--port", "\(port(listener))", "--timeout", "\(timeout)",
        ]
        if listener == .tls { arguments += ["--tls", "--authority", "localhost:\(tlsPort)"] }
        let result = try await Command.run(
            Self.python,
            arguments + options + [mode],
            in: directory,
            timeout: .seconds(Int64(timeout) + 30)
        )
        guard let line = result.stdout.split(separator: "\n").last,
            (try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]) != nil
        else {
            throw IntegrationError(
                "h2_probe.py \(mode) printed no JSON (\(result.exitCode)): \(result.stdout)\(result.log)"
            )
        }
        return HTTP2ProbeResult(text: String(line))
    }

    /// `h2load` with `options` against `path` on `listener` (h2c or TLS).
    func h2load(_ listener: Listener, _ path: String, _ options: [String]) async throws -> H2LoadResult {
        let target =
            listener == .tls ? "https://127.0.0.1:\(tlsPort)\(path)" : "http://127.0.0.1:\(port(listener))\(path)"
        let result = try await Command.run("h2load", options + [target], in: directory, timeout: .seconds(120))
        return H2LoadResult(exitCode: result.exitCode, output: result.stdout + result.log)
    }

    /// One scrape of the gateway's metrics.
    func metrics() async throws -> MetricsExposition {
        try await gateway.scrape().exposition
    }

    /// Polls the metrics until `condition` holds or `timeout` passes; returns the last scrape and whether
    /// it held.
    func metrics(
        until condition: (MetricsExposition) -> Bool,
        timeout: Duration = .seconds(15)
    ) async throws -> (metrics: MetricsExposition, held: Bool) {
        var last = try await metrics()
        let held = try await eventually(timeout: timeout, interval: .milliseconds(100)) {
            last = try await metrics()
            return condition(last)
        }
        return (last, held)
    }

    /// The access log's records so far, parsed (the log is plain JSON lines).
    func accessRecords() -> [[String: Any]] {
        let text = (try? String(contentsOf: accessLogFile, encoding: .utf8)) ?? ""
        return text.split(separator: "\n").compactMap {
            try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
        }
    }

    /// Stops the gateway (unless the test did) and the upstream; whether the gateway ended cleanly.
    func finish() async -> Bool {
        let clean = await gateway.finish()
        await upstream.stop()
        await recorder.terminate(grace: .seconds(2))
        return clean
    }

    /// Runs `body` with a harness of its own and tears it down even when `body` throws. Does not take the
    /// `timingSensitive` gate: callers run inside a suite that holds it (``HTTP2SharedGateway``).
    static func with<T>(
        _ label: String,
        keepaliveTimeout: Double = 30,
        drainTimeout: Double = 5,
        _ body: (HTTP2Harness) async throws -> T
    ) async throws -> T {
        let harness = try await start(label, keepaliveTimeout: keepaliveTimeout, drainTimeout: drainTimeout)
        return try await IntegrationEnvironment.withTearDown(of: harness.directory) {
            try await body(harness)
        } tearDown: {
            await harness.finish()
        }
    }
}

/// A suite trait: the suite runs inside the `timingSensitive` gate (h2load and the floods load both cores)
/// with one ``HTTP2Harness`` for all its tests, reached through ``HTTP2Harness/shared``, and stopped after
/// the last test (it must then still exit 0 on SIGTERM: every attack has to leave it healthy).
struct HTTP2SharedGateway: SuiteTrait, TestScoping {
    func provideScope(
        for test: Test,
        testCase: Test.Case?,
        performing function: @Sendable () async throws -> Void
    ) async throws {
        try await timingSensitive {
            try await HTTP2Harness.with("h2") { harness in
                try await HTTP2Harness.$shared.withValue(harness) {
                    try await function()
                }
            }
        }
    }
}

extension Trait where Self == HTTP2SharedGateway {
    static var sharedHTTP2Gateway: Self { Self() }
}

/// What curl reported for one transfer.
struct HTTP2CurlResult {
    var exitCode: Int32
    var status: Int
    /// `%{http_version}`: `2`, `1.1`, ...
    var version: String
    var body: [UInt8]
    var stderr: String

    var bodyString: String { String(decoding: body, as: UTF8.self) }

    var summary: String { "exit \(exitCode), status \(status), version \(version), stderr: \(stderr)" }
}

/// The JSON line `h2_probe.py` printed.
struct HTTP2ProbeResult: CustomStringConvertible, Sendable {
    /// The JSON object line itself.
    var text: String

    var json: [String: Any] {
        (try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any]) ?? [:]
    }

    var description: String { text }

    var goaway: Bool { json["goaway"] as? Bool ?? false }
    var goawayError: String? { json["goaway_error"] as? String }
    var status: String? { json["status"] as? String }
    var error: String? { json["error"] as? String }
    var closed: Bool { json["closed"] as? Bool ?? false }

    /// The status of stream `id` from `stream_results`.
    func streamStatus(_ id: Int) -> String? {
        ((json["stream_results"] as? [String: Any])?[String(id)] as? [String: Any])?["status"] as? String
    }

    /// Header blocks as [name, value] pairs (mode `trailers`).
    var blocks: [[[String]]] { json["blocks"] as? [[[String]]] ?? [] }

    var trailers: [[String]]? { json["trailers"] as? [[String]] }
}

/// What h2load reported.
struct H2LoadResult {
    var exitCode: Int32
    var output: String

    /// The numbers of the `requests:` line (`total`, `started`, `done`, `succeeded`, `failed`, ...).
    var requests: [String: Int] { numbers(after: "requests:") }

    /// The numbers of the `status codes:` line (`2xx`, `3xx`, `4xx`, `5xx`).
    var statusCodes: [String: Int] { numbers(after: "status codes:") }

    private func numbers(after prefix: String) -> [String: Int] {
        guard let line = output.split(separator: "\n").first(where: { $0.hasPrefix(prefix) }) else { return [:] }
        var result: [String: Int] = [:]
        for part in line.dropFirst(prefix.count).split(separator: ",") {
            let words = part.split(separator: " ")
            if words.count == 2, let value = Int(words[0]) { result[String(words[1])] = value }
        }
        return result
    }
}
