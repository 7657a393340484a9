import Logging
import Yams

extension ConfigReader {
    static let topLevelKeys = [
        "workers", "engine", "listen", "control", "admin", "log_level", "config", "access_log", "metrics", "limits",
        "shutdown", "upstreams", "services", "routes", "consumers", "credentials", "global_rules", "tls", "ssls",
        "tracing", "etcd", "http2",
    ]

    /// Families whose buckets `metrics.buckets` may set.
    static let bucketFamilies = [
        "gateway_http_request_duration_seconds", "gateway_upstream_request_duration_seconds",
        "gateway_http_overhead_duration_seconds", "gateway_http_request_size_bytes",
        "gateway_http_response_size_bytes", "gateway_plugin_duration_seconds", "gateway_tls_handshake_duration_seconds",
    ]

    /// Reads the whole document into `config`, then checks cross-references between routes and upstreams.
    mutating func document(_ root: Node, into config: inout GatewayConfig) {
        guard let top = fields(root, at: "", allowed: Self.topLevelKeys) else { return }
        if let node = top["workers"], let value = int(node, at: "workers", in: 0...4096) {
            config.workers = value
        }
        if let node = top["engine"], let engine = choice(node, at: "engine", as: EngineChoice.self) {
            config.engine = engine
        }
        if let node = top["listen"], let addresses = listenAddresses(node, at: "listen") {
            config.listen = addresses
        }
        if let node = top["control"] {
            control(node, into: &config)
        }
        if let node = top["admin"] {
            admin(node, into: &config)
        }
        if let node = top["log_level"], let level = choice(node, at: "log_level", as: Logger.Level.self) {
            config.logLevel = level
        }
        if let node = top["config"] {
            reloadSettings(node, etcd: top["etcd"], into: &config)
        } else if let node = top["etcd"] {
            reloadSettings(nil, etcd: node, into: &config)
        }
        if let node = top["access_log"] {
            accessLog(node, into: &config.accessLog)
        }
        if let node = top["metrics"] {
            metrics(node, into: &config.metrics)
        }
        if let node = top["tracing"] {
            tracing(node, into: &config.tracing)
        }
        if let node = top["limits"] {
            limits(node, into: &config.limits)
        }
        if let node = top["http2"] {
            http2(node, into: &config.http2)
        }
        if let node = top["shutdown"], let section = fields(node, at: "shutdown", allowed: ["drain_timeout", "delay"]) {
            if let value = section["drain_timeout"],
                let timeout = duration(value, at: "shutdown.drain_timeout", allowZero: true)
            {
                config.shutdown.drainTimeout = timeout
            }
            if let value = section["delay"], let delay = duration(value, at: "shutdown.delay", allowZero: true) {
                config.shutdown.delay = delay
            }
        }
        var declared: [(UpstreamConfig, Node)] = []
        if let node = top["upstreams"], let items = list(node, at: "upstreams", allowSingle: false) {
            for item in items {
                if let upstream = upstream(item.node, at: item.path, inlineID: nil) {
                    declared.append((upstream, item.node))
                }
            }
        }
        var firstUse: [String: String] = [:]
        for (upstream, node) in declared where !upstream.id.isEmpty {
            if let first = firstUse[upstream.id] {
                report(
                    "\(upstream.sourcePath).id",
                    node["id"],
                    "duplicate upstream id \"\(upstream.id)\" (first used by \(first))"
                )
            } else {
                firstUse[upstream.id] = upstream.sourcePath
            }
        }
        config.upstreams = declared.map(\.0)
        if let node = top["services"] {
            services(node, into: &config)
        }
        if let node = top["routes"] {
            routes(node, into: &config)
        }
        if let node = top["consumers"] {
            consumers(node, into: &config)
        }
        if let node = top["credentials"] {
            credentials(node, into: &config)
        }
        if let node = top["global_rules"] {
            globalRules(node, into: &config)
        }
        if let node = top["tls"] {
            tlsSettings(node, into: &config.tls)
        }
        if let node = top["ssls"] {
            ssls(node, into: &config)
        }
        checkDefaultSSL(top["tls"], in: config)
    }

