/// An HTTP request method, small enough to store in fixed-size records and use as a bit index.
///
/// Temporary copy from the config branch; the HTTP module's version replaces it on merge.
package enum HTTPMethod: UInt8, Sendable, Hashable, CaseIterable {
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

    /// Maps an upper-case method token to a case; `nil` for tokens the gateway does not name.
    package init?(name: String) {
        switch name {
        case "GET": self = .get
        case "HEAD": self = .head
        case "POST": self = .post
        case "PUT": self = .put
        case "DELETE": self = .delete
        case "CONNECT": self = .connect
        case "OPTIONS": self = .options
        case "TRACE": self = .trace
        case "PATCH": self = .patch
        default: return nil
        }
    }
}
