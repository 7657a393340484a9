/// One route per plugin (`/p/<name>/…`, the plugin configured as a user would) and the request that
/// passes it, so each plugin's common path is measured alone for allocations.
enum PluginBenchmarks {
    /// Plugin name → (settings as YAML flow, extra request headers that satisfy it).
    static let cases: [(name: String, settings: String, headers: String)] = [
        ("key-auth", "{}", "apikey: bench-key\r\n"),
        ("basic-auth", "{}", "Authorization: Basic YmVuY2g6YmVuY2gtcGFzcw==\r\n"),
        ("consumer-restriction", "{whitelist: [bench]}", "apikey: bench-key\r\n"),
        ("jwt-auth", "{}", "Authorization: Bearer \(jwt)\r\n"),
        // The fixture's client speaks plain HTTP, so no certificate: the request passes as the anonymous
        // consumer (a verified subject's lookup is key-auth's: one CredentialIndex probe).
        ("client-cert-auth", "{anonymous_consumer: bench}", ""),
        ("limit-count", "{count: 60000000, time_window: 3600}", ""),
        ("limit-req", "{rate: 1000000, burst: 1000000, key: remote_addr}", ""),
        ("limit-conn", "{conn: 100000, burst: 0, default_conn_delay: 0.1, key: remote_addr}", ""),
        ("ip-restriction", "{whitelist: [127.0.0.0/8, \"::1\"]}", ""),
        ("real-ip", "{source: http_x_real_ip, trusted_addresses: [127.0.0.0/8]}", "X-Real-IP: 10.1.2.3\r\n"),
        (
            "cors", "{allow_origins: \"https://app.example\", expose_headers: X-Total}",
            "Origin: https://app.example\r\n"
        ),
        (
            "proxy-rewrite",
            "{regex_uri: [\"^/p/proxy-rewrite/(.*)\", \"/api/$1\"], headers: {set: {X-From: gateway}}}",
            ""
        ),
        ("response-rewrite", "{headers: {set: {X-Served-By: gateway}}}", ""),
        ("security-headers", "{}", ""),
        // ret_code 200 (APISIX allows 200 and up) so the client, which expects 200, measures the redirect
        // answer itself: the Location rendered, encoded and sent by the gateway without the upstream.
        ("redirect", "{uri: '/moved$uri', ret_code: 200, encode_uri: true, append_query_string: true}", ""),
        ("request-id", "{header_name: X-Trace-Id}", ""),
    ]

    /// The port of the redis-server the `policy: redis` benchmarks start (``RedisForBenchmarks``).
    static let redisPort = 26379

    /// Route name → `limit-*` settings with `policy: redis`: each request waits for Redis on the worker
    /// (batch 1), or spends a permit leased 100 at a time.
    static let redisCases: [(name: String, plugin: String, settings: String)] = [
        (
            "limit-count-redis", "limit-count",
            "{count: 60000000, time_window: 3600, policy: redis, redis: {host: 127.0.0.1, port: \(redisPort)}}"
        ),
        (
            "limit-count-redis-batch", "limit-count",
            "{count: 60000000, time_window: 3600, policy: redis, redis: {host: 127.0.0.1, port: \(redisPort), batch: 100}}"
        ),
        (
            "limit-req-redis", "limit-req",
            "{rate: 1000000, burst: 1000000, key: remote_addr, policy: redis, redis: {host: 127.0.0.1, port: \(redisPort)}}"
        ),
    ]

    /// An HS256 token for the `bench` consumer's `jwt-auth` key, valid until 2100.
    static let jwt =
        "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJrZXkiOiJiZW5jaC1qd3QiLCJleHAiOjQxMDI0NDQ4MDB9."
        + "8QhZQuvXFBkyiJ1P1qEg6GSVjNr326ASPZak2qWnYyo"

    /// Routes for the fixture's config (consumer-restriction needs an authentication plugin beside it).
    static var routes: String {
        cases.map { item in
            let extra = item.name == "consumer-restriction" ? ", key-auth: {}" : ""
            return """
                  - id: plugin-\(item.name)
                    uri: /p/\(item.name)/*
                    upstream_id: backend
                    plugins: {\(item.name): \(item.settings)\(extra)}
                """
        }.joined(separator: "\n") + "\n"
            + redisCases.map { item in
                """
                  - id: plugin-\(item.name)
                    uri: /p/\(item.name)/*
                    upstream_id: backend
                    plugins: {\(item.plugin): \(item.settings)}
                """
            }.joined(separator: "\n")
    }

    /// The keep-alive GET for plugin `name`'s route.
    static func request(_ name: String, headers: String) -> String {
        "GET /p/\(name)/users/42?fields=name HTTP/1.1\r\nHost: api.example.com\r\nUser-Agent: gateway-bench/1.0\r\n"
            + "Accept: application/json\r\n" + headers + "\r\n"
    }
}
