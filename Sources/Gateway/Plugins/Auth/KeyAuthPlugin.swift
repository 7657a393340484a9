/// `key-auth`: the consumer is whoever holds the API key the request carries in a header or a query
/// argument. Keys are found by hash and confirmed in constant time (``CredentialIndex``).
package final class KeyAuthPlugin: GatewayPlugin {
    package static let descriptor = PluginDescriptor(
        name: "key-auth",
        priority: 2500,
        phases: [.rewrite],
        keys: ["header", "query", "hide_credentials", "anonymous_consumer"],
        consumerKeys: ["key"],
        readCredential: { settings in
            guard settings.has("key") else {
                settings.missing("key")
                return nil
            }
            guard let key = settings.nonEmptyString("key") else { return nil }
            return .keyAuth(key: key)
        },
        compile: { settings in KeyAuthPlugin(&settings) }
    )

    package var descriptor: PluginDescriptor { Self.descriptor }

    private let header: [UInt8]
    private let query: [UInt8]
    private let hideCredentials: Bool
    /// The consumer requests without a valid key count as, or -1 to reject them.
    private let anonymous: Int32

    init?(_ settings: inout PluginSettings) {
        let start = settings.issueCount
        header = Array((settings.nonEmptyString("header") ?? "apikey").utf8)
        query = Array((settings.nonEmptyString("query") ?? "apikey").utf8)
        hideCredentials = settings.bool("hide_credentials") ?? false
        anonymous = AuthenticationSupport.anonymousConsumer(&settings)
        if settings.issueCount > start { return nil }
    }

    package func rewrite(_ request: PluginRequest) -> PluginVerdict {
        let fromHeader: Bool
        let key: UnsafeRawBufferPointer
        if let value = header.withUnsafeBytes({ request.header(named: $0) }) {
            key = value
            fromHeader = true
        } else if let value = query.withUnsafeBytes({ request.queryArgument(named: $0) }) {
            key = value
            fromHeader = false
        } else {
            if anonymous >= 0 {
                request.authenticate(consumer: anonymous)
                return .proceed
            }
            return .reject(401, "Missing API key in request")
        }
        let credential = request.consumers.keys.lookup(key)
        guard credential >= 0 else {
            if anonymous >= 0 {
                request.authenticate(consumer: anonymous)
                return .proceed
            }
            return .reject(401, "Invalid API key in request")
        }
        request.authenticate(consumer: request.consumers.credentials[Int(credential)].consumer)
        if hideCredentials {
            if fromHeader {
                header.withUnsafeBytes {
                    request.record(.requestRemove, name: $0, value: UnsafeRawBufferPointer(start: nil, count: 0))
                }
            } else {
                query.withUnsafeBytes {
                    request.record(.removeQueryArgument, name: $0, value: UnsafeRawBufferPointer(start: nil, count: 0))
                }
            }
        }
        return .proceed
    }
}
