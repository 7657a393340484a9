/// Access-log settings (key `access_log:`), kept as plain values for the AccessLog module to act on.
///
/// Without an `access_log:` section logging is off; writing the section turns it on unless it says
/// `enabled: false`.
package struct AccessLogSettings: Sendable, Equatable {
    /// Line formats the logger can write.
    package enum Format: String, Sendable, Equatable, CaseIterable {
        case json
        case combined
        case logfmt
    }

    /// How the file is compressed.
    package enum Compression: String, Sendable, Equatable, CaseIterable {
        case zstd
        case none
    }

    /// Whether access records are written at all.
    package var enabled: Bool = false
    /// File path, relative to the working directory unless absolute.
    package var path: String = "logs/access.log.zst"
    /// Line format.
    package var format: Format = .json
    /// How often a compressed frame is flushed to disk (`flush_interval`).
    package var flushInterval: Duration = .seconds(1)
    /// zstd compression level, 1...19 (`level`).
    package var level: Int = 3
    /// Rotate when the file reaches this many bytes (`rotate_size`); `nil` means never by size.
    package var rotateSize: Int64?
    /// Rotate when the file is this old (`rotate_age`); `nil` means never by age.
    package var rotateAge: Duration?
    /// Rotated files to keep (`retain`); `nil` keeps all.
    package var retain: Int?
    /// Compression of the file (`compression`).
    package var compression: Compression = .zstd
    /// Which lines are written (`sampling`); nil writes every line. Applies on reload.
    package var sampling: AccessLogSampling?

    package init() {}
}
