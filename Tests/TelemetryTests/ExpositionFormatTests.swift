import Foundation
import SwiftProtobuf
import TestSupport
import Testing

@testable import Telemetry

/// A small registry whose every value is known, rendered in each format and compared byte for byte.
@Suite struct ExpositionFormatTests {
    static let created = 1_700_000_000.5

    static func makeRegistry() throws -> MetricRegistry {
        let registry = MetricRegistry(writerCapacity: 2, clock: { Self.created })
        let writer = try registry.registerWriter()
        let requests = try registry.counter(
            "http_requests_total",
            help: "Requests served.",
            labelNames: ["method", "code"]
        )
        try requests.handle(["GET", "200"]).increment(by: 3, on: writer)
        try requests.handle(["POST", "500"]).increment()
        let inflight = try registry.gauge(
            "inflight_requests",
            help: "In-flight requests, \"quoted\", back\\slash\nand a new line.",
            labelNames: ["pool"]
        )
        let pool = try inflight.handle(["a\"b\\c\nd"])
        pool.set(2)
        pool.add(1.5, on: writer)
        let latency = try registry.histogram(
            "request_duration_seconds",
            help: "Request latency.",
            labelNames: ["route"],
            unit: "seconds",
            buckets: [0.1, 1],
            native: NativeHistogramOptions(schema: 0),
            exemplarLabelName: "request_id"
        )
        let api = try latency.handle(["api"])
        api.observe(0.0625, exemplar: "req-1", on: writer)
        api.observe(0.5, on: writer)
        api.observe(2)
        return registry
    }

    static func exemplarTimestamp(_ registry: MetricRegistry) throws -> String {
        let histogram = try #require(registry.collect().first { $0.kind == .histogram })
        let snapshot = try #require(histogram.series.first?.value.histogramSnapshot)
        let exemplar = try #require(snapshot.exemplars.first ?? nil)
        var writer = ByteWriter()
        writer.appendTimestamp(exemplar.timestamp)
        return String(decoding: writer.bytes, as: UTF8.self)
    }

    @Test func prometheusText() throws {
        let registry = try Self.makeRegistry()
        let text = String(decoding: registry.render(.text), as: UTF8.self)
        let expected = """
            # HELP http_requests_total Requests served.
            # TYPE http_requests_total counter
            http_requests_total{method="GET",code="200"} 3
            http_requests_total{method="POST",code="500"} 1
            # HELP inflight_requests In-flight requests, "quoted", back\\\\slash\\nand a new line.
            # TYPE inflight_requests gauge
            inflight_requests{pool="a\\"b\\\\c\\nd"} 3.5
            # HELP request_duration_seconds Request latency.
            # TYPE request_duration_seconds histogram
            request_duration_seconds_bucket{route="api",le="0.1"} 1
            request_duration_seconds_bucket{route="api",le="1"} 2
            request_duration_seconds_bucket{route="api",le="+Inf"} 3
            request_duration_seconds_sum{route="api"} 2.5625
            request_duration_seconds_count{route="api"} 3

            """
        #expect(text == expected)
    }

    @Test func openMetrics() throws {
        let registry = try Self.makeRegistry()
        let text = String(decoding: registry.render(.openMetrics), as: UTF8.self)
        let timestamp = try Self.exemplarTimestamp(registry)
        let expected = """
            # HELP http_requests Requests served.
            # TYPE http_requests counter
            http_requests_total{method="GET",code="200"} 3
            http_requests_created{method="GET",code="200"} 1700000000.500
            http_requests_total{method="POST",code="500"} 1
            http_requests_created{method="POST",code="500"} 1700000000.500
            # HELP inflight_requests In-flight requests, \\"quoted\\", back\\\\slash\\nand a new line.
            # TYPE inflight_requests gauge
            inflight_requests{pool="a\\"b\\\\c\\nd"} 3.5
            # HELP request_duration_seconds Request latency.
            # TYPE request_duration_seconds histogram
            # UNIT request_duration_seconds seconds
            request_duration_seconds_bucket{route="api",le="0.1"} 1 # {request_id="req-1"} 0.0625 \(timestamp)
            request_duration_seconds_bucket{route="api",le="1"} 2
            request_duration_seconds_bucket{route="api",le="+Inf"} 3
            request_duration_seconds_sum{route="api"} 2.5625
            request_duration_seconds_count{route="api"} 3
            request_duration_seconds_created{route="api"} 1700000000.500
            # EOF

            """
        #expect(text == expected)
        let now = WallClock.now()
        let exemplarTime = Double(timestamp)!
        #expect(exemplarTime <= now + 0.001 && exemplarTime > now - 60)
    }