    private mutating func listenAddresses(_ node: Node, at path: String) -> [ListenAddress]? {
        guard let items = list(node, at: path, allowSingle: true) else { return nil }
        guard !items.isEmpty else {
            report(path, node, "needs at least one address such as \"127.0.0.1:8080\"")
            return nil
        }
        var result: [ListenAddress] = []
        for item in items {
            guard let address = listenEntry(item.node, at: item.path) else { continue }
            // Port 0 lets the kernel pick a port for each listener, so equal addresses cannot clash then.
            if address.port != 0, result.contains(where: { $0.sameSocket(as: address) }) {
                report(item.path, item.node, "\(address) is listed twice")
            } else {
                result.append(address)
            }
        }
        return result.count == items.count ? result : nil
    }

    /// A data-plane listener: an address, or `{address, tls, http2}` (a plain string is plain HTTP/1.1).
    private mutating func listenEntry(_ node: Node, at path: String) -> ListenAddress? {
        guard case .mapping = node else { return listenAddress(node, at: path) }
        guard let object = fields(node, at: path, allowed: ["address", "tls", "http2"]) else { return nil }
        guard let value = object["address"] else {
            missing(object, "address", " such as \"127.0.0.1:8443\"")
            return nil
        }
        guard var address = listenAddress(value, at: object.path("address")) else { return nil }
        if let value = object["tls"], let tls = bool(value, at: object.path("tls")) { address.tls = tls }
        if let value = object["http2"], let http2 = bool(value, at: object.path("http2")) { address.http2 = http2 }
        return address
    }

    /// One address: "host:port", ":port", or a bare port number (all IPv4 interfaces, as APISIX's node_listen).
    mutating func listenAddress(_ node: Node, at path: String) -> ListenAddress? {
        if case .scalar = node, node.tagName == .int {
            guard let port = int(node, at: path, in: 0...65535) else { return nil }
            return ListenAddress(host: "0.0.0.0", port: UInt16(port))
        }
        guard let text = nonEmptyString(node, at: path) else { return nil }
        do {
            return try ListenAddress(parsing: text)
        } catch {
            report(path, node, error.reason)
            return nil
        }
    }

    private mutating func control(_ node: Node, into config: inout GatewayConfig) {
        guard let section = fields(node, at: "control", allowed: ["listen"]) else { return }
        guard let value = section["listen"], let address = listenAddress(value, at: "control.listen") else { return }
        // Port 0 lets the kernel pick a port for each listener, so equal addresses cannot clash then.
        if address.port != 0, let index = config.listen.firstIndex(where: { $0.sameSocket(as: address) }) {
            report("control.listen", value, "\(address) is already the data-plane address listen[\(index)]")
            return
        }
        config.control.listen = address
    }

    private mutating func accessLog(_ node: Node, into settings: inout AccessLogSettings) {
        let keys = [
            "enabled", "path", "format", "flush_interval", "level", "rotate_size", "rotate_age", "retain",
            "compression", "sampling",
        ]
        guard let section = fields(node, at: "access_log", allowed: keys) else { return }
        if let value = section["sampling"] {
            settings.sampling = accessLogSampling(value, at: "access_log.sampling")
        }
        settings.enabled = true
        if let value = section["enabled"], let enabled = bool(value, at: "access_log.enabled") {
            settings.enabled = enabled
        }
        if let value = section["path"], let path = nonEmptyString(value, at: "access_log.path") {
            settings.path = path
        }
        if let value = section["format"],
            let format = choice(value, at: "access_log.format", as: AccessLogSettings.Format.self)
        {
            settings.format = format
        }
        if let value = section["flush_interval"], let interval = duration(value, at: "access_log.flush_interval") {
            settings.flushInterval = interval
        }
        if let value = section["level"], let level = int(value, at: "access_log.level", in: 1...19) {
            settings.level = level
        }
        if let value = section["rotate_size"], let size = size(value, at: "access_log.rotate_size", allowZero: false) {
            settings.rotateSize = size
        }
        if let value = section["rotate_age"], let age = duration(value, at: "access_log.rotate_age") {
            settings.rotateAge = age
        }
        if let value = section["retain"], let retain = int(value, at: "access_log.retain", in: 0...100_000) {
            settings.retain = retain
        }
        if let value = section["compression"],
            let compression = choice(value, at: "access_log.compression", as: AccessLogSettings.Compression.self)
        {
            settings.compression = compression
        }
    }

