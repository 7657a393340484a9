/// A scrape format, with its content type.
public enum ExpositionFormat: Sendable, Hashable, CaseIterable {
    /// Prometheus text format 0.0.4.
    case text
    /// OpenMetrics text 1.0.0 (`_created`, exemplars, `# EOF`).
    case openMetrics
    /// Length-delimited `io.prometheus.client.MetricFamily` messages (carries native histograms).
    case protobuf

    /// The `Content-Type` of a response in this format.
    public var contentType: String {
        switch self {
        case .text: "text/plain; version=0.0.4; charset=utf-8"
        case .openMetrics: "application/openmetrics-text; version=1.0.0; charset=utf-8"
        case .protobuf: "application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; encoding=delimited"
        }
    }

    /// Picks the format an `Accept` header prefers, as Prometheus sends it; text when nothing matches.
    ///
    /// The highest `q` wins; among equal `q` the earlier entry wins.
    public static func negotiate(accept: String?) -> ExpositionFormat {
        guard let accept, !accept.isEmpty else { return .text }
        var best: (format: ExpositionFormat, quality: Double)?
        for entry in accept.split(separator: ",") {
            let parts = entry.split(separator: ";").map { $0.trimmingSpaces().lowercased() }
            guard let mediaType = parts.first else { continue }
            var parameters: [String: String] = [:]
            for part in parts.dropFirst() {
                let pair = part.split(separator: "=", maxSplits: 1).map { String($0).trimmingSpaces() }
                if pair.count == 2 {
                    parameters[pair[0]] = pair[1].trimmingCharacters(in: "\"")
                }
            }
            let quality = parameters["q"].flatMap(Double.init) ?? 1
            guard quality > 0, let format = Self.format(mediaType: mediaType, parameters: parameters) else { continue }
            if best == nil || quality > best!.quality {
                best = (format, quality)
            }
        }
        return best?.format ?? .text
    }

    private static func format(mediaType: String, parameters: [String: String]) -> ExpositionFormat? {
        switch mediaType {
        case "application/vnd.google.protobuf":
            guard parameters["proto"] == "io.prometheus.client.metricfamily", parameters["encoding"] == "delimited"
            else { return nil }
            return .protobuf
        case "application/openmetrics-text":
            // 0.0.1 is OpenMetrics' pre-release name; Prometheus parses 1.0.0 for both, but we only claim 1.0.0.
            let version = parameters["version"] ?? "1.0.0"
            return version == "1.0.0" ? .openMetrics : nil
        case "text/plain":
            let version = parameters["version"] ?? "0.0.4"
            return version == "0.0.4" ? .text : nil
        case "*/*", "text/*":
            return .text
        default:
            return nil
        }
    }

    /// Whether an `Accept-Encoding` header allows gzip (`gzip` or `*` with a non-zero `q`).
    public static func acceptsGzip(_ acceptEncoding: String?) -> Bool {
        guard let acceptEncoding else { return false }
        var gzip: Double?
        var wildcard: Double?
        for entry in acceptEncoding.split(separator: ",") {
            let parts = entry.split(separator: ";").map { $0.trimmingSpaces().lowercased() }
            guard let coding = parts.first else { continue }
            var quality = 1.0
            for part in parts.dropFirst() where part.hasPrefix("q=") {
                quality = Double(part.dropFirst(2)) ?? 0
            }
            if coding == "gzip" || coding == "x-gzip" { gzip = quality }
            if coding == "*" { wildcard = quality }
        }
        return (gzip ?? wildcard ?? 0) > 0
    }
}

extension StringProtocol {
    fileprivate func trimmingSpaces() -> String {
        String(self.drop { $0 == " " || $0 == "\t" }.reversed().drop { $0 == " " || $0 == "\t" }.reversed())
    }

    fileprivate func trimmingCharacters(in character: Character) -> String {
        String(self.drop { $0 == character }.reversed().drop { $0 == character }.reversed())
    }
}
