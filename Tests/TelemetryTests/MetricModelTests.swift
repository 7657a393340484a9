import CoreMetrics
import Foundation
import Testing

@testable import Telemetry

@Suite struct MetricModelTests {
    @Test func writersGetDistinctShardsUntilCapacity() throws {
        let registry = MetricRegistry(writerCapacity: 2)
        let first = try registry.registerWriter()
        let second = try registry.registerWriter()
        #expect(first.shardIndex != second.shardIndex)
        #expect(throws: TelemetryError.self) { _ = try registry.registerWriter() }
        let released = first.shardIndex
        registry.releaseWriter(first)
        let third = try registry.registerWriter()
        #expect(third.shardIndex == released)
    }

    @Test func countersSumAcrossShards() throws {
        let registry = MetricRegistry(writerCapacity: 2)
        let one = try registry.registerWriter()
        let two = try registry.registerWriter()
        let counter = try registry.counter("jobs_total", help: "Jobs.").handle()
        counter.increment(by: 5, on: one)
        counter.increment(by: 7, on: two)
        counter.increment(by: 11)
        counter.add(0.5, on: one)
        counter.add(-3)
        let value = registry.collect()[0].series[0].value
        #expect(value.counterTotal == 23.5)
    }

    @Test func rejectsBadNamesAndConflicts() throws {
        let registry = MetricRegistry()
        #expect(throws: TelemetryError.self) { _ = try registry.counter("1bad", help: "") }
        #expect(throws: TelemetryError.self) { _ = try registry.counter("ok_total", help: "", labelNames: ["__x"]) }
        #expect(throws: TelemetryError.self) { _ = try registry.histogram("h", help: "", labelNames: ["le"]) }
        #expect(throws: TelemetryError.self) { _ = try registry.histogram("h", help: "", buckets: [1, 0.5]) }
        #expect(throws: TelemetryError.self) { _ = try registry.gauge("size", help: "", unit: "bytes") }
        _ = try registry.gauge("thing", help: "")
        #expect(throws: TelemetryError.self) { _ = try registry.counter("thing", help: "") }
        let family = try registry.counter("c_total", help: "", labelNames: ["a"])
        #expect(throws: TelemetryError.self) { _ = try family.handle(["x", "y"]) }
        #expect(try registry.counter("c_total", help: "", labelNames: ["a"]) === family)
    }

    @Test func seriesBeyondTheLimitGoToTheCountedOverflowSeries() throws {
        let registry = MetricRegistry(writerCapacity: 1)
        let writer = try registry.registerWriter()
        let family = try registry.counter("hits_total", help: "Hits.", labelNames: ["route"], maxSeries: 2)
        try family.handle(["a"]).increment(on: writer)
        try family.handle(["b"]).increment(on: writer)
        let extra = try family.handle(["c"])
        extra.increment(by: 10, on: writer)
        extra.increment(by: 10, on: writer)
        try family.handle(["d"]).increment(by: 4)
        let text = String(decoding: registry.render(.text), as: UTF8.self)
        #expect(text.contains("hits_total{route=\"__overflow__\"} 24\n"))
        #expect(text.contains("telemetry_series_overflow_total{family=\"hits\"} 3\n"))
        #expect(!text.contains("route=\"c\""))
    }

    @Test func nativeBucketsMatchTheExponentialDefinition() throws {
        let registry = MetricRegistry(writerCapacity: 1)
        let writer = try registry.registerWriter()
        let handle = try registry.histogram(
            "sizes",
            help: "",
            native: NativeHistogramOptions(schema: 3, bucketLimit: 16)
        ).handle()
        // 1.1^k spans ~2^13.7: far more than 16 schema-3 buckets, so the resolution must drop.
        var values: [Double] = []
        for step in 0..<100 {
            values.append(pow(1.1, Double(step)) * 1.0001)
        }
        values += [0, -3, -0.75, 1e-300]
        for value in values {
            handle.observe(value, on: writer)
        }
        let snapshot = try #require(registry.collect()[0].series[0].value.histogramSnapshot)
        let native = try #require(snapshot.native)
        #expect(native.schema < 3)
        #expect(native.schema >= -4)
        #expect(native.zeroCount == 2)
        // Reference: bucket key = ceil(log2(v) * 2^schema) for values not on a boundary.
        var expected: [Int: UInt64] = [:]
        var expectedNegative: [Int: UInt64] = [:]
        let factor = pow(2.0, Double(native.schema))
        for value in values where value.magnitude > native.zeroThreshold {
            let key = Int((log2(value.magnitude) * factor).rounded(.up))
            if value > 0 { expected[key, default: 0] += 1 } else { expectedNegative[key, default: 0] += 1 }
        }
        #expect(Dictionary(uniqueKeysWithValues: native.positive.map { ($0.key, $0.count) }) == expected)
        #expect(Dictionary(uniqueKeysWithValues: native.negative.map { ($0.key, $0.count) }) == expectedNegative)
        #expect(native.positive.last!.key - native.positive.first!.key < 16)
        #expect(snapshot.count == UInt64(values.count))
    }

