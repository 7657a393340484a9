/// What an authentication plugin's settings on a consumer (or one of its credentials) say about how
/// that consumer proves who it is.
package enum ConsumerCredential: Sendable, Equatable {
    /// `key-auth`: the API key.
    case keyAuth(key: String)
    /// `basic-auth`: the user name and password.
    case basicAuth(username: String, password: String)
    /// `jwt-auth`: the key named by the token's `key` claim, and how its signature is checked.
    case jwtAuth(JWTCredential)
    /// `client-cert-auth`: the verified client certificate's subject, in the gateway's RFC 2253 form.
    case clientCert(subject: String)
}

/// A consumer's `jwt-auth` settings (APISIX's consumer schema).
package struct JWTCredential: Sendable, Equatable {
    /// Matched against the token's `key` claim.
    package var key: String
    /// The HMAC secret (HS256/HS384/HS512).
    package var secret: String?
    /// The PEM public key (RS256/ES256).
    package var publicKey: String?
    /// "HS256" (default), "HS384", "HS512", "RS256" or "ES256".
    package var algorithm: String = "HS256"
    /// Token lifetime in seconds, used by APISIX's sign endpoint (kept for compatibility).
    package var exp: Int = 86400
    /// Whether `secret` is base64-encoded.
    package var base64Secret: Bool = false
    /// Seconds of clock skew allowed when checking `exp` and `nbf`.
    package var lifetimeGracePeriod: Int = 0

    package init(key: String) {
        self.key = key
    }
}
