import Gateway
import Glibc
import Logging

/// The canned upstream, an in-process gateway with one worker in front of it, and one keep-alive client.
///
/// Everything runs in the benchmark process so `mallocCountTotal` sees the worker thread; the client
/// and the upstream never allocate per request, so what the metric counts is the gateway's.
final class GatewayFixture: @unchecked Sendable {
    // Used by one benchmark at a time: created in setup, driven by the measured closure, torn down after.
    let upstream: CannedUpstream
    let server: GatewayServer?
    let client: BlockingClient
    /// The keep-alive TLS client of a `.gatewayTLS` fixture.
    let tlsClient: TLSBlockingClient?
    /// The HTTP/2 client of a `.gatewayHTTP2` fixture (one stream per round trip on one connection).
    let h2Client: H2BlockingClient?

    /// Which side of the proxy the client talks to.
    enum Target {
        /// Through the gateway.
        case gateway
        /// Straight to the canned upstream: the control that proves the harness itself allocates nothing.
        case upstreamDirect
        /// Through the gateway's TLS listener (a TLS 1.3 keep-alive connection).
        case gatewayTLS
        /// Through a gateway with `tracing:` configured: propagation everywhere, every request sampled on
        /// `/sampled/*`. Its exporter is never started, so only the worker's side is measured (spans
        /// pushed into the ring, dropped and counted once it is full).
        case gatewayTracing
        /// Through the gateway's h2c listener: each round trip is a new stream on one HTTP/2 connection.
        case gatewayHTTP2
    }

    /// Starts the upstream and (for `.gateway`) the gateway, connects, and warms up with `warmup` round trips.
    init(target: Target, request: String, engine: EngineKind = .ioUring, warmup: Int = 2000) throws {
        upstream = CannedUpstream()
        upstream.start()
        switch target {
        case .gateway, .gatewayTLS, .gatewayTracing, .gatewayHTTP2:
            let tls = target == .gatewayTLS
            if tls { Self.makeCertificate() }
            let config = try ConfigLoader.parse(
                yaml: Self.config(
                    upstreamPort: upstream.port,
                    tls: tls,
                    tracing: target == .gatewayTracing,
                    http2: target == .gatewayHTTP2
                ),
                sourceName: "bench"
            )
            let plan = try ProxyPlan(config: config)
            var logger = Logger(label: "gateway-bench")
            logger.logLevel = .warning
            let server = GatewayServer(plan: plan, logger: logger, engine: EngineSelection(kind: engine))
            try server.prepare()
            try server.start()
            try server.waitUntilRunning()
            self.server = server
            client = BlockingClient(port: server.boundAddresses[0].port, request: request)
            tlsClient =
                tls
                ? TLSBlockingClient(
                    port: server.boundAddresses[1].port,
                    serverName: "api.example.com",
                    request: request
                )
                : nil
            h2Client =
                target == .gatewayHTTP2
                ? H2BlockingClient(port: server.boundAddresses[1].port, authority: "api.example.com", path: request)
                : nil
        case .upstreamDirect:
            server = nil
            client = BlockingClient(port: upstream.port, request: request)
            tlsClient = nil
            h2Client = nil
        }
        // Creates the worker's connection slot, blocks, provided buffers and the upstream pool entry.
        for _ in 0..<warmup {
            if let h2Client {
                h2Client.roundTrip()
            } else if let tlsClient {
                tlsClient.roundTrip()
            } else {
                client.roundTrip()
            }
        }
    }

    /// Closes the client, drains the gateway and stops the upstream.
    func shutdown() {
        tlsClient?.close()
        h2Client?.close()
        client.close()
        server?.stop()
        upstream.stop()
    }

    static let certificatePath = "/tmp/gateway-bench-tls.pem"
    static let keyPath = "/tmp/gateway-bench-tls.key"

    /// A throwaway ECDSA P-256 certificate for the TLS listener, made by the openssl CLI.
    static func makeCertificate() {
        let command =
            "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout \(keyPath) -out "
            + "\(certificatePath) -days 2 -subj /CN=api.example.com -addext subjectAltName=DNS:api.example.com "
            + ">/dev/null 2>&1"
        precondition(system(command) == 0, "openssl could not make the benchmark certificate")
    }

