/// A rendered scrape: what to put in the HTTP response.
public struct ScrapeResponse: Sendable {
    /// The `Content-Type` header value.
    public var contentType: String
    /// The `Content-Encoding` header value (`gzip`), or nil for an uncompressed body.
    public var contentEncoding: String?
    /// The response body.
    public var body: [UInt8]
    /// The format that was chosen.
    public var format: ExpositionFormat
}

extension MetricRegistry {
    /// Merges all shards and encodes them in the format the `Accept` header prefers, gzipped when
    /// `Accept-Encoding` allows. Call it on the scraping (control-plane) thread, never on a worker.
    public func render(accept: String?, acceptEncoding: String?) -> ScrapeResponse {
        let format = ExpositionFormat.negotiate(accept: accept)
        let body = self.render(format)
        if ExpositionFormat.acceptsGzip(acceptEncoding), let compressed = Gzip.compress(body) {
            return ScrapeResponse(
                contentType: format.contentType,
                contentEncoding: "gzip",
                body: compressed,
                format: format
            )
        }
        return ScrapeResponse(contentType: format.contentType, contentEncoding: nil, body: body, format: format)
    }

    /// Merges all shards and encodes them in `format`, uncompressed.
    public func render(_ format: ExpositionFormat) -> [UInt8] {
        let families = self.collect()
        switch format {
        case .text: return TextEncoder(.prometheus004).encode(families)
        case .openMetrics: return TextEncoder(.openMetrics100).encode(families)
        case .protobuf:
            var writer = ProtobufWriter()
            return writer.encode(families)
        }
    }
}
