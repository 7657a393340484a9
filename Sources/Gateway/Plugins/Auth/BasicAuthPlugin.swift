/// `basic-auth`: the consumer is the one whose user name and password the `Authorization: Basic`
/// header carries. The user name is found by hash and the password compared in constant time.
package final class BasicAuthPlugin: GatewayPlugin {
    package static let descriptor = PluginDescriptor(
        name: "basic-auth",
        priority: 2520,
        phases: [.rewrite],
        keys: ["hide_credentials", "anonymous_consumer"],
        consumerKeys: ["username", "password"],
        readCredential: { settings in
            for key in ["username", "password"] where !settings.has(key) { settings.missing(key) }
            guard let username = settings.nonEmptyString("username"), let password = settings.string("password")
            else { return nil }
            if username.utf8.contains(UInt8(ascii: ":")) {
                settings.report("username", "must not contain \":\" (it separates user name and password)")
                return nil
            }
            return .basicAuth(username: username, password: password)
        },
        compile: { settings in BasicAuthPlugin(&settings) }
    )

    package var descriptor: PluginDescriptor { Self.descriptor }

    private let hideCredentials: Bool
    private let anonymous: Int32
    /// Each credential's password bytes, by credential index (basic-auth ones only are non-nil).
    private let passwords: [PluginText?]

    init?(_ settings: inout PluginSettings) {
        let start = settings.issueCount
        hideCredentials = settings.bool("hide_credentials") ?? false
        anonymous = AuthenticationSupport.anonymousConsumer(&settings)
        passwords = settings.context.consumers.credentials.map {
            if case .basicAuth(_, let password) = $0.credential { return PluginText(password) }
            return nil
        }
        if settings.issueCount > start { return nil }
    }

    package func rewrite(_ request: PluginRequest) -> PluginVerdict {
        guard let value = request.header("authorization") else {
            return fallback(request, .reject(401, "Missing authorization in request"))
        }
        // "Basic" SP token68, scheme case-insensitive (RFC 9110 §11.1).
        guard value.count > 6, HTTPBytes.equalsIgnoringCase(value, 0..<6, "basic "),
            let length = Base64.decode(UnsafeRawBufferPointer(rebasing: value[6...]), into: request.scratch)
        else {
            return fallback(request, .reject(401, "Invalid authorization in request"))
        }
        let decoded = UnsafeRawBufferPointer(rebasing: request.scratch[0..<length])
        guard let colon = decoded.firstIndex(of: UInt8(ascii: ":")) else {
            return fallback(request, .reject(401, "Invalid authorization in request"))
        }
        let credential = request.consumers.basicUsers.lookup(UnsafeRawBufferPointer(rebasing: decoded[..<colon]))
        let password = UnsafeRawBufferPointer(rebasing: decoded[(colon + 1)...])
        guard credential >= 0, let expected = passwords[Int(credential)],
            CredentialIndex.constantTimeEquals(expected.bytes, password)
        else {
            return fallback(request, .reject(401, "Invalid user authorization"))
        }
        request.authenticate(consumer: request.consumers.credentials[Int(credential)].consumer)
        if hideCredentials {
            request.record(
                .requestRemove,
                name: UnsafeRawBufferPointer("Authorization"),
                value: UnsafeRawBufferPointer(start: nil, count: 0)
            )
        }
        return .proceed
    }

    /// A request without valid credentials: the anonymous consumer when configured, otherwise `verdict`
    /// with the challenge RFC 9110 §11.6.1 asks a 401 to carry.
    private func fallback(_ request: PluginRequest, _ verdict: PluginVerdict) -> PluginVerdict {
        if anonymous >= 0 {
            request.authenticate(consumer: anonymous)
            return .proceed
        }
        request.record(
            .responseSet,
            name: UnsafeRawBufferPointer("WWW-Authenticate"),
            value: UnsafeRawBufferPointer("Basic realm=\"gateway\"")
        )
        return verdict
    }
}
