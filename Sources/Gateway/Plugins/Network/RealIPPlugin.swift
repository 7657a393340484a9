import AccessLog

/// `real-ip`: takes the client address from a header or a query argument the proxy in front wrote,
/// like nginx's `ngx_http_realip_module`; logs, metrics, `X-Forwarded-For` and the other plugins then use
/// it (``PluginRequest/clientAddress``).
///
/// - `source` (required): where the address is: `http_x_forwarded_for` (the last address of the last
///   `X-Forwarded-For` header), `http_<name>` (a header, `_` standing for `-`), `arg_<name>` (a query
///   argument) or `cookie_<name>`. The value is an IPv4 or IPv6 address with an optional port
///   (`1.2.3.4:80`, `[::1]:80`); the port is checked and dropped. A missing or invalid value changes
///   nothing.
/// - `trusted_addresses`: addresses and CIDRs of the proxies allowed to say; the address is changed only
///   when the connection comes from one of them. Without it any peer is believed (APISIX 3.x).
/// - `recursive` (default false): with `http_x_forwarded_for` and `trusted_addresses`, walk the header
///   from the right, skipping trusted addresses, and take the first untrusted one (the leftmost when all
///   are trusted), as `real_ip_recursive on` does.
package final class RealIPPlugin: GatewayPlugin {
    package static let descriptor = PluginDescriptor(
        name: "real-ip",
        priority: 23000,
        phases: [.rewrite],
        keys: ["source", "trusted_addresses", "recursive"],
        compile: { settings in RealIPPlugin(&settings) }
    )

    package var descriptor: PluginDescriptor { Self.descriptor }

    private enum Source {
        case forwardedFor
        case header
        case argument
        case cookie
    }

    private let source: Source
    /// The header, argument or cookie name.
    private let name: PluginText
    private let trusted: IPMatcher?
    private let recursive: Bool

    init?(_ settings: inout PluginSettings) {
        let start = settings.issueCount
        if !settings.has("source") { settings.missing("source") }
        let text = settings.nonEmptyString("source") ?? ""
        var source = Source.header
        var name = ""
        if text == "http_x_forwarded_for" {
            source = .forwardedFor
            name = "x-forwarded-for"
        } else if text.hasPrefix("http_"), text.count > 5 {
            name = String(text.dropFirst(5).map { $0 == "_" ? "-" : $0 })
        } else if text.hasPrefix("arg_"), text.count > 4 {
            source = .argument
            name = String(text.dropFirst(4))
        } else if text.hasPrefix("cookie_"), text.count > 7 {
            source = .cookie
            name = String(text.dropFirst(7))
        } else if !text.isEmpty {
            settings.report(
                "source",
                "\"\(text)\" is not supported; use http_x_forwarded_for, http_<header>, arg_<name> or cookie_<name>"
            )
        }
        self.source = source
        self.name = PluginText(name)
        trusted = IPMatcher.read(&settings, "trusted_addresses")
        recursive = settings.bool("recursive") ?? false
        if settings.issueCount > start { return nil }
    }

    package func rewrite(_ request: PluginRequest) -> PluginVerdict {
        if let trusted, !trusted.contains(request.peerAddress) { return .proceed }
        let found: ClientAddress?
        switch source {
        case .forwardedFor:
            found = recursive && trusted != nil ? rightmostUntrusted(request) : lastForwarded(request)
        case .header:
            found = request.header(named: name.bytes).flatMap { IPAddressText.parseWithOptionalPort($0) }
        case .argument:
            found = request.queryArgument(named: name.bytes).flatMap { IPAddressText.parseWithOptionalPort($0) }
        case .cookie:
            found = request.cookie(named: name.bytes).flatMap { IPAddressText.parseWithOptionalPort($0) }
        }
        if let found { request.clientAddress = found }
        return .proceed
    }

    /// The last address of the last `X-Forwarded-For` header (APISIX reads the last header's last element).
    private func lastForwarded(_ request: PluginRequest) -> ClientAddress? {
        var last: UnsafeRawBufferPointer?
        request.forEachHeader(named: name.bytes) { value in
            var start = value.count
            while start > 0 && value[start &- 1] != UInt8(ascii: ",") { start &-= 1 }
            last = UnsafeRawBufferPointer(rebasing: value[start...])
        }
        return last.flatMap { IPAddressText.parseWithOptionalPort($0) }
    }

    /// The rightmost entry across all `X-Forwarded-For` headers that is not a trusted proxy, or the
    /// leftmost entry when every one is; nil when the chosen entry is not an address (nginx gives up
    /// there too).
    private func rightmostUntrusted(_ request: PluginRequest) -> ClientAddress? {
        guard let trusted else { return nil }
        var decided = false
        var answer: ClientAddress?
        var leftmostSeen = false
        var leftmost: ClientAddress?
        request.forEachHeader(named: name.bytes) { value in
            if !leftmostSeen {
                var start = 0
                while start < value.count {
                    var end = start
                    while end < value.count && value[end] != UInt8(ascii: ",") { end &+= 1 }
                    let entry = UnsafeRawBufferPointer(rebasing: value[start..<end])
                    if !Self.isBlank(entry) {
                        leftmostSeen = true
                        leftmost = IPAddressText.parseWithOptionalPort(entry)
                        break
                    }
                    start = end &+ 1
                }
            }
            // Right to left within this header; a later header's answer (further right) replaces it.
            var end = value.count
            while true {
                var start = end
                while start > 0 && value[start &- 1] != UInt8(ascii: ",") { start &-= 1 }
                let entry = UnsafeRawBufferPointer(rebasing: value[start..<end])
                if !Self.isBlank(entry) {
                    let address = IPAddressText.parseWithOptionalPort(entry)
                    let isTrusted = address.map { trusted.contains($0) } ?? false
                    if !isTrusted {
                        decided = true
                        answer = address
                        return
                    }
                }
                guard start > 0 else { return }
                end = start &- 1
            }
        }
        return decided ? answer : leftmost
    }

    private static func isBlank(_ bytes: UnsafeRawBufferPointer) -> Bool {
        for byte in bytes where byte != 0x20 && byte != 0x09 { return false }
        return true
    }
}
