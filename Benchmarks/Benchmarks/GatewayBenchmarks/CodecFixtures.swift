import Gateway

/// A realistic ~400-byte request head in raw memory and a reused header index, as a worker holds them.
final class ParseFixture: @unchecked Sendable {
    // Used by the benchmark thread only.
    private let head: UnsafeMutableRawBufferPointer
    private let headers = HTTPHeaderIndex(capacity: 128)
    private let limits = HTTPLimits()

    init() {
        head = RawBytes.copy(Requests.realisticHead)
        guard case .complete = run() else { fatalError("the benchmark head does not parse: \(run())") }
    }

    deinit { head.deallocate() }

    /// Parses the head once.
    func run() -> HTTPHeadResult<HTTPRequestHead> {
        HTTPParser.parseRequestHead(UnsafeRawBufferPointer(head), headers: headers, limits: limits)
    }
}

/// A compiled route table of a dozen routes (exact, prefix, host-bound, method-bound) and one lookup.
final class RouterFixture: @unchecked Sendable {
    // Used by the benchmark thread only.
    private let plan: ProxyPlan
    private let host: UnsafeMutableRawBufferPointer
    private let path: UnsafeMutableRawBufferPointer

    init() throws {
        let yaml = """
            workers: 1
            listen: "127.0.0.1:0"
            upstreams:
              - id: backend
                nodes: {"127.0.0.1:9": 1}
            routes:
              - {id: health, uri: /healthz, plugins: {mocking: {response_status: 200, response_example: ok}}}
              - {id: login, uri: /auth/login, methods: [POST], upstream_id: backend}
              - {id: static, uri: /static/*, upstream_id: backend}
              - {id: assets, uris: [/assets/*, /favicon.ico], upstream_id: backend}
              - {id: admin, uri: /admin/*, host: admin.example.com, upstream_id: backend}
              - {id: orders, uri: /api/v1/orders/*, upstream_id: backend}
              - {id: order-create, uri: /api/v1/orders, methods: [POST], upstream_id: backend}
              - {id: users-write, uri: /api/v1/users/*, methods: [PUT, PATCH, DELETE], upstream_id: backend}
              - {id: users, uri: /api/v1/users/*, host: api.example.com, methods: [GET], upstream_id: backend}
              - {id: products, uri: /api/v1/products/*, upstream_id: backend}
              - {id: v2, uri: /api/v2/*, host: "*.example.com", upstream_id: backend}
              - {id: fallback, uri: /*, upstream_id: backend}
            """
        plan = try ProxyPlan(config: ConfigLoader.parse(yaml: yaml, sourceName: "router-bench"))
        host = RawBytes.copy("api.example.com")
        path = RawBytes.copy("/api/v1/users/42/orders?limit=20")
        // Route indices follow the configuration order; 'users' is the ninth route.
        let index = run()
        guard index == 8 else { fatalError("the benchmark request matched route \(index), expected 8 ('users')") }
    }

    deinit {
        host.deallocate()
        path.deallocate()
    }

    /// Looks the request up once; the route index.
    func run() -> Int {
        plan.routeTable.match(method: .get, host: UnsafeRawBufferPointer(host), path: UnsafeRawBufferPointer(path))
    }
}
