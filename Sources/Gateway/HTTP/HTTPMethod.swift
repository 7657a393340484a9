/// An HTTP request method, parsed without allocating; anything outside the common set is `.other`.
public enum HTTPMethod: UInt8, Sendable, CaseIterable {
    case get
    case head
    case post
    case put
    case delete
    case connect
    case options
    case trace
    case patch
    case other

    /// Whether a retry after a failed attempt cannot change the outcome (RFC 9110 §9.2.2).
    package var isIdempotent: Bool {
        switch self {
        case .get, .head, .put, .delete, .options, .trace: return true
        case .post, .connect, .patch, .other: return false
        }
    }

    /// The method's canonical token, for metric labels and config; `OTHER` for unrecognised methods.
    package var name: StaticString {
        switch self {
        case .get: return "GET"
        case .head: return "HEAD"
        case .post: return "POST"
        case .put: return "PUT"
        case .delete: return "DELETE"
        case .connect: return "CONNECT"
        case .options: return "OPTIONS"
        case .trace: return "TRACE"
        case .patch: return "PATCH"
        case .other: return "OTHER"
        }
    }

    /// Classifies an already validated method token; matching is case-sensitive as RFC 9110 §9.1 requires.
    package init(parsing bytes: UnsafeRawBufferPointer) {
        self = .other
        switch bytes.count {
        case 3:
            if HTTPBytes.equals(bytes, "GET") {
                self = .get
            } else if HTTPBytes.equals(bytes, "PUT") {
                self = .put
            }
        case 4:
            if HTTPBytes.equals(bytes, "HEAD") {
                self = .head
            } else if HTTPBytes.equals(bytes, "POST") {
                self = .post
            }
        case 5:
            if HTTPBytes.equals(bytes, "TRACE") {
                self = .trace
            } else if HTTPBytes.equals(bytes, "PATCH") {
                self = .patch
            }
        case 6:
            if HTTPBytes.equals(bytes, "DELETE") { self = .delete }
        case 7:
            if HTTPBytes.equals(bytes, "CONNECT") {
                self = .connect
            } else if HTTPBytes.equals(bytes, "OPTIONS") {
                self = .options
            }
        default:
            break
        }
    }

    /// Looks up a method by its exact token (e.g. `"GET"`) for configuration; nil for anything else.
    package init?(name: String) {
        var name = name
        let method = name.withUTF8 { HTTPMethod(parsing: UnsafeRawBufferPointer($0)) }
        if method == .other { return nil }
        self = method
    }
}