    @Test func protobufDelimited() throws {
        let registry = try Self.makeRegistry()
        let body = registry.render(.protobuf)
        let families = try Self.decodeDelimited(body)
        #expect(families.map(\.name) == ["http_requests_total", "inflight_requests", "request_duration_seconds"])

        let requests = families[0]
        #expect(requests.type == .counter)
        #expect(requests.help == "Requests served.")
        #expect(requests.metric.count == 2)
        #expect(requests.metric[0].label.map { "\($0.name)=\($0.value)" } == ["method=GET", "code=200"])
        #expect(requests.metric[0].counter.value == 3)
        #expect(requests.metric[0].counter.createdTimestamp.seconds == 1_700_000_000)
        #expect(requests.metric[0].counter.createdTimestamp.nanos == 500_000_000)
        #expect(requests.metric[1].counter.value == 1)

        let inflight = families[1]
        #expect(inflight.type == .gauge)
        #expect(inflight.metric[0].label[0].value == "a\"b\\c\nd")
        #expect(inflight.metric[0].gauge.value == 3.5)

        let latency = families[2]
        #expect(latency.type == .histogram)
        #expect(latency.unit == "seconds")
        let histogram = latency.metric[0].histogram
        #expect(histogram.sampleCount == 3)
        #expect(histogram.sampleSum == 2.5625)
        #expect(histogram.bucket.map(\.upperBound) == [0.1, 1])
        #expect(histogram.bucket.map(\.cumulativeCount) == [1, 2])
        #expect(histogram.bucket[0].exemplar.label.map(\.value) == ["req-1"])
        #expect(histogram.bucket[0].exemplar.value == 0.0625)
        #expect(histogram.bucket[0].exemplar.hasTimestamp)
        // Schema 0: 0.0625 = 2^-4 is bucket -4, 0.5 bucket -1, 2 bucket 1; the gaps of 2 and 1 are filled.
        #expect(histogram.schema == 0)
        #expect(histogram.zeroThreshold == NativeHistogramOptions().zeroThreshold)
        #expect(histogram.zeroCount == 0)
        #expect(histogram.positiveSpan.map { [$0.offset, Int32($0.length)] } == [[-4, 6]])
        #expect(histogram.positiveDelta == [1, -1, 0, 1, -1, 1])
        #expect(histogram.negativeSpan.isEmpty)
    }

    /// The fast writer and swift-protobuf's generated encoder must produce the same messages.
    @Test func directWriterMatchesGeneratedMessages() throws {
        let registry = try Self.makeRegistry()
        let empty = try registry.histogram("empty_seconds", help: "", native: NativeHistogramOptions(zeroThreshold: 0))
        _ = try empty.handle()
        let negative = try registry.histogram("mixed", help: "", native: NativeHistogramOptions(schema: 1))
        for value in [-4.0, -0.3, 0, 1e-3, 5, 900, 1e6] {
            try negative.handle().observe(value)
        }
        let families = registry.collect()
        var writer = ProtobufWriter()
        let decoded = try Self.decodeDelimited(writer.encode(families))
        let generated = families.map { ProtobufEncoder().message($0) }
        #expect(decoded == generated)
        let viaSwiftProtobuf = try Self.decodeDelimited(ProtobufEncoder().encode(families))
        #expect(viaSwiftProtobuf == generated)
        let emptyHistogram = decoded.first { $0.name == "empty_seconds" }!.metric[0].histogram
        #expect(emptyHistogram.positiveSpan.count == 1 && emptyHistogram.positiveSpan[0].length == 0)
    }

    @Test func negotiatesPrometheusAcceptHeaders() {
        let withoutNative =
            "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,"
            + "text/plain;version=0.0.4;q=0.5,*/*;q=0.1"
        let withNative =
            "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited,"
            + "application/openmetrics-text;version=1.0.0;q=0.8,application/openmetrics-text;version=0.0.1;q=0.75,"
            + "text/plain;version=0.0.4;q=0.5,*/*;q=0.1"
        #expect(ExpositionFormat.negotiate(accept: withoutNative) == .openMetrics)
        #expect(ExpositionFormat.negotiate(accept: withNative) == .protobuf)
        #expect(ExpositionFormat.negotiate(accept: nil) == .text)
        #expect(ExpositionFormat.negotiate(accept: "text/plain") == .text)
        #expect(ExpositionFormat.negotiate(accept: "application/json") == .text)
        #expect(
            ExpositionFormat.negotiate(accept: "application/vnd.google.protobuf;encoding=text;q=1,text/plain;q=0.2")
                == .text
        )
        #expect(ExpositionFormat.acceptsGzip("gzip"))
        #expect(ExpositionFormat.acceptsGzip("deflate, gzip;q=0.5"))
        #expect(!ExpositionFormat.acceptsGzip("gzip;q=0"))
        #expect(!ExpositionFormat.acceptsGzip(nil))
        #expect(!ExpositionFormat.acceptsGzip("identity"))
    }

    @Test func gzipRoundTripsThroughGunzip() async throws {
        let registry = try Self.makeRegistry()
        let response = registry.render(accept: "text/plain;version=0.0.4", acceptEncoding: "gzip")
        #expect(response.contentEncoding == "gzip")
        #expect(response.contentType == "text/plain; version=0.0.4; charset=utf-8")
        let plain = try await Command.run("/bin/gzip", ["-dc"], input: Data(response.body))
        #expect(plain.exitCode == 0)
        #expect(Array(plain.output) == registry.render(.text))
        let identity = registry.render(accept: nil, acceptEncoding: nil)
        #expect(identity.contentEncoding == nil)
    }

    @Test func promtoolAcceptsTextOutput() async throws {
        let registry = try Self.makeRegistry()
        _ = try ProcessMetrics.register(in: registry)
        try registry.buildInfo("gateway_build_info", labels: ["version": "1.2.3", "revision": "abc"])
        let result = try await Command.run(
            "/usr/bin/promtool",
            ["check", "metrics"],
            input: Data(registry.render(.text))
        )
        #expect(result.exitCode == 0, "\(result.stdout)\(result.log)")
    }

    static func decodeDelimited(_ body: [UInt8]) throws -> [Io_Prometheus_Client_MetricFamily] {
        var families: [Io_Prometheus_Client_MetricFamily] = []
        var index = 0
        while index < body.count {
            var length = 0
            var shift = 0
            while true {
                let byte = body[index]
                index += 1
                length |= Int(byte & 0x7f) << shift
                shift += 7
                if byte < 0x80 { break }
            }
            families.append(try Io_Prometheus_Client_MetricFamily(serializedBytes: Array(body[index..<index + length])))
            index += length
        }
        return families
    }
}
