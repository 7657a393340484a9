import Yams

extension ConfigReader {
    static let sloKeys = ["availability", "latency", "window", "grpc_error_codes"]

    /// Reads a route's or an upstream's `slo` block; `nil` when it is unusable (every problem reported).
    mutating func slo(_ node: Node, at path: String) -> SLOConfig? {
        guard let object = fields(node, at: path, allowed: Self.sloKeys) else { return nil }
        var slo = SLOConfig()
        var valid = true
        if let value = object["availability"] {
            slo.availability = percent(value, at: object.path("availability"))
            valid = valid && slo.availability != nil
        }
        if let value = object["latency"] {
            slo.latency = sloLatency(value, at: object.path("latency"))
            valid = valid && slo.latency != nil
        }
        if object["availability"] == nil && object["latency"] == nil {
            report(path, node, "needs `availability`, `latency` or both (e.g. {availability: 99.9})")
            valid = false
        }
        if let value = object["grpc_error_codes"] {
            if let items = list(value, at: object.path("grpc_error_codes"), allowSingle: false) {
                for item in items {
                    if let code = int(item.node, at: item.path, in: 1...16) {
                        slo.grpcErrorCodes.append(code)
                    } else {
                        valid = false
                    }
                }
            } else {
                valid = false
            }
            if object["availability"] == nil {
                report(object.path("grpc_error_codes"), value, "counts against `availability`, which is not set")
                valid = false
            }
        }
        if let value = object["window"] {
            if let window = prometheusDuration(value, at: object.path("window")) {
                slo.window = window
            } else {
                valid = false
            }
        }
        return valid ? slo : nil
    }

    private mutating func sloLatency(_ node: Node, at path: String) -> SLOConfig.Latency? {
        guard let object = fields(node, at: path, allowed: ["threshold", "target"]) else { return nil }
        var threshold: Double?
        var target: Double?
        if let value = object["threshold"] {
            threshold = positiveNumber(value, at: object.path("threshold"))
        } else {
            missing(object, "threshold", " (seconds, e.g. 0.3)")
        }
        if let value = object["target"] {
            target = percent(value, at: object.path("target"))
        } else {
            missing(object, "target", " (percent of requests within the threshold, e.g. 99)")
        }
        guard let threshold, let target else { return nil }
        return SLOConfig.Latency(threshold: threshold, target: target)
    }

    /// A percentage strictly between 0 and 100: 100 leaves no error budget to burn.
    private mutating func percent(_ node: Node, at path: String) -> Double? {
        guard case .scalar(let scalar) = node, node.tagName == .int || node.tagName == .float, let value = node.float,
            value.isFinite
        else {
            report(path, node, "expected a percentage such as 99.9, found \(Self.kind(node))")
            return nil
        }
        guard value > 0, value < 100 else {
            report(path, node, "must be above 0 and below 100, not \(scalar.string)")
            return nil
        }
        return value
    }

    private mutating func positiveNumber(_ node: Node, at path: String) -> Double? {
        guard case .scalar(let scalar) = node, node.tagName == .int || node.tagName == .float, let value = node.float,
            value.isFinite
        else {
            report(path, node, "expected a number of seconds such as 0.3, found \(Self.kind(node))")
            return nil
        }
        guard value > 0 else {
            report(path, node, "must be more than 0 seconds, not \(scalar.string)")
            return nil
        }
        return value
    }

    /// A duration in Prometheus's syntax (`30d`, `4w`, `1h30m`): it is written into rule files as is.
    private mutating func prometheusDuration(_ node: Node, at path: String) -> PrometheusDuration? {
        guard case .scalar(let scalar) = node, node.tagName == .str,
            let duration = PrometheusDuration(parsing: scalar.string)
        else {
            let found = Self.kind(node)
            report(path, node, "expected a non-zero Prometheus duration such as 30d, 28d or 4w, found \(found)")
            return nil
        }
        return duration
    }
}
