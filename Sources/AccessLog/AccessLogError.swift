/// An error from the access-log library: an opaque code, a message, and the underlying cause.
public struct AccessLogError: Error, CustomStringConvertible, Sendable {
    /// What kind of failure this is.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        enum Base: Hashable, Sendable {
            case invalidConfiguration, io, compression, corruptData, invalidArgument, state
        }
        let base: Base

        /// The configuration is not usable.
        public static let invalidConfiguration = Code(base: .invalidConfiguration)
        /// A file system call failed.
        public static let io = Code(base: .io)
        /// libzstd reported an error while compressing.
        public static let compression = Code(base: .compression)
        /// A log file holds data that is not a valid zstd frame.
        public static let corruptData = Code(base: .corruptData)
        /// A caller-supplied argument is not valid.
        public static let invalidArgument = Code(base: .invalidArgument)
        /// The logger is not in a state that allows the call.
        public static let state = Code(base: .state)

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

/// An `errno` value with the name of the call that set it.
public struct SystemCallError: Error, CustomStringConvertible, Sendable {
    /// The failing call, e.g. `open`.
    public var call: String
    /// The `errno` value.
    public var errno: Int32

    /// The call and the C library's message for the error number.
    public var description: String { "\(self.call): \(systemErrorMessage(self.errno)) (errno \(self.errno))" }
}
