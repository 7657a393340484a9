/// The Prometheus type of a metric family.
public enum MetricKind: Sendable, Hashable {
    case counter
    case gauge
    case histogram
}