    @Test func shardsAtDifferentResolutionsMergeAtTheCoarsest() throws {
        let registry = MetricRegistry(writerCapacity: 2)
        let fine = try registry.registerWriter()
        let coarse = try registry.registerWriter()
        let handle = try registry.histogram("m", help: "", native: NativeHistogramOptions(schema: 2, bucketLimit: 8))
            .handle()
        handle.observe(1.5, on: fine)
        for exponent in 0..<20 {
            handle.observe(pow(2, Double(exponent)) * 1.5, on: coarse)
        }
        let snapshot = try #require(registry.collect()[0].series[0].value.histogramSnapshot)
        let native = try #require(snapshot.native)
        #expect(native.positive.reduce(0) { $0 + $1.count } == 21)
        #expect(native.schema < 2)
        let factor = pow(2.0, Double(native.schema))
        var expected: [Int: UInt64] = [:]
        for exponent in [0] + Array(0..<20) {
            expected[Int((log2(pow(2, Double(exponent)) * 1.5) * factor).rounded(.up)), default: 0] += 1
        }
        #expect(Dictionary(uniqueKeysWithValues: native.positive.map { ($0.key, $0.count) }) == expected)
    }

    @Test func exemplarsKeepTheLatestValuePerBucket() throws {
        let registry = MetricRegistry(writerCapacity: 1)
        let writer = try registry.registerWriter()
        let handle = try registry.histogram("lat", help: "", buckets: [1], native: nil, exemplarLabelName: "id")
            .handle()
        let long = String(repeating: "x", count: 70)
        handle.observe(0.5, exemplar: ExemplarLabel("first"), on: writer)
        handle.observe(0.7, exemplar: ExemplarLabel(long), on: writer)
        handle.observe(5, exemplar: "über-9", on: writer)
        let snapshot = try #require(registry.collect()[0].series[0].value.histogramSnapshot)
        #expect(snapshot.exemplars[0]?.labelValue == String(repeating: "x", count: 64))
        #expect(snapshot.exemplars[0]?.value == 0.7)
        #expect(snapshot.exemplars[1]?.labelValue == "über-9")
        #expect(ExemplarLabel("req-1").value == "req-1")
    }

    @Test func swiftMetricsLandsInTheRegistry() throws {
        let registry = MetricRegistry(writerCapacity: 1)
        let factory = TelemetryMetricsFactory(registry: registry)
        let counter = factory.makeCounter(label: "cache.hits", dimensions: [("tier", "l1")])
        counter.increment(by: 3)
        let timer = factory.makeTimer(label: "db_query_seconds", dimensions: [])
        timer.recordNanoseconds(250_000_000)
        let meter = factory.makeMeter(label: "pool_size", dimensions: [])
        meter.set(Int64(12))
        let text = String(decoding: registry.render(.text), as: UTF8.self)
        #expect(text.contains("cache_hits_total{tier=\"l1\"} 3\n"))
        #expect(text.contains("db_query_seconds_bucket{le=\"0.25\"} 1\n"))
        #expect(text.contains("db_query_seconds_sum 0.25\n"))
        #expect(text.contains("pool_size 12\n"))
    }

    @Test func processMetricsReadProc() throws {
        // Burn a few clock ticks of CPU so the process' CPU time cannot still read 0.
        let start = try ProcessMetrics.read().cpuSeconds
        var spin: UInt64 = 1
        var sample = try ProcessMetrics.read()
        while sample.cpuSeconds <= start {
            for step in 0..<1_000_000 { spin = spin &* 6_364_136_223_846_793_005 &+ UInt64(step) }
            sample = try ProcessMetrics.read()
        }
        #expect(spin != 0)
        #expect(sample.residentMemoryBytes > 1_000_000)
        #expect(sample.virtualMemoryBytes >= sample.residentMemoryBytes)
        #expect(sample.openFileDescriptors >= 3)
        #expect(sample.maxFileDescriptors >= sample.openFileDescriptors)
        #expect(sample.startTimeSeconds <= Date().timeIntervalSince1970 + 1)
        #expect(sample.startTimeSeconds > Date().timeIntervalSince1970 - 86_400)
        #expect(sample.cpuSeconds > 0)
    }
}
