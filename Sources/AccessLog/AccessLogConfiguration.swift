/// How and where the logging thread writes access-log lines.
public struct AccessLogConfiguration: Sendable {
    /// Where lines go.
    public enum Destination: Sendable, Equatable {
        /// Files in `directory` named `<baseName>.log.zst` (or `.log` uncompressed); rotated files are
        /// `<baseName>-<UTC timestamp>.log.zst`.
        case directory(String)
        /// Standard output (for containers); never rotated.
        case standardOutput
    }

    /// How lines are compressed.
    public enum Compression: Sendable, Equatable {
        /// A sequence of complete zstd frames at the given level (1...22, or -7...-1 for zstd's faster,
        /// lighter levels; 3 is zstd's default).
        case zstd(level: Int32)
        /// Plain text lines.
        case none
    }

    /// Where lines go.
    public var destination: Destination
    /// The file name stem: `access` gives `access.log.zst` and `access-20250102T030405.678Z.log.zst`.
    public var baseName: String
    /// The line format.
    public var format: AccessLogFormat
    /// The fields written by the JSON and logfmt formats, in this order (`combined` is fixed: nginx's
    /// standard fields, then `rejected_by=`, `tls=` and `trace_id=` on the requests that have them).
    public var fields: [AccessLogField]
    /// Compression of the output.
    public var compression: Compression
    /// A frame holding data is closed (and written) at least this often, in seconds.
    public var flushInterval: Double
    /// A frame is also closed once this many uncompressed bytes went into it (4 KiB...64 MiB: a frame
    /// is built in memory before it is written).
    public var frameSize: Int
    /// Rotate when the current file reaches this many bytes on disk; nil for never.
    public var maxFileSize: Int?
    /// Rotate when the current file holding data is older than this many seconds; nil for never.
    public var maxAge: Double?
    /// How many rotated files to keep (oldest deleted first); nil keeps all.
    public var retention: Int?
    /// Slots in each writer's ring (rounded up to a power of two).
    public var ringCapacity: Int
    /// How long the logging thread first sleeps when every ring is empty, in seconds. While the rings
    /// stay empty the sleep doubles up to ``maximumIdleSleep`` (and never past a pending frame's
    /// flush), so an idle gateway does not wake a thousand times a second.
    public var idleSleep: Double
    /// The longest idle sleep: a worker's ring must hold this long of its peak traffic (25 ms of the
    /// default 16,384 slots is 650,000 requests per second).
    public static let maximumIdleSleep = 0.025

    /// The shipped defaults for a log directory: JSON lines, every field but the TLS ones
    /// (``AccessLogField/defaultFields(tls:)``), zstd level 3, frames closed every second or every 1 MiB,
    /// rotation at 256 MiB or 24 h, 14 rotated files kept, 16384-slot rings.
    public init(
        destination: Destination,
        baseName: String = "access",
        format: AccessLogFormat = .json,
        fields: [AccessLogField] = AccessLogField.defaultFields(),
        compression: Compression = .zstd(level: 3),
        flushInterval: Double = 1,
        frameSize: Int = 1 << 20,
        maxFileSize: Int? = 256 << 20,
        maxAge: Double? = 86_400,
        retention: Int? = 14,
        ringCapacity: Int = 16_384,
        idleSleep: Double = 0.001
    ) {
        self.destination = destination
        self.baseName = baseName
        self.format = format
        self.fields = fields
        self.compression = compression
        self.flushInterval = flushInterval
        self.frameSize = frameSize
        self.maxFileSize = maxFileSize
        self.maxAge = maxAge
        self.retention = retention
        self.ringCapacity = ringCapacity
        self.idleSleep = idleSleep
    }

    /// The current file's name, e.g. `access.log.zst`.
    public var currentFileName: String {
        self.baseName + (self.compression == .none ? ".log" : ".log.zst")
    }

