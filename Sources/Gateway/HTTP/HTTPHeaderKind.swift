/// Header names the codec treats specially, classified once per header while parsing.
package enum HTTPHeaderKind: UInt8, Sendable, CaseIterable {
    case other
    case host
    case contentLength
    case transferEncoding
    case connection
    case keepAlive
    case proxyConnection
    case te
    case trailer
    case upgrade
    case expect
    case xRequestID
    case xForwardedFor
    case xForwardedProto
    case xForwardedHost
    case proxyAuthenticate
    case proxyAuthorization
    /// W3C Trace Context.
    case traceparent
    case tracestate

    /// Whether the header applies to one connection only and must not be forwarded (RFC 9110 §7.6.1).
    ///
    /// Transfer-Encoding is included: the proxy re-emits framing itself.
    package var isHopByHop: Bool {
        switch self {
        case .connection, .keepAlive, .proxyConnection, .te, .trailer, .transferEncoding, .upgrade,
            .proxyAuthenticate, .proxyAuthorization:
            return true
        case .other, .host, .contentLength, .expect, .xRequestID, .xForwardedFor, .xForwardedProto,
            .xForwardedHost, .traceparent, .tracestate:
            return false
        }
    }

    /// The header's name in lower case ("" for `other`).
    package var name: StaticString {
        switch self {
        case .other: ""
        case .host: "host"
        case .contentLength: "content-length"
        case .transferEncoding: "transfer-encoding"
        case .connection: "connection"
        case .keepAlive: "keep-alive"
        case .proxyConnection: "proxy-connection"
        case .te: "te"
        case .trailer: "trailer"
        case .upgrade: "upgrade"
        case .expect: "expect"
        case .xRequestID: "x-request-id"
        case .xForwardedFor: "x-forwarded-for"
        case .xForwardedProto: "x-forwarded-proto"
        case .xForwardedHost: "x-forwarded-host"
        case .proxyAuthenticate: "proxy-authenticate"
        case .proxyAuthorization: "proxy-authorization"
        case .traceparent: "traceparent"
        case .tracestate: "tracestate"
        }
    }

    /// Classifies a header name (case-insensitively) without allocating.
    ///
    /// Dispatches on the length first (one integer switch instead of up to 16 comparisons per header);
    /// each comparison checks the length again, and HTTPHeaderKindTests pins every name to its case.
    package init(name buffer: UnsafeRawBufferPointer, _ range: Range<Int>) {
        self = .other
        switch range.count {
        case 2:
            if HTTPBytes.equalsIgnoringCase(buffer, range, "te") { self = .te }
        case 4:
            if HTTPBytes.equalsIgnoringCase(buffer, range, "host") { self = .host }
        case 6:
            if HTTPBytes.equalsIgnoringCase(buffer, range, "expect") { self = .expect }
        case 7:
            if HTTPBytes.equalsIgnoringCase(buffer, range, "trailer") {
                self = .trailer
            } else if HTTPBytes.equalsIgnoringCase(buffer, range, "upgrade") {
                self = .upgrade
            }
        case 10:
            if HTTPBytes.equalsIgnoringCase(buffer, range, "connection") {
                self = .connection
            } else if HTTPBytes.equalsIgnoringCase(buffer, range, "keep-alive") {
                self = .keepAlive
            } else if HTTPBytes.equalsIgnoringCase(buffer, range, "tracestate") {
                self = .tracestate
            }
        case 11:
            if HTTPBytes.equalsIgnoringCase(buffer, range, "traceparent") { self = .traceparent }
        case 12:
            if HTTPBytes.equalsIgnoringCase(buffer, range, "x-request-id") { self = .xRequestID }
        case 14:
            if HTTPBytes.equalsIgnoringCase(buffer, range, "content-length") { self = .contentLength }
        case 15:
            if HTTPBytes.equalsIgnoringCase(buffer, range, "x-forwarded-for") { self = .xForwardedFor }
        case 16:
            if HTTPBytes.equalsIgnoringCase(buffer, range, "proxy-connection") {
                self = .proxyConnection
            } else if HTTPBytes.equalsIgnoringCase(buffer, range, "x-forwarded-host") {
                self = .xForwardedHost
            }
        case 17:
            if HTTPBytes.equalsIgnoringCase(buffer, range, "transfer-encoding") {
                self = .transferEncoding
            } else if HTTPBytes.equalsIgnoringCase(buffer, range, "x-forwarded-proto") {
                self = .xForwardedProto
            }
        case 18:
            if HTTPBytes.equalsIgnoringCase(buffer, range, "proxy-authenticate") { self = .proxyAuthenticate }
        case 19:
            if HTTPBytes.equalsIgnoringCase(buffer, range, "proxy-authorization") { self = .proxyAuthorization }
        default:
            break
        }
    }
}
