/// Per-worker access-log rings drained by one logging thread into zstd frames.
public enum AccessLogLibrary {
    /// The library's version string.
    public static let version = "0.1.0"
}
