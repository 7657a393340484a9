/// `jwt-auth`: the consumer is the one whose credential's `key` the request's JSON Web Token names in
/// its key claim, once the token's signature checks out under that credential's algorithm and key and
/// its `exp` and `nbf` claims admit the current time.
///
/// The token comes from the `header` (with or without a `Bearer` scheme), else the `query` argument,
/// else the `cookie`. It is decoded into the request's scratch bytes and its header and claims are read
/// there by ``JWTJSON``; the `alg` it names must be the credential's own, so an HMAC token can never be
/// checked with an RSA or EC public key as its secret (nor `none` be accepted). ``JWTVerifier`` says
/// what signature checks allocate.
///
/// Not supported: `store_in_ctx` is accepted but has no effect (no plugin here reads the claims), and
/// `hide_credentials` leaves a token that came in a cookie in place (it removes the header or query
/// argument the token came from).
package final class JWTAuthPlugin: GatewayPlugin {
    package static let descriptor = PluginDescriptor(
        name: "jwt-auth",
        priority: 2510,
        phases: [.rewrite],
        keys: [
            "header", "query", "cookie", "hide_credentials", "key_claim_name", "anonymous_consumer", "store_in_ctx",
        ],
        consumerKeys: ["key", "secret", "public_key", "algorithm", "exp", "base64_secret", "lifetime_grace_period"],
        readCredential: { settings in readCredential(&settings) },
        compile: { settings in JWTAuthPlugin(&settings) }
    )

    package var descriptor: PluginDescriptor { Self.descriptor }

    /// Where the token was found, for `hide_credentials`.
    private enum Source {
        case header
        case query
        case cookie
    }

    private let header: PluginText
    private let query: PluginText
    private let cookie: PluginText
    private let keyClaim: PluginText
    private let hideCredentials: Bool
    /// The consumer requests without a valid token count as, or -1 to reject them.
    private let anonymous: Int32
    /// Each credential's verifier, by credential index (jwt-auth ones only are non-nil).
    private let verifiers: [JWTVerifier?]

    init?(_ settings: inout PluginSettings) {
        let start = settings.issueCount
        header = PluginText(settings.nonEmptyString("header") ?? "authorization")
        query = PluginText(settings.nonEmptyString("query") ?? "jwt")
        cookie = PluginText(settings.nonEmptyString("cookie") ?? "jwt")
        keyClaim = PluginText(settings.nonEmptyString("key_claim_name") ?? "key")
        hideCredentials = settings.bool("hide_credentials") ?? false
        _ = settings.bool("store_in_ctx")
        anonymous = AuthenticationSupport.anonymousConsumer(&settings)
        // The credentials were checked when the consumers were read; one that still does not parse
        // here has no verifier, and its tokens fail verification.
        verifiers = settings.context.consumers.credentials.map {
            guard case .jwtAuth(let credential) = $0.credential else { return nil }
            return try? JWTVerifier(credential)
        }
        if settings.issueCount > start { return nil }
    }

    /// Reads a consumer's or credential's settings, checking the key material as the plan will use it.
    private static func readCredential(_ settings: inout PluginSettings) -> ConsumerCredential? {
        let start = settings.issueCount
        if !settings.has("key") { settings.missing("key") }
        var credential = JWTCredential(key: settings.nonEmptyString("key") ?? "")
        credential.secret = settings.nonEmptyString("secret")
        credential.publicKey = settings.nonEmptyString("public_key")
        if let algorithm = settings.choice("algorithm", in: JWTAlgorithm.allCases.map(\.rawValue)) {
            credential.algorithm = algorithm
        }
        if let exp = settings.int("exp", in: 1...Int(Int32.max)) { credential.exp = exp }
        if let base64 = settings.bool("base64_secret") { credential.base64Secret = base64 }
        if let grace = settings.int("lifetime_grace_period", in: 0...Int(Int32.max)) {
            credential.lifetimeGracePeriod = grace
        }
        if settings.issueCount > start { return nil }
        // APISIX generates a secret when an HMAC credential has none, which only its own sign
        // endpoint could then use; without that endpoint a secret has to be configured.
        let algorithm = JWTAlgorithm(rawValue: credential.algorithm) ?? .hs256
        if algorithm.isHMAC && credential.secret == nil {
            settings.missing("secret")
            return nil
        }
        if !algorithm.isHMAC && credential.publicKey == nil {
            settings.missing("public_key")
            return nil
        }
        do {
            _ = try JWTVerifier(credential)
        } catch {
            settings.report(error.key, error.reason)
            return nil
        }
        return .jwtAuth(credential)
    }

    package func rewrite(_ request: PluginRequest) -> PluginVerdict {
        let source: Source
        let token: UnsafeRawBufferPointer
        if let value = request.header(named: header.bytes) {
            token = Self.strippingBearer(value)
            source = .header
        } else if let value = request.queryArgument(named: query.bytes) {
            token = value
            source = .query
        } else if let value = request.cookie(named: cookie.bytes) {
            token = value
            source = .cookie
        } else {
            return fallback(request, .reject(401, "Missing JWT token in request"))
        }

        // header.payload.signature, each base64url; the signature covers "header.payload" as sent.
        // (Index loops rather than firstIndex(of:), which allocates per byte where it is not specialized.)
        var firstDot = -1
        var secondDot = -1
        var index = 0
        while index < token.count {
            if token[index] == UInt8(ascii: ".") {
                if firstDot < 0 {
                    firstDot = index
                } else if secondDot < 0 {
                    secondDot = index
                } else {
                    secondDot = -1
                    break
                }
            }
            index &+= 1
        }
        guard secondDot > 0 else {
            return fallback(request, .reject(401, "JWT token invalid"))
        }
        let scratch = request.scratch
        guard
            let headerLength = Base64.decode(UnsafeRawBufferPointer(rebasing: token[..<firstDot]), into: scratch),
            let payloadLength = Base64.decode(
                UnsafeRawBufferPointer(rebasing: token[(firstDot + 1)..<secondDot]),
                into: UnsafeMutableRawBufferPointer(rebasing: scratch[headerLength...])
            ),
            let signatureLength = Base64.decode(
                UnsafeRawBufferPointer(rebasing: token[(secondDot + 1)...]),
                into: UnsafeMutableRawBufferPointer(rebasing: scratch[(headerLength + payloadLength)...])
            )
        else {
            return fallback(request, .reject(401, "JWT token invalid"))
        }
        let signatureStart = headerLength + payloadLength
        let signature = UnsafeRawBufferPointer(rebasing: scratch[signatureStart..<(signatureStart + signatureLength)])

        var algorithm = UnsafeRawBufferPointer(start: nil, count: 0)
        var algorithmCount = 0
        let headerJSON = UnsafeMutableRawBufferPointer(rebasing: scratch[..<headerLength])
        let headerIsObject = JWTJSON.forEachMember(in: headerJSON) { name, value in
            guard JWTJSON.equals(name, "alg") else { return }
            algorithmCount += 1
            if case .string(let text) = value { algorithm = text }
        }
        var reader = JWTClaims(keyClaim: keyClaim.bytes)
        let payloadEnd = headerLength + payloadLength
        let payloadJSON = UnsafeMutableRawBufferPointer(rebasing: scratch[headerLength..<payloadEnd])
        let payloadIsObject = JWTJSON.forEachMember(in: payloadJSON) { name, value in reader.read(name, value) }
        guard headerIsObject, payloadIsObject, algorithmCount <= 1, !reader.duplicated else {
            return fallback(request, .reject(401, "JWT token invalid"))
        }

        guard reader.keyCount > 0 else {
            return fallback(request, .reject(401, "missing user key in JWT token"))
        }
        let credential = reader.key.map { request.consumers.jwtKeys.lookup($0) } ?? -1
        guard credential >= 0, Int(credential) < verifiers.count, let verifier = verifiers[Int(credential)] else {
            return fallback(request, .reject(401, "Invalid user key in JWT token"))
        }
        guard algorithmCount == 1, verifier.algorithm.isNamed(algorithm),
            verifier.verify(UnsafeRawBufferPointer(rebasing: token[..<secondDot]), signature: signature),
            reader.admits(Double(request.unixTime), grace: verifier.gracePeriod)
        else {
            return fallback(request, .reject(401, "failed to verify jwt"))
        }

        request.authenticate(consumer: request.consumers.credentials[Int(credential)].consumer)
        if hideCredentials {
            let none = UnsafeRawBufferPointer(start: nil, count: 0)
            switch source {
            case .header: request.record(.requestRemove, name: header.bytes, value: none)
            case .query: request.record(.removeQueryArgument, name: query.bytes, value: none)
            case .cookie: break
            }
        }
        return .proceed
    }

    /// A request without a valid token: the anonymous consumer when configured, otherwise `verdict`.
    @inline(__always)
    private func fallback(_ request: PluginRequest, _ verdict: PluginVerdict) -> PluginVerdict {
        guard anonymous >= 0 else { return verdict }
        request.authenticate(consumer: anonymous)
        return .proceed
    }

    /// `value` without a leading `Bearer` scheme (any case) and the spaces after it.
    private static func strippingBearer(_ value: UnsafeRawBufferPointer) -> UnsafeRawBufferPointer {
        guard value.count > 7, HTTPBytes.equalsIgnoringCase(value, 0..<7, "bearer ") else { return value }
        var start = 7
        while start < value.count && value[start] == UInt8(ascii: " ") { start += 1 }
        return UnsafeRawBufferPointer(rebasing: value[start...])
    }
}
