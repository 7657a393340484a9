/// `cors`: answers CORS preflights and adds the `Access-Control-*` headers to responses, with APISIX's
/// keys and semantics.
///
/// - `allow_origins` (default `"*"`): `*` (any origin, answered `*`), `**` (any origin, echoed even with
///   credentials), `null`, or comma-separated `scheme://host[:port]` origins without spaces, one of which
///   must equal the request's `Origin` (then echoed, with `Vary: Origin`). A list of origins
///   (`[https://a.com, https://b.com]`) is accepted too, as is a list of one `*` or `**`.
/// - `allow_origins_by_regex`: patterns an origin must match instead (then `allow_origins` is ignored, as
///   in APISIX 3.x); the syntax is ``ByteRegex``'s PCRE subset, matched unanchored like `ngx.re.find`.
/// - `allow_methods` (default `"*"`, `**` lists every method), `allow_headers` (default `"*"`, `**` echoes
///   `Access-Control-Request-Headers`), `expose_headers` (no default: not sent unless set), `max_age`
///   (default 5), `allow_credential` (default false; APISIX refuses `*` in the other keys with it).
/// - `timing_allow_origins` / `timing_allow_origins_by_regex`: origins that get `Timing-Allow-Origin`.
/// - `allow_origins_by_metadata` needs plugin metadata, which the gateway does not have: reported.
///
/// Every `OPTIONS` request is answered 200 by the gateway (APISIX's `rewrite` does the same), with the
/// headers when the origin is allowed. A disallowed origin gets no CORS headers, so the browser blocks
/// the response. The headers are recorded in `rewrite` (the request's `Origin` is only readable there) and
/// the worker applies them to whatever response is sent, the upstream's or a gateway rejection.
package final class CORSPlugin: GatewayPlugin {
    package static let descriptor = PluginDescriptor(
        name: "cors",
        priority: 4000,
        phases: [.rewrite],
        keys: [
            "allow_origins", "allow_methods", "allow_headers", "expose_headers", "max_age", "allow_credential",
            "allow_origins_by_regex", "allow_origins_by_metadata", "timing_allow_origins",
            "timing_allow_origins_by_regex",
        ],
        compile: { settings in CORSPlugin(&settings) }
    )

    package var descriptor: PluginDescriptor { Self.descriptor }

    /// Every method, for `allow_methods: "**"`.
    static let allMethods = "GET,POST,PUT,DELETE,PATCH,HEAD,OPTIONS,CONNECT,TRACE"

    private let origins: OriginRule
    private let timingOrigins: OriginRule?
    private let workspace: RegexWorkspace?
    private let allowMethods: PluginText
    /// Nil for `**`: the request's `Access-Control-Request-Headers` is echoed.
    private let allowHeaders: PluginText?
    private let exposeHeaders: PluginText?
    private let maxAge: Int
    private let allowCredential: Bool

    init?(_ settings: inout PluginSettings) {
        let start = settings.issueCount
        let allowOrigins = Self.origins(&settings, "allow_origins") ?? "*"
        let methods = settings.string("allow_methods") ?? "*"
        let headers = settings.string("allow_headers") ?? "*"
        let expose = settings.string("expose_headers")
        maxAge = settings.int("max_age", in: Int(Int32.min)...Int(Int32.max)) ?? 5
        allowCredential = settings.bool("allow_credential") ?? false
        if allowCredential {
            let starred = [
                ("allow_origins", allowOrigins), ("allow_methods", methods), ("allow_headers", headers),
                ("expose_headers", expose ?? ""),
            ].filter { $0.1 == "*" }.map(\.0)
            if !starred.isEmpty {
                settings.report(
                    "allow_credential",
                    "you can not set '*' for other option when 'allow_credential' is true: "
                        + "\(starred.joined(separator: ", ")) (\"*\" is the default of allow_origins, allow_methods "
                        + "and allow_headers; list the values, or use \"**\")"
                )
            }
        }
        if settings.has("allow_origins_by_metadata") {
            settings.report(
                "allow_origins_by_metadata",
                "is not supported (the gateway has no plugin metadata); list the origins in allow_origins or "
                    + "allow_origins_by_regex"
            )
        }
        let regexes = Self.regexes(&settings, "allow_origins_by_regex")
        let timing = Self.origins(&settings, "timing_allow_origins")
        let timingRegexes = Self.regexes(&settings, "timing_allow_origins_by_regex")
        origins = OriginRule(allowOrigins, regexes: regexes)
        timingOrigins = timing != nil || !timingRegexes.isEmpty ? OriginRule(timing ?? "", regexes: timingRegexes) : nil
        let all = regexes + timingRegexes
        workspace = all.isEmpty ? nil : RegexWorkspace(for: all, workers: settings.context.workerCount)
        allowMethods = PluginText(methods == "**" ? Self.allMethods : methods)
        allowHeaders = headers == "**" ? nil : PluginText(headers)
        exposeHeaders = expose.flatMap { $0.isEmpty ? nil : PluginText($0) }
        for (key, value) in [("allow_methods", methods), ("allow_headers", headers), ("expose_headers", expose ?? "")]
        where value.utf8.contains(where: { $0 < 0x20 || $0 == 0x7F }) {
            settings.report(key, "must not contain control characters")
        }
        if settings.issueCount > start { return nil }
    }

    package func rewrite(_ request: PluginRequest) -> PluginVerdict {
        let origin = request.header("origin")
        if let allowed = origins.allowed(origin, request: request, workspace: workspace) {
            request.record(.responseSet, name: UnsafeRawBufferPointer("Access-Control-Allow-Origin"), value: allowed)
            if !(allowed.count == 1 && allowed[0] == UInt8(ascii: "*")) {
                request.record(
                    .responseAdd,
                    name: UnsafeRawBufferPointer("Vary"),
                    value: UnsafeRawBufferPointer("Origin")
                )
            }
            request.record(
                .responseSet,
                name: UnsafeRawBufferPointer("Access-Control-Allow-Methods"),
                value: allowMethods.bytes
            )
            request.record(.responseSet, name: UnsafeRawBufferPointer("Access-Control-Max-Age"), decimal: maxAge)
            if let exposeHeaders {
                request.record(
                    .responseSet,
                    name: UnsafeRawBufferPointer("Access-Control-Expose-Headers"),
                    value: exposeHeaders.bytes
                )
            }
            if let allowHeaders {
                request.record(
                    .responseSet,
                    name: UnsafeRawBufferPointer("Access-Control-Allow-Headers"),
                    value: allowHeaders.bytes
                )
            } else if let requested = request.header("access-control-request-headers") {
                request.record(
                    .responseSet,
                    name: UnsafeRawBufferPointer("Access-Control-Allow-Headers"),
                    value: requested
                )
            }
            if allowCredential {
                request.record(
                    .responseSet,
                    name: UnsafeRawBufferPointer("Access-Control-Allow-Credentials"),
                    value: UnsafeRawBufferPointer("true")
                )
            }
        }
        if let timingOrigins, let allowed = timingOrigins.allowed(origin, request: request, workspace: workspace) {
            request.record(.responseSet, name: UnsafeRawBufferPointer("Timing-Allow-Origin"), value: allowed)
        }
        return request.method == .options ? .respond(status: 200) : .proceed
    }

    /// Reads origins (`allow_origins`, `timing_allow_origins`): APISIX's string, checked against its pattern
    /// `^(\*|\*\*|null|\w+://[^,]+(,\w+://[^,]+)*)$`, or a list of such values, one origin (or a lone `*`,
    /// `**`) each, which is read as the same string joined by commas.
    private static func origins(_ settings: inout PluginSettings, _ key: String) -> String? {
        if case .sequence = settings.yamlNode(key) {
            guard let items = settings.stringList(key) else { return nil }
            guard !items.isEmpty else {
                settings.report(key, "must list at least one origin")
                return nil
            }
            let start = settings.issueCount
            for (index, item) in items.enumerated()
            where item.contains(",") || !OriginRule.isValid(item) || (items.count > 1 && item.hasPrefix("*")) {
                settings.report(
                    below: "\(key)[\(index)]",
                    "must be one origin such as \"https://a.com:8443\" (\"*\" or \"**\" only alone), not \"\(item)\""
                )
            }
            return settings.issueCount > start ? nil : items.joined(separator: ",")
        }
        guard let text = settings.string(key) else { return nil }
        guard OriginRule.isValid(text) else {
            settings.report(
                key,
                "must be \"*\", \"**\", \"null\" or origins such as \"https://a.com,https://b.com:8443\" "
                    + "(comma-separated, no spaces), not \"\(text)\""
            )
            return nil
        }
        return text
    }

    /// Compiles a list of origin patterns, reporting each that does not compile at its index.
    private static func regexes(_ settings: inout PluginSettings, _ key: String) -> [ByteRegex] {
        guard let patterns = settings.stringList(key) else { return [] }
        if patterns.isEmpty { settings.report(key, "must list at least one pattern") }
        var compiled: [ByteRegex] = []
        for (index, pattern) in patterns.enumerated() {
            if pattern.isEmpty || pattern.utf8.count > 4096 {
                settings.report("\(key)[\(index)]", "must be 1 to 4096 characters long")
                continue
            }
            if patterns[..<index].contains(pattern) {
                settings.report("\(key)[\(index)]", "repeats an earlier pattern")
                continue
            }
            do {
                compiled.append(try ByteRegex(pattern))
            } catch {
                settings.report("\(key)[\(index)]", "\(error.description) in \"\(pattern)\"")
            }
        }
        return compiled
    }
}
