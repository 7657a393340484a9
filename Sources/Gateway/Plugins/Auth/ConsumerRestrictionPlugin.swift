/// `consumer-restriction`: lets only listed consumers through (`whitelist`) or keeps listed ones out
/// (`blacklist`), by consumer name; runs after authentication.
package final class ConsumerRestrictionPlugin: GatewayPlugin {
    package static let descriptor = PluginDescriptor(
        name: "consumer-restriction",
        priority: 2400,
        phases: [.access],
        keys: ["type", "whitelist", "blacklist", "rejected_code", "rejected_msg"],
        compile: { settings in ConsumerRestrictionPlugin(&settings) }
    )

    package var descriptor: PluginDescriptor { Self.descriptor }

    private let allowed: CredentialIndex?
    private let denied: CredentialIndex?
    private let rejectedCode: Int
    private let message: PluginText

    init?(_ settings: inout PluginSettings) {
        let start = settings.issueCount
        _ = settings.choice("type", in: ["consumer_name"])
        let whitelist = settings.stringList("whitelist")
        let blacklist = settings.stringList("blacklist")
        if whitelist == nil && blacklist == nil {
            settings.report("", "needs a whitelist or a blacklist of consumer names")
        } else if whitelist != nil && blacklist != nil {
            settings.report("blacklist", "use either whitelist or blacklist, not both")
        }
        for (key, list) in [("whitelist", whitelist), ("blacklist", blacklist)] where list?.isEmpty == true {
            settings.report(key, "must name at least one consumer")
        }
        allowed = whitelist.map { CredentialIndex($0.map { (Array($0.utf8), 1) }) }
        denied = blacklist.map { CredentialIndex($0.map { (Array($0.utf8), 1) }) }
        rejectedCode = settings.int("rejected_code", in: 200...599) ?? 403
        message = PluginText(jsonEscaping: settings.string("rejected_msg") ?? "The consumer_name is forbidden.")
        if settings.issueCount > start { return nil }
    }

    package func access(_ request: PluginRequest) -> PluginVerdict {
        guard let name = request.consumerName else {
            return .reject(401, "Missing authentication or identity verification.")
        }
        if let allowed, allowed.lookup(name) < 0 { return .reject(status: rejectedCode, message: message.bytes) }
        if let denied, denied.lookup(name) >= 0 { return .reject(status: rejectedCode, message: message.bytes) }
        return .proceed
    }
}
