import Foundation
import SwiftProtobuf
import Testing

@testable import Telemetry

/// Exemplars with a W3C trace id: a second label, `trace_id`, after the family's own (`request_id`),
/// in every exposition, and the label set kept within OpenMetrics' 128 code points.
@Suite struct ExemplarTraceTests {
    static let traceHigh: UInt64 = 0x4bf9_2f35_77b3_4da6
    static let traceLow: UInt64 = 0xa3ce_929d_0e0e_4736
    static let traceText = "4bf92f3577b34da6a3ce929d0e0e4736"

    /// A histogram whose first bucket holds a traced exemplar and whose second an untraced one.
    static func makeRegistry(
        labelName: String = "request_id",
        tracedID: String = "req-1"
    ) throws -> MetricRegistry {
        let registry = MetricRegistry(writerCapacity: 1, clock: { 1_700_000_000 })
        let writer = try registry.registerWriter()
        let handle = try registry.histogram(
            "lat_seconds",
            help: "Latency.",
            buckets: [0.1, 1],
            native: nil,
            exemplarLabelName: labelName
        ).handle()
        var traced = ExemplarLabel(tracedID)
        traced.traceIDHigh = Self.traceHigh
        traced.traceIDLow = Self.traceLow
        handle.observe(0.0625, exemplar: traced, on: writer)
        handle.observe(0.5, exemplar: ExemplarLabel("req-2"), on: writer)
        return registry
    }

    /// The exemplar part (`{...}`) of each bucket line that has one, in the OpenMetrics text.
    static func exemplarLabelSets(_ registry: MetricRegistry) -> [String] {
        let text = String(decoding: registry.render(.openMetrics), as: UTF8.self)
        return text.split(separator: "\n").compactMap { line -> String? in
            guard let marker = line.range(of: " # {") else { return nil }
            let rest = line[marker.upperBound...]
            guard let close = rest.range(of: "} ") else { return nil }
            return String(rest[..<close.lowerBound])
        }
    }

    @Test func labelsCarryTheTraceIDAndTheOldInitialisersNone() {
        let plain = ExemplarLabel("req-1")
        #expect(plain.traceIDHigh == 0 && plain.traceIDLow == 0)
        let bytes: [UInt8] = Array("req-9".utf8)
        let traced = bytes.withUnsafeBytes {
            ExemplarLabel(bytes: $0, traceIDHigh: Self.traceHigh, traceIDLow: Self.traceLow)
        }
        #expect(traced.value == "req-9")
        #expect(traced.traceIDHigh == Self.traceHigh && traced.traceIDLow == Self.traceLow)
        let untraced = bytes.withUnsafeBytes { ExemplarLabel(bytes: $0) }
        #expect(untraced.traceIDHigh == 0 && untraced.traceIDLow == 0)
        // Leading zero digits are kept: always 32 digits.
        #expect(ExemplarSnapshot.traceIDText(high: 1, low: 0xab) == "0000000000000001" + "00000000000000ab")
        #expect(ExemplarSnapshot.traceIDText(high: 0, low: 0) == nil)
    }

