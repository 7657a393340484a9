/// `ip-restriction`: lets only listed client addresses through (`whitelist`) or keeps listed ones out
/// (`blacklist`), by IPv4/IPv6 address or CIDR, checked against the client address (after `real-ip`).
///
/// Keys as in APISIX: exactly one of `whitelist` / `blacklist`; `message` (default "Your IP address is
/// not allowed", 1–1024 characters) and `response_code` (403 or 404, default 403) for rejections.
package final class IPRestrictionPlugin: GatewayPlugin {
    package static let descriptor = PluginDescriptor(
        name: "ip-restriction",
        priority: 3000,
        phases: [.access],
        keys: ["whitelist", "blacklist", "message", "response_code"],
        compile: { settings in IPRestrictionPlugin(&settings) }
    )

    package var descriptor: PluginDescriptor { Self.descriptor }

    private let networks: IPMatcher
    /// Whether `networks` is the whitelist (else the blacklist).
    private let allows: Bool
    private let status: Int
    private let message: PluginText

    init?(_ settings: inout PluginSettings) {
        let start = settings.issueCount
        let hasWhitelist = settings.has("whitelist")
        let hasBlacklist = settings.has("blacklist")
        if !hasWhitelist && !hasBlacklist {
            settings.report("", "needs a whitelist or a blacklist of addresses or CIDRs")
        } else if hasWhitelist && hasBlacklist {
            settings.report("blacklist", "use either whitelist or blacklist, not both")
        }
        allows = hasWhitelist
        let matcher = IPMatcher.read(&settings, hasWhitelist ? "whitelist" : "blacklist")
        if hasWhitelist && hasBlacklist { _ = IPMatcher.read(&settings, "blacklist") }
        networks = matcher ?? IPMatcher([])
        status = settings.int("response_code", in: 403...404) ?? 403
        let text = settings.nonEmptyString("message") ?? "Your IP address is not allowed"
        if text.count > 1024 { settings.report("message", "must be at most 1024 characters long") }
        message = PluginText(jsonEscaping: text)
        if settings.issueCount > start { return nil }
    }

    package func access(_ request: PluginRequest) -> PluginVerdict {
        if networks.contains(request.clientAddress) != allows {
            return .reject(status: status, message: message.bytes)
        }
        return .proceed
    }
}
