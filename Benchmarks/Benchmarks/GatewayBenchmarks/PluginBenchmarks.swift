/// One route per plugin (`/p/<name>/…`, the plugin configured as a user would) and the request that
/// passes it, so each plugin's common path is measured alone for allocations.
enum PluginBenchmarks {
    /// Plugin name → (settings as YAML flow, extra request headers that satisfy it).
    static let cases: [(name: String, settings: String, headers: String)] = [
        ("key-auth", "{}", "apikey: bench-key\r\n"),
        ("basic-auth", "{}", "Authorization: Basic YmVuY2g6YmVuY2gtcGFzcw==\r\n"),
        ("consumer-restriction", "{whitelist: [bench]}", "apikey: bench-key\r\n"),
    ]

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
        }.joined(separator: "\n")
    }

    /// The keep-alive GET for plugin `name`'s route.
    static func request(_ name: String, headers: String) -> String {
        "GET /p/\(name)/users/42?fields=name HTTP/1.1\r\nHost: api.example.com\r\nUser-Agent: gateway-bench/1.0\r\n"
            + "Accept: application/json\r\n" + headers + "\r\n"
    }
}