    @Test func openMetricsTextAddsTraceIDOnlyWhenSet() throws {
        let registry = try Self.makeRegistry()
        #expect(
            Self.exemplarLabelSets(registry) == [
                #"request_id="req-1",trace_id="\#(Self.traceText)""#,
                #"request_id="req-2""#,
            ]
        )
        let text = String(decoding: registry.render(.openMetrics), as: UTF8.self)
        let line = #"lat_seconds_bucket{le="0.1"} 1 # {request_id="req-1",trace_id="\#(Self.traceText)"} 0.0625 "#
        #expect(text.contains(line))
        // Prometheus' classic text format has no exemplars at all.
        #expect(!String(decoding: registry.render(.text), as: UTF8.self).contains("trace_id"))
    }

    /// A bucket keeps only its latest exemplar: one recorded without a trace must not inherit the trace
    /// words its predecessor left in the slots.
    @Test func aLaterExemplarWithoutATraceClearsIt() throws {
        let registry = MetricRegistry(writerCapacity: 1)
        let writer = try registry.registerWriter()
        let handle = try registry.histogram("m", help: "", buckets: [1], native: nil, exemplarLabelName: "id")
            .handle()
        var traced = ExemplarLabel("a")
        traced.traceIDLow = 7
        handle.observe(0.5, exemplar: traced, on: writer)
        var snapshot = try #require(registry.collect()[0].series[0].value.histogramSnapshot)
        #expect(snapshot.exemplars[0]?.traceID == "0000000000000000" + "0000000000000007")
        handle.observe(0.5, exemplar: ExemplarLabel("b"), on: writer)
        snapshot = try #require(registry.collect()[0].series[0].value.histogramSnapshot)
        #expect(snapshot.exemplars[0]?.labelValue == "b" && snapshot.exemplars[0]?.traceID == nil)
        handle.observe(0.5, exemplar: traced, on: writer)
        handle.observe(0.5, exemplar: "c", on: writer)
        snapshot = try #require(registry.collect()[0].series[0].value.histogramSnapshot)
        #expect(snapshot.exemplars[0]?.labelValue == "c" && snapshot.exemplars[0]?.traceID == nil)
    }

    @Test func protobufCarriesTraceIDAsASecondLabelInBothWriters() throws {
        let registry = try Self.makeRegistry()
        let families = try ExpositionFormatTests.decodeDelimited(registry.render(.protobuf))
        let histogram = try #require(families.first { $0.name == "lat_seconds" }).metric[0].histogram
        #expect(histogram.bucket.count == 2)
        #expect(
            histogram.bucket[0].exemplar.label.map { "\($0.name)=\($0.value)" } == [
                "request_id=req-1", "trace_id=\(Self.traceText)",
            ]
        )
        #expect(histogram.bucket[0].exemplar.value == 0.0625)
        #expect(histogram.bucket[1].exemplar.label.map { "\($0.name)=\($0.value)" } == ["request_id=req-2"])
        // The fast writer and swift-protobuf's encoder agree byte for byte on the same snapshots.
        let snapshots = registry.collect()
        var writer = ProtobufWriter()
        let direct = writer.encode(snapshots)
        let generated = try ProtobufEncoder().encode(snapshots)
        #expect(direct == generated)
        #expect(try ExpositionFormatTests.decodeDelimited(direct) == snapshots.map { ProtobufEncoder().message($0) })
    }

    /// A 64-byte request id fits next to a trace id under `request_id` (10 + 64 + 8 + 32 = 114).
    @Test func aFullRequestIDAndATraceIDFitTheLimit() throws {
        let id = String(repeating: "r", count: 64)
        let registry = try Self.makeRegistry(tracedID: id)
        let sets = Self.exemplarLabelSets(registry)
        #expect(sets.first == #"request_id="\#(id)",trace_id="\#(Self.traceText)""#)
    }

    /// With a longer exemplar label name the request id is cut so names + values stay within 128 code
    /// points, counted as OpenMetrics counts them (code points, not bytes), in every exposition. A name
    /// that leaves no room for the trace label loses that label rather than fail the scrape.
    @Test(arguments: [
        (String(repeating: "r", count: 64), "a_rather_long_request_identifier_label_name", 45, true),
        (String(repeating: "é", count: 32), String(repeating: "n", count: 60), 28, true),
        (String(repeating: "x", count: 64), String(repeating: "n", count: 100), 28, false),
    ])
    func longLabelSetsAreCutToTheLimit(id: String, labelName: String, kept: Int, traced: Bool) throws {
        let registry = try Self.makeRegistry(labelName: labelName, tracedID: id)
        var scalars = String.UnicodeScalarView()
        scalars.append(contentsOf: id.unicodeScalars.prefix(kept))
        let expectedValue = String(scalars)
        let traceLabel = traced ? #",trace_id="\#(Self.traceText)""# : ""
        #expect(Self.exemplarLabelSets(registry).first == #"\#(labelName)="\#(expectedValue)""# + traceLabel)
        let families = try ExpositionFormatTests.decodeDelimited(registry.render(.protobuf))
        let labels = try #require(families.first).metric[0].histogram.bucket[0].exemplar.label
        #expect(labels.map(\.value) == [expectedValue] + (traced ? [Self.traceText] : []))
        // Exactly at the limit: the value is cut no shorter than it must be.
        let codePoints = labels.reduce(0) { $0 + $1.name.unicodeScalars.count + $1.value.unicodeScalars.count }
        #expect(codePoints == 128)
        var writer = ProtobufWriter()
        #expect(try writer.encode(registry.collect()) == ProtobufEncoder().encode(registry.collect()))
    }

    /// The cut also applies without a trace id: a long name plus a 64-byte value would pass 128 too.
    @Test func untracedLabelSetsAreCutToo() throws {
        let registry = MetricRegistry(writerCapacity: 1)
        let writer = try registry.registerWriter()
        let name = String(repeating: "n", count: 100)
        let handle = try registry.histogram("m", help: "", buckets: [1], native: nil, exemplarLabelName: name)
            .handle()
        handle.observe(0.5, exemplar: ExemplarLabel(String(repeating: "v", count: 64)), on: writer)
        #expect(Self.exemplarLabelSets(registry) == [name + "=\"" + String(repeating: "v", count: 28) + "\""])
    }
}