    func validate() throws(AccessLogError) {
        if case .zstd(let level) = self.compression, !(-7...22).contains(level) || level == 0 {
            throw AccessLogError(
                .invalidConfiguration,
                "zstd level must be within 1...22 (or -7...-1 for zstd's fast levels), got \(level)"
            )
        }
        if !(self.flushInterval > 0) {
            throw AccessLogError(.invalidConfiguration, "flush interval must be positive, got \(self.flushInterval)")
        }
        // A frame is built whole in memory (lines plus their compressed form) before it is written.
        if self.frameSize < 4096 || self.frameSize > 64 << 20 {
            throw AccessLogError(
                .invalidConfiguration,
                "frame size must be within 4096...67108864 bytes, got \(self.frameSize)"
            )
        }
        if self.baseName.isEmpty || self.baseName.contains("/") {
            throw AccessLogError(.invalidConfiguration, "base name must be a plain file name, got '\(self.baseName)'")
        }
        if let retention = self.retention, retention < 0 {
            throw AccessLogError(.invalidConfiguration, "retention must not be negative, got \(retention)")
        }
        if self.ringCapacity < 2 || self.ringCapacity > 1 << 24 {
            throw AccessLogError(.invalidConfiguration, "ring capacity must be within 2...16777216")
        }
        if self.fields.isEmpty && self.format != .combined {
            throw AccessLogError(.invalidConfiguration, "the field set must not be empty")
        }
    }
}

/// The line format.
public enum AccessLogFormat: String, Sendable, CaseIterable {
    /// One JSON object per line.
    case json
    /// nginx's `combined` format.
    case combined
    /// `key=value` pairs, quoted when needed.
    case logfmt
}

/// A field of a JSON or logfmt line; the raw value is the key (except for ``plugin``).
public enum AccessLogField: String, Sendable, CaseIterable {
    case time
    case requestID = "request_id"
    /// The W3C trace id (``AccessRecord/traceIDHigh`` and ``AccessRecord/traceIDLow``) as 32 lowercase
    /// hex digits, present only when the request carries one.
    case traceID = "trace_id"
    case client
    case method
    case path
    case `protocol`
    case status
    case bytesIn = "bytes_in"
    case bytesOut = "bytes_out"
    case duration
    case upstream
    case upstreamStatus = "upstream_status"
    /// The gRPC status (`grpc-status` of a `grpc`/`grpcs` upstream's response), present only then.
    case grpcStatus = "grpc_status"
    case upstreamDuration = "upstream_duration"
    /// Upstream attempts, present only when the request was retried (more than one).
    case attempts
    case route
    case userAgent = "user_agent"
    case error
    /// The authenticated consumer's username (``AccessRecord/consumer``), present only when there is one.
    case consumer
    /// The plugin that rejected the request (``AccessRecord/rejectedBy``), present only when one did.
    case rejectedBy = "rejected_by"
    /// The TLS protocol version (``AccessRecord/tlsProtocol``, `TLSv1.3`); empty (`""`) for plain HTTP.
    case tlsProtocol = "tls_protocol"
    /// The TLS cipher suite (``AccessRecord/tlsCipher``, OpenSSL's name); empty (`""`) for plain HTTP.
    case tlsCipher = "tls_cipher"
    /// The verified client certificate's RFC 2253 subject (``AccessRecord/tlsClientSubject``), present
    /// only with one (mTLS).
    case tlsClientSubject = "tls_client_subject"
    /// Where the plugin-supplied pair goes (``AccessRecord/pluginFieldName`` and
    /// ``AccessRecord/pluginFieldValue``), present only when both are set.
    ///
    /// Unlike the other cases, the raw value is not the key: the pair is written under the plugin's own
    /// name (`"ratelimit_tier":"gold"`, `ratelimit_tier=gold`). It is a field like the others so that
    /// ``AccessLogConfiguration/fields`` decides whether and where it appears, as it does for every
    /// other value on a line; the default includes it, last. In logfmt, bytes of the name that would end
    /// a key (space, control bytes, `=`, `"`) are written as `_`.
    case plugin

    /// The TLS fields: `tls_protocol`, `tls_cipher` and `tls_client_subject`.
    public static let tlsFields: [AccessLogField] = [.tlsProtocol, .tlsCipher, .tlsClientSubject]

    /// The default field list: every field in declaration order (``plugin`` last), without the TLS
    /// fields unless `tls` is true and without ``traceID`` unless `tracing` is true.
    ///
    /// The TLS fields are opt-in because `tls_protocol` and `tls_cipher` are written (empty) on every
    /// plain-HTTP line too: left out by default, lines of a gateway without TLS listeners stay as they
    /// were. A gateway with a TLS listener asks for `defaultFields(tls: true)`. Likewise a gateway with
    /// tracing configured asks for `defaultFields(tracing: true)`, which puts `trace_id` right after
    /// `request_id`.
    public static func defaultFields(tls: Bool = false, tracing: Bool = false) -> [AccessLogField] {
        allCases.filter { field in
            if !tls && tlsFields.contains(field) { return false }
            if !tracing && field == .traceID { return false }
            return true
        }
    }
}