    private mutating func metrics(_ node: Node, into settings: inout MetricsSettings) {
        let keys = [
            "enabled", "node_labels", "native_histograms", "buckets", "max_series", "consumer_label", "plugin_timing",
        ]
        guard let section = fields(node, at: "metrics", allowed: keys) else { return }
        if let value = section["enabled"], let enabled = bool(value, at: "metrics.enabled") {
            settings.enabled = enabled
        }
        if let value = section["node_labels"], let enabled = bool(value, at: "metrics.node_labels") {
            settings.nodeLabels = enabled
        }
        if let value = section["native_histograms"], let enabled = bool(value, at: "metrics.native_histograms") {
            settings.nativeHistograms = enabled
        }
        if let value = section["consumer_label"], let enabled = bool(value, at: "metrics.consumer_label") {
            settings.consumerLabel = enabled
        }
        if let value = section["plugin_timing"], let enabled = bool(value, at: "metrics.plugin_timing") {
            settings.pluginTiming = enabled
        }
        if let value = section["max_series"], let limit = int(value, at: "metrics.max_series", in: 1...10_000_000) {
            settings.maxSeries = limit
        }
        if let value = section["buckets"],
            let families = fields(value, at: "metrics.buckets", allowed: Self.bucketFamilies)
        {
            for family in Self.bucketFamilies {
                guard let list = families[family] else { continue }
                let path = "metrics.buckets.\(family)"
                guard let items = self.list(list, at: path, allowSingle: false) else { continue }
                var bounds: [Double] = []
                for item in items {
                    guard case .scalar = item.node, item.node.tagName == .int || item.node.tagName == .float,
                        let bound = item.node.float, bound.isFinite, bound > 0
                    else {
                        report(item.path, item.node, "expected a positive number (a bucket upper bound)")
                        continue
                    }
                    bounds.append(bound)
                }
                guard bounds.count == items.count else { continue }
                guard !bounds.isEmpty, zip(bounds, bounds.dropFirst()).allSatisfy({ $0 < $1 }) else {
                    report(path, list, "needs at least one bound, strictly increasing")
                    continue
                }
                settings.buckets[family] = bounds
            }
        }
    }

    private mutating func http2(_ node: Node, into settings: inout HTTP2Settings) {
        let keys = ["max_concurrent_streams", "max_header_list_size", "max_resets_per_second", "max_empty_frames"]
        guard let section = fields(node, at: "http2", allowed: keys) else { return }
        if let value = section["max_concurrent_streams"],
            let count = int(value, at: "http2.max_concurrent_streams", in: 1...10_000)
        {
            settings.maxConcurrentStreams = count
        }
        if let value = section["max_header_list_size"],
            let bytes = size(value, at: "http2.max_header_list_size", allowZero: false)
        {
            if bytes > 1 << 20 {
                report("http2.max_header_list_size", value, "must be at most 1m")
            } else {
                settings.maxHeaderListSize = Int(bytes)
            }
        }
        if let value = section["max_resets_per_second"],
            let count = int(value, at: "http2.max_resets_per_second", in: 1...1_000_000)
        {
            settings.maxResetsPerSecond = count
        }
        if let value = section["max_empty_frames"],
            let count = int(value, at: "http2.max_empty_frames", in: 1...100_000)
        {
            settings.maxEmptyFrames = count
        }
    }

