/// An error from the span exporter: an opaque code, a message, and the underlying cause.
public struct SpanExporterError: Error, CustomStringConvertible, Sendable {
    /// What kind of failure this is.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        enum Base: Hashable, Sendable {
            case invalidConfiguration, state, connection, protocolViolation, timeout
        }
        let base: Base

        /// The configuration is not usable (a bad endpoint URL, a scheme other than http, a zero batch size).
        public static let invalidConfiguration = Code(base: .invalidConfiguration)
        /// The exporter is not in a state that allows the call.
        public static let state = Code(base: .state)
        /// The receiver could not be resolved, connected to, written to or read from.
        public static let connection = Code(base: .connection)
        /// The receiver's answer is not valid HTTP/1.x.
        public static let protocolViolation = Code(base: .protocolViolation)
        /// The receiver did not answer within the export timeout.
        public static let timeout = Code(base: .timeout)

        /// The code's name.
        public var description: String { String(describing: self.base) }
    }

    /// What kind of failure this is.
    public var code: Code
    /// What went wrong, for people.
    public var message: String
    /// The underlying error, if any.
    public var cause: (any Error & Sendable)?

    /// An error with a code, a message, and an optional cause.
    public init(_ code: Code, _ message: String, cause: (any Error & Sendable)? = nil) {
        self.code = code
        self.message = message
        self.cause = cause
    }

    /// The message, followed by the cause when there is one.
    public var description: String {
        if let cause { return "\(self.message): \(cause)" }
        return self.message
    }
}
