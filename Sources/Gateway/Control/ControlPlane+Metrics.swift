import Telemetry

extension ControlPlane {
    /// Serves `/metrics` from `registry`, negotiating the format and gzip from the scraper's headers.
    package static func metricsRenderer(for registry: MetricRegistry) -> MetricsRenderer {
        { accept, encoding in
            let scrape = registry.render(accept: accept, acceptEncoding: encoding)
            var headers: [(name: String, value: String)] = []
            if let contentEncoding = scrape.contentEncoding {
                headers.append((name: "Content-Encoding", value: contentEncoding))
            }
            return ControlResponse(status: 200, contentType: scrape.contentType, headers: headers, body: scrape.body)
        }
    }
}
