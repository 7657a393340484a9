/// A ``SpanExporterConfiguration`` with the encoder its resource attributes make: what the exporter
/// thread sends by, swapped whole on ``SpanExporter/reconfigure(_:)``.
struct SpanExportSettings: Sendable {
    var configuration: SpanExporterConfiguration
    var encoder: OTLPSpanEncoder
}
