/// `proxy-rewrite`: changes what is sent upstream — the target, Host, method and headers — with APISIX's
/// keys and semantics.
///
/// - `uri`: the new path (starting with `/`), with variables (``ValueTemplate``); a `?` in it starts a
///   query, and the client's query is kept, joined with `&` (APISIX).
/// - `regex_uri`: `[pattern, replacement, pattern, replacement, …]`; the first pattern that matches the
///   path has its match replaced (`ngx.re.sub`: only the matched part, the rest is kept) by the
///   replacement, in which `$1`…`$9` are its groups. `uri` wins when both are set. Patterns use
///   ``ByteRegex``'s PCRE subset. The client's query is kept as with `uri`.
/// - `host`, `method`: the upstream request's Host and method.
/// - `headers`: `{add: {…}, set: {…}, remove: […]}` or the flat `{name: value}` (set); values may use
///   variables and the `regex_uri` groups (``HeaderEditList``).
/// - `use_real_request_uri_unsafe` (default false): `regex_uri` works on the whole target as sent
///   (query included) and the result is sent as is, with no query appended and nothing encoded.
/// - `scheme` (APISIX 2.x): `http` is accepted; `https` is reported until upstream TLS exists.
///
/// The path is matched as the client sent it — not percent-decoded and normalised as nginx's `$uri` is
/// — and sent likewise; bytes that cannot appear in a request line (spaces, controls, non-ASCII, `"<>\^`
/// and so on) that a variable or a capture put into the path are percent-encoded.
package final class ProxyRewritePlugin: GatewayPlugin {
    package static let descriptor = PluginDescriptor(
        name: "proxy-rewrite",
        priority: 1008,
        phases: [.rewrite],
        keys: ["uri", "method", "regex_uri", "host", "headers", "use_real_request_uri_unsafe", "scheme"],
        compile: { settings in ProxyRewritePlugin(&settings) }
    )

    package var descriptor: PluginDescriptor { Self.descriptor }

    /// The methods APISIX's schema accepts.
    static let methods = [
        "GET", "POST", "PUT", "HEAD", "DELETE", "OPTIONS", "MKCOL", "COPY", "MOVE", "PROPFIND", "LOCK", "UNLOCK",
        "PATCH", "TRACE",
    ]

    private let uri: ValueTemplate?
    private let patterns: [ByteRegex]
    private let replacements: [ValueTemplate]
    private let workspace: RegexWorkspace?
    private let host: PluginText?
    private let method: PluginText?
    private let headers: HeaderEditList?
    private let rawTarget: Bool

    init?(_ settings: inout PluginSettings) {
        let start = settings.issueCount
        rawTarget = settings.bool("use_real_request_uri_unsafe") ?? false
        if let scheme = settings.choice("scheme", in: ["http", "https"]), scheme == "https" {
            settings.report("scheme", "\"https\" is not supported yet (the gateway has no upstream TLS); use \"http\"")
        }
        var uri: ValueTemplate?
        if let text = settings.nonEmptyString("uri") {
            if !text.hasPrefix("/") {
                settings.report("uri", "must start with \"/\"")
            } else if text.utf8.count > 4096 {
                settings.report("uri", "must be at most 4096 characters long")
            } else {
                do {
                    uri = try ValueTemplate(text, phase: .request, syntax: .variables, groups: nil)
                } catch {
                    settings.report("uri", error.description)
                }
            }
        }
        self.uri = uri
        var patterns: [ByteRegex] = []
        var replacements: [ValueTemplate] = []
        if let list = settings.stringList("regex_uri") {
            if list.count < 2 || list.count % 2 != 0 {
                settings.report("regex_uri", "must list pairs: [pattern, replacement, pattern, replacement, …]")
            } else {
                for index in stride(from: 0, to: list.count, by: 2) {
                    do {
                        let pattern = try ByteRegex(list[index])
                        do {
                            replacements.append(
                                try ValueTemplate(
                                    list[index + 1],
                                    phase: .request,
                                    syntax: .substitution,
                                    groups: pattern.groupCount
                                )
                            )
                            patterns.append(pattern)
                        } catch {
                            settings.report("regex_uri[\(index + 1)]", error.description)
                        }
                    } catch {
                        settings.report("regex_uri[\(index)]", "\(error.description) in \"\(list[index])\"")
                    }
                }
            }
        }
        self.patterns = patterns
        self.replacements = replacements
        workspace = patterns.isEmpty ? nil : RegexWorkspace(for: patterns, workers: settings.context.workerCount)
        var host: PluginText?
        if let text = settings.nonEmptyString("host") {
            if Self.isValidHost(text) {
                host = PluginText(text)
            } else {
                settings.report("host", "must be a host name or IPv4 address with an optional port, not \"\(text)\"")
            }
        }
        self.host = host
        method = settings.choice("method", in: Self.methods).map { PluginText($0) }
        headers = HeaderEditList.read(
            &settings,
            "headers",
            response: false,
            phase: .request,
            groups: patterns.isEmpty ? nil : patterns.map(\.groupCount).max()
        )
        if settings.issueCount > start { return nil }
    }

    package func rewrite(_ request: PluginRequest) -> PluginVerdict {
        // Build in the scratch buffer's first half, encode into its second half.
        let half = request.scratch.count / 2
        var built = ByteWriter(UnsafeMutableRawBufferPointer(rebasing: request.scratch[..<half]))
        var captures: RegexCaptures?
        var changed = false
        if let uri {
            uri.render(request, captures: nil, escapingQuestionMarks: true, into: &built)
            changed = true
        } else if !patterns.isEmpty, let block = workspace?.block(request.worker) {
            let subject: UnsafeRawBufferPointer
            if rawTarget, let head = request.head {
                subject = UnsafeRawBufferPointer(rebasing: request.source[head.targetRange])
            } else {
                subject = request.path
            }
            var index = 0
            while index < patterns.count {
                let pattern = patterns[index]
                if let slots = pattern.search(subject, in: block) {
                    let found = RegexCaptures(text: subject, slots: slots, groupCount: pattern.groupCount)
                    let range = found.matchRange
                    built.append(UnsafeRawBufferPointer(rebasing: subject[..<range.lowerBound]))
                    replacements[index].render(request, captures: found, escapingQuestionMarks: true, into: &built)
                    built.append(UnsafeRawBufferPointer(rebasing: subject[range.upperBound...]))
                    captures = found
                    changed = true
                    break
                }
                index &+= 1
            }
        }
        if changed {
            guard !built.overflowed else { return .reject(500, "The rewritten URI is too long") }
            if rawTarget {
                request.record(.uri, name: UnsafeRawBufferPointer(""), value: built.bytes)
            } else {
                var target = ByteWriter(UnsafeMutableRawBufferPointer(rebasing: request.scratch[half...]))
                Self.appendTarget(built.bytes, query: request.query, into: &target)
                guard !target.overflowed else { return .reject(500, "The rewritten URI is too long") }
                request.record(.uri, name: UnsafeRawBufferPointer(""), value: target.bytes)
            }
        }
        if let host { request.record(.host, name: UnsafeRawBufferPointer(""), value: host.bytes) }
        if let method { request.record(.method, name: UnsafeRawBufferPointer(""), value: method.bytes) }
        if let headers, !headers.apply(request, captures: captures) {
            return .reject(500, "The rewritten request headers are too large")
        }
        return .proceed
    }

    /// Writes `uri` with its path part made safe for a request line, then the client's query, joined
    /// with `&` when `uri` has a query of its own (APISIX's upstream_uri).
    static func appendTarget(
        _ uri: UnsafeRawBufferPointer,
        query: UnsafeRawBufferPointer?,
        into writer: inout ByteWriter
    ) {
        var index = 0
        while index < uri.count && uri[index] != UInt8(ascii: "?") {
            let byte = uri[index]
            if Self.needsEncoding(byte) {
                writer.append(UInt8(ascii: "%"))
                writer.append(Self.hexDigit(byte >> 4))
                writer.append(Self.hexDigit(byte & 0x0F))
            } else {
                writer.append(byte)
            }
            index &+= 1
        }
        let hasQuery = index < uri.count
        writer.append(UnsafeRawBufferPointer(rebasing: uri[index...]))
        if let query {
            writer.append(hasQuery ? UInt8(ascii: "&") : UInt8(ascii: "?"))
            writer.append(query)
        }
    }

    /// Bytes that may not appear raw in a request-target's path (RFC 3986 §3.3 allows the rest, and `%`
    /// is kept so existing escapes survive).
    @inline(__always)
    static func needsEncoding(_ byte: UInt8) -> Bool {
        switch byte {
        case 0...0x20, 0x7F...0xFF: return true
        case UInt8(ascii: "\""), UInt8(ascii: "<"), UInt8(ascii: ">"), UInt8(ascii: "\\"), UInt8(ascii: "^"),
            UInt8(ascii: "`"), UInt8(ascii: "{"), UInt8(ascii: "|"), UInt8(ascii: "}"), UInt8(ascii: "#"):
            return true
        default: return false
        }
    }

    @inline(__always)
    private static func hexDigit(_ value: UInt8) -> UInt8 {
        value < 10 ? value &+ 0x30 : value &+ 0x37
    }

    /// APISIX's `^[0-9a-zA-Z-.]+(:\d{1,5})?$`.
    static func isValidHost(_ text: String) -> Bool {
        let parts = text.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false)
        let name = parts[0]
        guard !name.isEmpty,
            name.utf8.allSatisfy({ $0.isASCIILetterOrDigit || $0 == UInt8(ascii: "-") || $0 == UInt8(ascii: ".") })
        else { return false }
        guard parts.count == 2 else { return true }
        let port = parts[1]
        return (1...5).contains(port.count) && port.utf8.allSatisfy { $0 >= 0x30 && $0 <= 0x39 }
    }
}

extension UInt8 {
    fileprivate var isASCIILetterOrDigit: Bool {
        (self >= 0x30 && self <= 0x39) || (self >= 0x41 && self <= 0x5A) || (self >= 0x61 && self <= 0x7A)
    }
}