    static func config(upstreamPort: UInt16, tls: Bool = false, tracing: Bool = false, http2: Bool = false) -> String {
        """
        \(tracing ? "tracing: {sampling_ratio: 0, otlp: {endpoint: \"http://127.0.0.1:9/v1/traces\"}}" : "")
        workers: 1
        listen: ["127.0.0.1:0"\(tls ? ", {address: \"127.0.0.1:0\", tls: true}" : "")\(http2 ? ", {address: \"127.0.0.1:0\", http2: true}" : "")]
        \(tls ? "ssls: [{id: bench, snis: [api.example.com], cert_file: \(certificatePath), key_file: \(keyPath)}]" : "")
        upstreams:
          - id: backend
            nodes: {"127.0.0.1:\(upstreamPort)": 1}
            keepalive_pool: {size: 64, idle_timeout: 60, requests: 1000000}
        consumers:
          - username: bench
            plugins:
              key-auth: {key: bench-key}
              basic-auth: {username: bench, password: bench-pass}
              jwt-auth: {key: bench-jwt, secret: bench-secret-0123456789}
        routes:
          - id: demo
            uri: /__demo
            plugins: {mocking: {response_status: 200, response_example: 'ok', content_type: text/plain}}
          - id: sampled
            uris: ["/sampled/*"]
            upstream_id: backend
            tracing: {sampling_ratio: 1}
          - id: api
            uris: ["/*"]
            upstream_id: backend
        \(PluginBenchmarks.routes)
        """
    }
}

/// Requests the benchmarks send: realistic browser-ish heads, bodies built once.
enum Requests {
    static let get =
        "GET /api/v1/users/42?fields=name HTTP/1.1\r\nHost: api.example.com\r\nUser-Agent: gateway-bench/1.0\r\n"
        + "Accept: application/json\r\nAccept-Encoding: gzip, deflate\r\n\r\n"

    /// ``get`` from a caller that propagates an unsampled trace.
    static let getTraced =
        "GET /api/v1/users/42?fields=name HTTP/1.1\r\nHost: api.example.com\r\nUser-Agent: gateway-bench/1.0\r\n"
        + "traceparent: 00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00\r\n"
        + "Accept: application/json\r\nAccept-Encoding: gzip, deflate\r\n\r\n"

    /// A request on the route that samples every trace.
    static let getSampled =
        "GET /sampled/users/42?fields=name HTTP/1.1\r\nHost: api.example.com\r\nUser-Agent: gateway-bench/1.0\r\n"
        + "Accept: application/json\r\nAccept-Encoding: gzip, deflate\r\n\r\n"

    static let mock = "GET /__demo HTTP/1.1\r\nHost: api.example.com\r\nUser-Agent: gateway-bench/1.0\r\n\r\n"

    static let body1KiB = String(repeating: "0123456789abcdef", count: 64)

    static let postContentLength =
        "POST /api/v1/orders HTTP/1.1\r\nHost: api.example.com\r\nUser-Agent: gateway-bench/1.0\r\n"
        + "Content-Type: application/octet-stream\r\nContent-Length: 1024\r\n\r\n" + body1KiB

    /// The same 1 KiB as two 512-byte chunks.
    static let postChunked =
        "POST /api/v1/orders HTTP/1.1\r\nHost: api.example.com\r\nUser-Agent: gateway-bench/1.0\r\n"
        + "Content-Type: application/octet-stream\r\nTransfer-Encoding: chunked\r\n\r\n"
        + "200\r\n" + String(body1KiB.prefix(512)) + "\r\n200\r\n" + String(body1KiB.suffix(512)) + "\r\n0\r\n\r\n"

    /// A ~400-byte head like a browser's API call, for the parser benchmark.
    static let realisticHead =
        "GET /api/v1/users/42/orders?limit=20&cursor=eyJpZCI6MTIzfQ HTTP/1.1\r\n"
        + "Host: api.example.com\r\n"
        + "User-Agent: Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0\r\n"
        + "Accept: application/json, text/plain, */*\r\n"
        + "Accept-Language: en-US,en;q=0.5\r\n"
        + "Accept-Encoding: gzip, deflate, br\r\n"
        + "Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiI0MiJ9.c2lnbmF0dXJl\r\n"
        + "X-Request-Id: 7f3c9a2e-1b4d-4c8e-9f0a-2d6b8e1c3a5f\r\n"
        + "Connection: keep-alive\r\n\r\n"
}
