/// A request to etcd that failed: which way, what was asked, and the underlying cause.
package struct EtcdError: Error, Sendable, CustomStringConvertible {
    /// What kind of failure this is; compare with the static members.
    package struct Code: Hashable, Sendable, CustomStringConvertible {
        package let description: String

        /// No member could be reached (refused, reset, unresolvable).
        package static let unreachable = Code(description: "unreachable")
        /// A member did not answer within the timeout.
        package static let timeout = Code(description: "timeout")
        /// The answer was not the HTTP or JSON etcd's gateway sends.
        package static let protocolViolation = Code(description: "protocol violation")
        /// etcd answered with an error (an HTTP status other than 200, or an error message).
        package static let server = Code(description: "server error")
        /// The revision asked for has been compacted away: a full resync is needed.
        package static let compacted = Code(description: "compacted")
        /// `etcd.user` and `etcd.password` were refused, or the token expired and could not be renewed.
        package static let authentication = Code(description: "authentication failed")
    }

    package var code: Code
    package var message: String
    /// The lower-level error this one wraps, if any.
    package var cause: (any Error & Sendable)?

    package init(_ code: Code, _ message: String, cause: (any Error & Sendable)? = nil) {
        self.code = code
        self.message = message
        self.cause = cause
    }

    package var description: String {
        let cause = self.cause.map { " (\($0))" } ?? ""
        return "etcd \(code): \(message)\(cause)"
    }
}
