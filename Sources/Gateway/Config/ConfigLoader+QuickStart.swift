import Foundation
import Yams

extension ConfigLoader {
    /// The configuration `gateway run --upstream ...` serves without a file: one catch-all route `/*` to one
    /// round-robin upstream (both with the id ``QuickStart/id``) over the given nodes, on the flags' addresses.
    ///
    /// Flags win over `GATEWAY_*` variables, which still set what no flag does (workers, log level...). Every
    /// value is checked as the same value in a file would be, and an issue names the flag ("--upstream x:1").
    package static func quickStart(
        _ options: QuickStart,
        environment: [String: String] = ProcessInfo.processInfo.environment,
        resolveHostnames: Bool = true
    ) throws(ConfigError) -> GatewayConfig {
        try read(quickStartSource(options), environment: environment, resolveHostnames: resolveHostnames)
    }

    /// The quick start's document and flags, before validation (see ``read(_:overlay:environment:resolveHostnames:)``).
    package static func quickStartSource(_ options: QuickStart) -> ConfigSource {
        let string = { (text: String) in Node(text, Tag(.str), .plain) }
        let nodes = options.upstreams.map { (string($0), Node("1", Tag(.int), .plain)) }
        let upstream = Node([
            (string("id"), string(QuickStart.id)),
            (string("type"), string(UpstreamConfig.BalancerType.roundrobin.rawValue)),
            (string("nodes"), Node(nodes)),
        ])
        let route = Node([
            (string("id"), string(QuickStart.id)),
            (string("uri"), string("/*")),
            (string("upstream_id"), string(QuickStart.id)),
        ])
        let root = Node([(string("upstreams"), Node([upstream])), (string("routes"), Node([route]))])
        var document = ConfigDocument(root: root, fromFile: false)
        document.label("upstreams[0].nodes", as: "--upstream")
        for address in options.upstreams {
            document.label("upstreams[0].nodes[\"\(address)\"]", as: "--upstream \(address)")
        }
        var flags: [ConfigOverride] = []
        if !options.listen.isEmpty {
            flags.append(ConfigOverride(setting: .listen, values: options.listen, source: .flag, label: "--listen"))
        }
        if let control = options.control {
            flags.append(ConfigOverride(setting: .controlListen, values: [control], source: .flag, label: "--control"))
        }
        return ConfigSource(
            document: document,
            flags: flags,
            sourceName: "command line",
            sourceHash: FNV1a.hex(of: options.commandLine.utf8)
        )
    }
}
