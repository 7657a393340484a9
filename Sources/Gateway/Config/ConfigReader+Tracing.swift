import Tracing
import Yams

extension ConfigReader {
    /// `tracing: {sampling_ratio, service_name, resource_attributes, otlp: {...}}`.
    mutating func tracing(_ node: Node, into settings: inout TracingSettings) {
        let keys = ["sampling_ratio", "service_name", "resource_attributes", "otlp"]
        guard let section = fields(node, at: "tracing", allowed: keys) else { return }
        settings.enabled = true
        if let value = section["sampling_ratio"],
            let ratio = fraction(value, at: "tracing.sampling_ratio", allowZero: true)
        {
            settings.samplingRatio = ratio
        }
        if let value = section["service_name"], let name = nonEmptyString(value, at: "tracing.service_name") {
            settings.serviceName = name
        }
        if let value = section["resource_attributes"] {
            if case .mapping(let mapping) = value {
                for (key, entry) in mapping {
                    guard case .scalar(let name) = key, !name.string.isEmpty else {
                        report("tracing.resource_attributes", key, "keys must be non-empty strings")
                        continue
                    }
                    let path = "tracing.resource_attributes.\(name.string)"
                    if let text = string(entry, at: path) { settings.resourceAttributes[name.string] = text }
                }
            } else {
                report("tracing.resource_attributes", value, "expected a mapping of attribute names to strings")
            }
        }
        if let value = section["otlp"] { settings.otlp = otlp(value, at: "tracing.otlp") }
    }

    private mutating func otlp(_ node: Node, at path: String) -> TracingSettings.OTLP? {
        let keys = ["endpoint", "batch_size", "flush_interval", "max_queue_size", "timeout"]
        guard let section = fields(node, at: path, allowed: keys) else { return nil }
        guard let value = section["endpoint"] else {
            missing(section, "endpoint", " (the OTLP/HTTP traces URL, e.g. http://127.0.0.1:4318/v1/traces)")
            return nil
        }
        guard let endpoint = nonEmptyString(value, at: section.path("endpoint")) else { return nil }
        if let problem = Self.endpointProblem(endpoint) {
            report(section.path("endpoint"), value, problem)
            return nil
        }
        var otlp = TracingSettings.OTLP(endpoint: endpoint)
        if let value = section["batch_size"], let size = int(value, at: section.path("batch_size"), in: 1...65_536) {
            otlp.batchSize = size
        }
        if let value = section["flush_interval"], let interval = duration(value, at: section.path("flush_interval")) {
            otlp.flushInterval = interval
        }
        if let value = section["max_queue_size"],
            let size = int(value, at: section.path("max_queue_size"), in: 1...1_048_576)
        {
            otlp.maxQueueSize = size
        }
        if let value = section["timeout"], let timeout = duration(value, at: section.path("timeout")) {
            otlp.timeout = timeout
        }
        if otlp.maxQueueSize < otlp.batchSize {
            report(section.path("max_queue_size"), node, "must be at least batch_size (\(otlp.batchSize))")
        }
        return otlp
    }

    /// Why `endpoint` cannot be exported to, or nil: `http://host[:port]/path` only (the exporter has no TLS).
    static func endpointProblem(_ endpoint: String) -> String? {
        guard endpoint.hasPrefix("http://") else {
            if endpoint.hasPrefix("https://") {
                return "https endpoints are not supported yet: export to a local collector over http://"
            }
            return "expected an http:// URL such as http://127.0.0.1:4318/v1/traces, not \"\(endpoint)\""
        }
        // The exporter's own parser, so `gateway check` accepts exactly what the exporter can use.
        do throws(SpanExporterError) {
            _ = try SpanExporterConfiguration.Endpoint(url: endpoint)
        } catch {
            let authority = endpoint.dropFirst(7).prefix { $0 != "/" }
            return "\"\(authority)\" is not a host[:port]: \(error.message)"
        }
        return nil
    }

    /// `access_log.sampling: {ratio, always: {status, slower_than}}`.
    mutating func accessLogSampling(_ node: Node, at path: String) -> AccessLogSampling? {
        guard let section = fields(node, at: path, allowed: ["ratio", "always"]) else { return nil }
        var sampling = AccessLogSampling()
        if let value = section["ratio"], let ratio = fraction(value, at: section.path("ratio"), allowZero: true) {
            sampling.ratio = ratio
        }
        if let value = section["always"],
            let always = fields(value, at: section.path("always"), allowed: ["status", "slower_than"])
        {
            if let status = always["status"] {
                let statusPath = always.path("status")
                if case .scalar(let scalar) = status, let statuses = AccessLogSampling.statuses(scalar.string) {
                    sampling.alwaysStatus = statuses
                } else {
                    report(
                        statusPath,
                        status,
                        "expected a status condition such as \">=400\", \">499\", \"5xx\" or \"404\" (statuses 100 to 599)"
                    )
                }
            }
            if let slow = always["slower_than"], let threshold = duration(slow, at: always.path("slower_than")) {
                sampling.alwaysSlowerThan = threshold
            }
        }
        return sampling
    }
}
