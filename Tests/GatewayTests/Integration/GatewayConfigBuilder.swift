import Foundation

/// Builds gateway configs for the tests: one upstream `backend` and a few standard routes.
struct GatewayConfigBuilder {
    var workers = 1
    // Generous defaults: with the whole suite running on two shared cores, the Python upstream can be slow to
    // answer. Beside two CPU burners, several tests' upstreams once went more than 10 s without answering at
    // the same moment: a read timeout fired and the retry opened a second upstream connection. Tests of a
    // timeout set that timeout short themselves.
    // The pool's idle timeout is long for the same reason: a test runner that stalls for longer than it
    // between two requests (seen beside CPU burners) would open a second upstream connection, failing the
    // tests that count connections. The tests of the idle timeout set their own.
    var connectTimeout = 1.0
    var sendTimeout = 30.0
    var readTimeout = 30.0
    var headerTimeout = 10.0
    var keepaliveTimeout = 120.0
    var drainTimeout = 5.0
    var passHost = "pass"
    /// Extra YAML list items placed under `upstreams:` (indented two spaces, starting with "  - id:");
    /// `UPSTREAM_PORT` in them stands for the test upstream's port.
    var extraUpstreams = ""
    /// Extra YAML list items placed under `routes:` before the catch-all route.
    var extraRoutes = ""
    /// Whether the catch-all `/*` route to `backend` is present.
    var catchAll = true

    /// The config text, with `backend` pointing at 127.0.0.1:`upstreamPort`.
    func yaml(upstreamPort: Int) -> String {
        var text = """
            workers: \(workers)
            listen: "127.0.0.1:0"
            limits: {header_timeout: \(headerTimeout), keepalive_timeout: \(keepaliveTimeout), client_max_body_size: 0}
            shutdown: {drain_timeout: \(drainTimeout)}
            upstreams:
              - id: backend
                nodes: {"127.0.0.1:\(upstreamPort)": 1}
                timeout: {connect: \(connectTimeout), send: \(sendTimeout), read: \(readTimeout)}
                keepalive_pool: {size: 16, idle_timeout: 300, requests: 1000}
                pass_host: \(passHost)

            """
        text += extraUpstreams.replacingOccurrences(of: "UPSTREAM_PORT", with: String(upstreamPort))
        text += """
            routes:
              - id: demo
                uri: /__demo
                plugins: {mocking: {response_status: 200, response_example: '{"hello":"gateway"}', content_type: application/json}}
              - id: limited
                uris: ["/limited/*"]
                upstream_id: backend
                client_max_body_size: 1024

            """
        text += extraRoutes
        if catchAll {
            text += """
                  - id: api
                    uris: ["/*"]
                    upstream_id: backend

                """
        }
        return text
    }
}
