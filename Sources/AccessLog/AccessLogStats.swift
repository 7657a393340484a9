/// A snapshot of the access log's counters, for export as metrics.
public struct AccessLogStats: Sendable, Equatable {
    /// Lines written (handed to the compressor or the file).
    public var recordsWritten: UInt64 = 0
    /// Records dropped because a writer's ring was full (sum over all rings).
    public var recordsDropped: UInt64 = 0
    /// Lines skipped by access-log sampling (sum over all rings); not drops.
    public var sampledOut: UInt64 = 0
    /// Bytes of formatted lines, before compression.
    public var bytesUncompressed: UInt64 = 0
    /// Bytes of frames holding lines written to the output, after compression (the 9-byte empty
    /// frame that starts each new file, so that it decodes, is not counted).
    public var bytesWritten: UInt64 = 0
    /// zstd frames (or plain flushes) written.
    public var frames: UInt64 = 0
    /// File rotations performed.
    public var rotations: UInt64 = 0
    /// Reopens of the current file (SIGUSR1 / ``AccessLogger/reopen()``).
    public var reopens: UInt64 = 0
    /// Failed writes, opens or renames (the data of a failed write is lost and counted here).
    public var writeErrors: UInt64 = 0
    /// The most records found waiting in one ring at once.
    public var ringHighWaterMark: Int = 0
    /// CPU time used by the logging thread so far, in seconds.
    public var threadCPUSeconds: Double = 0
    /// Number of registered rings.
    public var rings: Int = 0

    /// A snapshot with every counter at zero.
    public init() {}
}
