import Glibc

/// The claims `jwt-auth` reads from a token's payload: the key claim, `exp` and `nbf`.
struct JWTClaims {
    let keyClaim: UnsafeRawBufferPointer
    /// The key claim's value when it is a string (any other value matches no credential).
    var key: UnsafeRawBufferPointer?
    var keyCount = 0
    var expiry: JWTJSON.Value?
    var notBefore: JWTJSON.Value?
    /// A claim read here appeared twice: which one counts would be ambiguous.
    var duplicated = false

    /// Reads the claim named `keyClaim` as the key.
    init(keyClaim: UnsafeRawBufferPointer) {
        self.keyClaim = keyClaim
    }

    /// Takes note of one top-level member of the claims.
    mutating func read(_ name: UnsafeRawBufferPointer, _ value: JWTJSON.Value) {
        if name.count == keyClaim.count
            && (name.count == 0 || memcmp(name.baseAddress!, keyClaim.baseAddress!, name.count) == 0)
        {
            keyCount += 1
            if case .string(let text) = value { key = text }
            duplicated = duplicated || keyCount > 1
        }
        if JWTJSON.equals(name, "exp") {
            duplicated = duplicated || expiry != nil
            expiry = value
        } else if JWTJSON.equals(name, "nbf") {
            duplicated = duplicated || notBefore != nil
            notBefore = value
        }
    }

    /// Whether `now` (seconds since the epoch) is before `exp` and not before `nbf`, each widened by
    /// `grace` seconds (PyJWT's and lua-resty-jwt's leeway). A claim that is present but not a number
    /// fails.
    func admits(_ now: Double, grace: Double) -> Bool {
        if let expiry {
            guard case .number(let text) = expiry else { return false }
            if now >= JWTJSON.numericDate(text) + grace { return false }
        }
        if let notBefore {
            guard case .number(let text) = notBefore else { return false }
            if JWTJSON.numericDate(text) > now + grace { return false }
        }
        return true
    }
}
