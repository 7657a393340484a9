/// Size limits the parser and body framer enforce; exceeding one is an error with the noted status.
public struct HTTPLimits: Sendable, Equatable {
    /// Longest request line without its CRLF (414 beyond).
    package var maxRequestLineBytes = 8192
    /// Longest head, start line to the final CRLFCRLF inclusive (431 beyond).
    package var maxHeaderBytes = 32768
    /// Most header fields in one head (431 beyond); also capped by the `HTTPHeaderIndex` capacity.
    package var maxHeaderCount = 100
    /// Longest chunk-size line including extensions, without its CRLF.
    package var maxChunkLineBytes = 4096
    /// Largest trailer section of a chunked body.
    package var maxTrailerBytes = 8192

    public init() {}
}
