/// The zero-file quick start, `gateway run --listen :8080 --upstream 127.0.0.1:3000`: the flags that make a
/// whole configuration without a file.
package struct QuickStart: Sendable, Equatable {
    /// Id of the one route and of the one upstream, the label of both in metrics and access logs.
    package static let id = "quickstart"

    /// Data-plane addresses (`--listen`, repeatable); empty keeps `GATEWAY_LISTEN` or the default.
    package var listen: [String]
    /// Upstream nodes as "host:port" (`--upstream`, repeatable, at least one), each with weight 1.
    package var upstreams: [String]
    /// Control-plane address (`--control`), for `/metrics`; `nil` keeps `GATEWAY_CONTROL_LISTEN` or off.
    package var control: String?

    package init(listen: [String] = [], upstreams: [String], control: String? = nil) {
        self.listen = listen
        self.upstreams = upstreams
        self.control = control
    }

    /// The flags as a command line, for logs and `/status`: "--listen :8080 --upstream 127.0.0.1:3000".
    package var commandLine: String {
        let flags =
            listen.map { ("--listen", $0) } + upstreams.map { ("--upstream", $0) }
            + (control.map { [("--control", $0)] } ?? [])
        return flags.map { "\($0.0) \($0.1)" }.joined(separator: " ")
    }
}
