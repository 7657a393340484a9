/// HTTP/2 settings for listeners with `http2: true` (key `http2:`).
package struct HTTP2Settings: Sendable, Equatable {
    /// SETTINGS_MAX_CONCURRENT_STREAMS advertised to clients; streams over it are refused
    /// (`http2.max_concurrent_streams`, default 128).
    package var maxConcurrentStreams = 128
    /// Largest decoded header list a request may carry, in bytes as RFC 9113 counts them (name + value +
    /// 32 per field); larger ones get 431 (`http2.max_header_list_size`, default: `limits.max_header_size`).
    package var maxHeaderListSize: Int? = nil
    /// Stream resets a client may cause per second after a burst before the connection gets GOAWAY
    /// (rapid reset, CVE-2023-44487) (`http2.max_resets_per_second`, default 100, with a burst of 10 s worth).
    package var maxResetsPerSecond = 100
    /// Consecutive frames without payload (empty DATA without END_STREAM, and similar) tolerated before
    /// GOAWAY (`http2.max_empty_frames`, default 64).
    package var maxEmptyFrames = 64

    package init() {}
}
