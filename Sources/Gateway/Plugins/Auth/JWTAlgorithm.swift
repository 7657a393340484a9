/// A JWS signature algorithm `jwt-auth` verifies (RFC 7518 §3.1 names), as a consumer's `algorithm`
/// configures it and a token's `alg` header names it.
package enum JWTAlgorithm: String, CaseIterable, Sendable {
    case hs256 = "HS256"
    case hs384 = "HS384"
    case hs512 = "HS512"
    case rs256 = "RS256"
    case rs384 = "RS384"
    case rs512 = "RS512"
    case ps256 = "PS256"
    case ps384 = "PS384"
    case ps512 = "PS512"
    case es256 = "ES256"
    case es384 = "ES384"
    case es512 = "ES512"

    /// Whether the algorithm is an HMAC: verified with the consumer's `secret` rather than its
    /// `public_key`.
    package var isHMAC: Bool {
        switch self {
        case .hs256, .hs384, .hs512: return true
        default: return false
        }
    }

    /// The name as the token's `alg` header carries it, for comparing on the worker without a String.
    package var name: StaticString {
        switch self {
        case .hs256: return "HS256"
        case .hs384: return "HS384"
        case .hs512: return "HS512"
        case .rs256: return "RS256"
        case .rs384: return "RS384"
        case .rs512: return "RS512"
        case .ps256: return "PS256"
        case .ps384: return "PS384"
        case .ps512: return "PS512"
        case .es256: return "ES256"
        case .es384: return "ES384"
        case .es512: return "ES512"
        }
    }

    /// Whether `bytes` (a token's unescaped `alg`) name this algorithm: exactly, case included, as
    /// RFC 7515 §4.1.1 compares it.
    @inline(__always)
    package func isNamed(_ bytes: UnsafeRawBufferPointer) -> Bool {
        JWTJSON.equals(bytes, name)
    }
}
