/// An error raised by the telemetry library: bad names, conflicting registrations, exhausted limits.
public struct TelemetryError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The kind of failure, stable across releases; compare against the static members.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Value: Hashable, Sendable {
            case invalidName
            case invalidLabels
            case conflictingRegistration
            case tooManyWriters
            case invalidConfiguration
            case processMetricsUnavailable
        }

        private let value: Value

        private init(_ value: Value) {
            self.value = value
        }

        /// A metric or label name does not follow Prometheus' naming rules.
        public static let invalidName = Code(.invalidName)
        /// Label values do not match the family's label names.
        public static let invalidLabels = Code(.invalidLabels)
        /// A family with the same name but a different type, labels or buckets already exists.
        public static let conflictingRegistration = Code(.conflictingRegistration)
        /// Every writer shard is already taken.
        public static let tooManyWriters = Code(.tooManyWriters)
        /// Histogram buckets, limits or options are out of range.
        public static let invalidConfiguration = Code(.invalidConfiguration)
        /// `/proc` could not be read.
        public static let processMetricsUnavailable = Code(.processMetricsUnavailable)

        public var description: String { String(describing: self.value) }
    }

    /// What went wrong, in general.
    public var code: Code
    /// What went wrong, in particular.
    public var message: String
    /// The underlying error, if any (for example an `errno`).
    public var cause: String?

    package init(_ code: Code, _ message: String, cause: String? = nil) {
        self.code = code
        self.message = message
        self.cause = cause
    }

    public var description: String {
        if let cause {
            return "TelemetryError.\(self.code): \(self.message) (\(cause))"
        }
        return "TelemetryError.\(self.code): \(self.message)"
    }
}