    private mutating func limits(_ node: Node, into limits: inout LimitsConfig) {
        let keys = [
            "max_request_line", "max_header_size", "max_headers", "header_timeout", "keepalive_timeout",
            "body_timeout", "send_timeout", "tls_handshake_timeout", "client_max_body_size", "max_connections",
        ]
        guard let section = fields(node, at: "limits", allowed: keys) else { return }
        let oneGiB: Int64 = 1 << 30
        func path(_ key: String) -> String { "limits.\(key)" }
        if let value = section["max_request_line"],
            let bytes = size(value, at: path("max_request_line"), allowZero: false)
        {
            if bytes > oneGiB {
                report(path("max_request_line"), value, "must be at most 1g")
            } else {
                limits.maxRequestLineBytes = Int(bytes)
            }
        }
        if let value = section["max_header_size"],
            let bytes = size(value, at: path("max_header_size"), allowZero: false)
        {
            if bytes > oneGiB {
                report(path("max_header_size"), value, "must be at most 1g")
            } else {
                limits.maxHeaderBytes = Int(bytes)
            }
        }
        if let value = section["max_headers"], let count = int(value, at: path("max_headers"), in: 1...100_000) {
            limits.maxHeaderCount = count
        }
        if let value = section["header_timeout"], let timeout = duration(value, at: path("header_timeout")) {
            limits.headerTimeout = timeout
        }
        if let value = section["keepalive_timeout"], let timeout = duration(value, at: path("keepalive_timeout")) {
            limits.keepaliveTimeout = timeout
        }
        if let value = section["body_timeout"], let timeout = duration(value, at: path("body_timeout")) {
            limits.clientBodyTimeout = timeout
        }
        if let value = section["send_timeout"], let timeout = duration(value, at: path("send_timeout")) {
            limits.sendTimeout = timeout
        }
        if let value = section["tls_handshake_timeout"],
            let timeout = duration(value, at: path("tls_handshake_timeout"))
        {
            limits.tlsHandshakeTimeout = timeout
        }
        if let value = section["client_max_body_size"],
            let bytes = size(value, at: path("client_max_body_size"), allowZero: true)
        {
            limits.clientMaxBodySize = bytes
        }
        if let value = section["max_connections"],
            let count = int(value, at: path("max_connections"), in: 1...10_000_000)
        {
            limits.maxConnectionsPerWorker = count
        }
    }

    /// Checks an id: letters, digits, '_', '-' and '.', so ids are safe as metric labels and never clash
    /// with the "route:<id>" ids of inline upstreams.
    mutating func identifier(_ node: Node, at path: String) -> String? {
        guard let id = nonEmptyString(node, at: path) else { return nil }
        let valid =
            id.utf8.count <= 128
            && id.utf8.allSatisfy { byte in
                (byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "z"))
                    || (byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z"))
                    || (byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9")) || byte == UInt8(ascii: "_")
                    || byte == UInt8(ascii: "-") || byte == UInt8(ascii: ".")
            }
        guard valid else {
            report(path, node, "id \"\(id)\" may only use letters, digits, \"_\", \"-\" and \".\" (at most 128)")
            return nil
        }
        return id
    }

    /// Accepts APISIX's descriptive keys (`name`, `desc`, `labels`) after checking their shape; they have no effect.
    mutating func descriptive(_ fields: ConfigFields) {
        for key in ["name", "desc"] {
            if let value = fields[key] {
                _ = string(value, at: fields.path(key))
            }
        }
        if let value = fields["labels"], value.mapping == nil {
            report(
                fields.path("labels"),
                value,
                "expected a mapping of label names to values, found \(Self.kind(value))"
            )
        }
    }
}
