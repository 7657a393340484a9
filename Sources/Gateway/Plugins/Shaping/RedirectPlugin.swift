/// `redirect`: answers the request with a redirect instead of proxying it, with APISIX's keys and
/// semantics, in the `rewrite` phase (priority 900).
///
/// Exactly one of these says where to:
/// - `http_to_https: true`: a request on a plain-HTTP connection goes to `https://<host><target>`, where
///   host is the request's host (lower-cased, without its port) and target is the path and query as
///   sent. The status is 301 for GET and HEAD and 308 for other methods (so the method and body are
///   kept), whatever `ret_code` says. Requests on TLS connections pass. `https_port` (ours: APISIX
///   reads `plugin_attr.redirect.https_port` from its own configuration file) adds a port other than
///   443 to the Location.
/// - `uri`: a template with variables (``ValueTemplate``), relative (`/login`) or absolute
///   (`https://example.com$uri`).
/// - `regex_uri`: `[pattern, replacement]`; when the pattern matches the path, the matched part is
///   replaced (`$1`…`$9` are its groups, as `ngx.re.sub`) and the result is the Location; a request whose
///   path does not match passes.
///
/// `ret_code` (302) is the status for `uri` and `regex_uri`. `encode_uri` percent-encodes the Location up
/// to its first `?` (controls, space, non-ASCII, `"#<>\^{|}` and backquote; `%` is kept, see
/// ``appendEscaped(_:into:)``); `append_query_string` adds the client's query (after `&` when the
/// Location has a `?` already), not allowed with `http_to_https`, which keeps the query anyway.
///
/// As in `proxy-rewrite`, `$uri` and `regex_uri` see the path as the client sent it (nginx decodes and
/// normalises `$uri` first).
///
/// The Location is built in the request's scratch bytes and recorded as a response header; the gateway
/// answers with the status and no body. Nothing is allocated per request.
package final class RedirectPlugin: GatewayPlugin {
    package static let descriptor = PluginDescriptor(
        name: "redirect",
        priority: 900,
        phases: [.rewrite],
        keys: ["http_to_https", "uri", "regex_uri", "ret_code", "encode_uri", "append_query_string", "https_port"],
        compile: { settings in RedirectPlugin(&settings) }
    )

    package var descriptor: PluginDescriptor { Self.descriptor }

    /// Whether `http_to_https` is on.
    private let toHTTPS: Bool
    /// `:<https_port>` for `http_to_https`, nil for 443.
    private let port: PluginText?
    private let uri: ValueTemplate?
    private let pattern: ByteRegex?
    private let replacement: ValueTemplate?
    private let workspace: RegexWorkspace?
    /// `ret_code`, for `uri` and `regex_uri`.
    private let status: Int
    private let encodeURI: Bool
    private let appendQueryString: Bool

    init?(_ settings: inout PluginSettings) {
        let start = settings.issueCount
        // APISIX's schema: exactly one of the three is present (`http_to_https: false` counts).
        let targets = ["http_to_https", "uri", "regex_uri"].filter { settings.has($0) }
        if targets.isEmpty {
            settings.report("", "needs one of http_to_https, uri or regex_uri")
        }
        for extra in targets.dropFirst() {
            settings.report(extra, "only one of http_to_https, uri and regex_uri may be set (\(targets[0]) is set)")
        }
        toHTTPS = settings.bool("http_to_https") ?? false
        status = settings.int("ret_code", in: 200...599) ?? 302
        encodeURI = settings.bool("encode_uri") ?? false
        appendQueryString = settings.bool("append_query_string") ?? false
        if toHTTPS && appendQueryString {
            settings.report("append_query_string", "cannot be used with http_to_https, which keeps the query already")
        }

        var port: PluginText?
        if let number = settings.int("https_port", in: 1...65535) {
            if !toHTTPS {
                settings.report("https_port", "is only used with http_to_https: true")
            } else if number != 443 {
                port = PluginText(":\(number)")
            }
        }
        self.port = port

        var uri: ValueTemplate?
        if let text = settings.string("uri") {
            if text.utf8.count < 2 {
                settings.report("uri", "must be at least 2 characters long")
            } else if let problem = Self.problem(in: text) {
                settings.report("uri", problem)
            } else {
                do {
                    uri = try ValueTemplate(text, phase: .request, syntax: .variables, groups: nil)
                } catch {
                    settings.report("uri", error.description)
                }
            }
        }
        self.uri = uri

        var pattern: ByteRegex?
        var replacement: ValueTemplate?
        if let list = settings.stringList("regex_uri") {
            if list.count != 2 {
                settings.report("regex_uri", "must be [pattern, replacement], not \(list.count) items")
            } else {
                do {
                    let compiled = try ByteRegex(list[0])
                    if let problem = Self.problem(in: list[1]) {
                        settings.report("regex_uri[1]", problem)
                    } else {
                        do {
                            replacement = try ValueTemplate(
                                list[1],
                                phase: .request,
                                syntax: .substitution,
                                groups: compiled.groupCount
                            )
                            pattern = compiled
                        } catch {
                            settings.report("regex_uri[1]", error.description)
                        }
                    }
                } catch {
                    settings.report("regex_uri[0]", "\(error.description) in \"\(list[0])\"")
                }
            }
        }
        self.pattern = pattern
        self.replacement = replacement
        workspace = pattern.map { RegexWorkspace(for: [$0], workers: settings.context.workerCount) }
        if settings.issueCount > start { return nil }
    }

    /// Why configured Location text cannot be sent (a control character would end or split the header).
    private static func problem(in text: String) -> String? {
        text.utf8.contains(where: { $0 < 0x20 || $0 == 0x7F }) ? "must not contain control characters" : nil
    }

    package func rewrite(_ request: PluginRequest) -> PluginVerdict {
        // Build in the scratch buffer's first half, encode into its second half.
        let half = request.scratch.count / 2
        var built = ByteWriter(UnsafeMutableRawBufferPointer(rebasing: request.scratch[..<half]))
        var status = self.status
        if toHTTPS {
            guard !request.isTLS else { return .proceed }
            guard let host = request.host, !host.isEmpty else {
                return .reject(400, "The request has no host to redirect to")
            }
            built.append(UnsafeRawBufferPointer("https://"))
            Self.appendHostWithoutPort(host, into: &built)
            if let port { built.append(port.bytes) }
            Self.appendTarget(request, into: &built)
            let method = request.method
            status = method == .get || method == .head ? 301 : 308
        } else if let uri {
            uri.render(request, captures: nil, into: &built)
        } else if let pattern, let replacement, let block = workspace?.block(request.worker) {
            let subject = request.path
            guard let slots = pattern.search(subject, in: block) else { return .proceed }
            let found = RegexCaptures(text: subject, slots: slots, groupCount: pattern.groupCount)
            let range = found.matchRange
            built.append(UnsafeRawBufferPointer(rebasing: subject[..<range.lowerBound]))
            replacement.render(request, captures: found, into: &built)
            built.append(UnsafeRawBufferPointer(rebasing: subject[range.upperBound...]))
        } else {
            // `http_to_https: false` alone: nothing to do.
            return .proceed
        }
        guard !built.overflowed else { return .reject(500, "The redirect location is too long") }

        var location = ByteWriter(UnsafeMutableRawBufferPointer(rebasing: request.scratch[half...]))
        let rendered = built.bytes
        var queryStart = 0
        while queryStart < rendered.count && rendered[queryStart] != UInt8(ascii: "?") { queryStart &+= 1 }
        if encodeURI {
            Self.appendEscaped(UnsafeRawBufferPointer(rebasing: rendered[..<queryStart]), into: &location)
            location.append(UnsafeRawBufferPointer(rebasing: rendered[queryStart...]))
        } else {
            location.append(rendered)
        }
        // APISIX appends only when the client sent a non-empty query (`$is_args` is "?").
        if appendQueryString, let query = request.query, !query.isEmpty {
            location.append(queryStart < rendered.count ? UInt8(ascii: "&") : UInt8(ascii: "?"))
            location.append(query)
        }
        guard !location.overflowed else { return .reject(500, "The redirect location is too long") }
        // A full edit area makes the worker answer 500 before it looks at the verdict.
        request.record(.responseSet, name: UnsafeRawBufferPointer("Location"), value: location.bytes)
        return .respond(status: status)
    }

    /// Appends `host` lower-cased and without its port (nginx's `$host`); an IPv6 literal keeps its
    /// brackets.
    @inline(__always)
    static func appendHostWithoutPort(_ host: UnsafeRawBufferPointer, into writer: inout ByteWriter) {
        let bracketed = host[0] == UInt8(ascii: "[")
        var index = 0
        while index < host.count {
            let byte = host[index]
            if bracketed {
                if byte == UInt8(ascii: "]") {
                    writer.append(byte)
                    return
                }
            } else if byte == UInt8(ascii: ":") {
                return
            }
            writer.append(byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z") ? byte | 0x20 : byte)
            index &+= 1
        }
    }

    /// Appends the request's path and query as sent (`$request_uri`); for an absolute-form or `*` target,
    /// its path (or `/`) and query.
    @inline(__always)
    static func appendTarget(_ request: PluginRequest, into writer: inout ByteWriter) {
        guard let head = request.head else { return }
        if head.targetForm == .origin {
            writer.append(UnsafeRawBufferPointer(rebasing: request.source[head.targetRange]))
            return
        }
        let path = request.path
        if path.first == UInt8(ascii: "/") {
            writer.append(path)
        } else {
            writer.append(UInt8(ascii: "/"))
        }
        if let query = request.query {
            writer.append(UInt8(ascii: "?"))
            writer.append(query)
        }
    }

    /// Appends `bytes` percent-encoded as nginx's `ngx_escape_uri` does for APISIX, except `%`: the path
    /// here is the client's raw one (APISIX's is decoded first), so its escapes are kept, not doubled.
    @inline(__always)
    static func appendEscaped(_ bytes: UnsafeRawBufferPointer, into writer: inout ByteWriter) {
        for byte in bytes {
            if ProxyRewritePlugin.needsEncoding(byte) {
                writer.append(UInt8(ascii: "%"))
                writer.append(hexDigit(byte >> 4))
                writer.append(hexDigit(byte & 0x0F))
            } else {
                writer.append(byte)
            }
        }
    }

    @inline(__always)
    private static func hexDigit(_ value: UInt8) -> UInt8 {
        value < 10 ? value &+ 0x30 : value &+ 0x37
    }
}
