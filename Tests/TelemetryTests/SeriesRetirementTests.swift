import Foundation
import SwiftProtobuf
import Synchronization
import Testing

@testable import Telemetry

/// Series of routes and upstreams a reload removed: rendered by one more scrape, then dropped; their
/// storage stays valid for handles still recording, and resolving them again continues their values.
@Suite struct SeriesRetirementTests {
    enum Kind: CaseIterable, Sendable {
        case counter
        case gauge
        case histogram
    }

    /// A family of one kind with a `route` label; each recording adds 1 to what the text format shows for
    /// the route (a histogram's `_count`).
    struct Subject {
        let registry = MetricRegistry(writerCapacity: 1)
        /// The text-format sample name whose value counts recordings.
        let sampleName: String
        /// Resolves the route's handle and returns a function recording 1 through it.
        let recorder: (String) throws -> () -> Void
        let retire: (Set<String>) throws -> Int

        init(_ kind: Kind) throws {
            switch kind {
            case .counter:
                let family = try self.registry.counter("hits_total", help: "Hits.", labelNames: ["route"])
                self.sampleName = "hits_total"
                self.recorder = { route in
                    let handle = try family.handle([route])
                    return { handle.increment() }
                }
                self.retire = { try family.retire(label: "route", values: $0) }
            case .gauge:
                let family = try self.registry.gauge("level", help: "Level.", labelNames: ["route"])
                self.sampleName = "level"
                self.recorder = { route in
                    let handle = try family.handle([route])
                    return { handle.add(1) }
                }
                self.retire = { try family.retire(label: "route", values: $0) }
            case .histogram:
                let family = try self.registry.histogram(
                    "latency_seconds",
                    help: "Latency.",
                    labelNames: ["route"],
                    buckets: [0.5, 2]
                )
                self.sampleName = "latency_seconds_count"
                self.recorder = { route in
                    let handle = try family.handle([route])
                    return { handle.observe(1) }
                }
                self.retire = { try family.retire(label: "route", values: $0) }
            }
        }

        /// Scrapes once in the text format: the value shown for each route.
        func scrape() -> [String: Double] {
            SeriesRetirementTests.values(of: self.sampleName, in: SeriesRetirementTests.text(self.registry))
        }
    }

    static func text(_ registry: MetricRegistry, _ format: ExpositionFormat = .text) -> String {
        String(decoding: registry.render(format), as: UTF8.self)
    }

    /// The values of `sampleName`'s series by their first label's value, from a text exposition.
    static func values(of sampleName: String, in text: String) -> [String: Double] {
        var values: [String: Double] = [:]
        for line in text.split(separator: "\n") where line.hasPrefix(sampleName + "{") {
            let labels = line.dropFirst(sampleName.count + 1)
            guard let open = labels.firstIndex(of: "\""),
                let close = labels[labels.index(after: open)...].firstIndex(of: "\""),
                let end = labels.firstIndex(of: "}")
            else { continue }
            let value = labels[labels.index(end, offsetBy: 2)...].split(separator: " ").first ?? ""
            values[String(labels[labels.index(after: open)..<close])] = Double(value)
        }
        return values
    }

    /// The values of `labelName` of every series of `familyName` in a protobuf exposition, sorted.
    static func protobufLabels(_ body: [UInt8], family familyName: String, label labelName: String) throws -> [String] {
        let families = try ExpositionFormatTests.decodeDelimited(body)
        let family = families.first { $0.name == familyName }
        return (family?.metric.flatMap { $0.label.filter { $0.name == labelName }.map(\.value) } ?? []).sorted()
    }

    @Test(arguments: Kind.allCases) func retiredSeriesIsScrapedOnceMoreThenDropped(_ kind: Kind) throws {
        let subject = try Subject(kind)
        let r1 = try subject.recorder("r1")
        r1()
        r1()
        try subject.recorder("r2")()
        #expect(subject.scrape() == ["r1": 2, "r2": 1])

        #expect(try subject.retire(["r1"]) == 1)
        #expect(try subject.retire(["r1"]) == 0)
        #expect(subject.scrape() == ["r1": 2, "r2": 1])
        #expect(subject.scrape() == ["r2": 1])
        #expect(subject.scrape() == ["r2": 1])
    }

    @Test(arguments: Kind.allCases) func handlesOutliveRetirementAndRevivalContinuesTheValue(_ kind: Kind) throws {
        let subject = try Subject(kind)
        let old = try subject.recorder("r1")
        old()
        try subject.recorder("r2")()
        _ = try subject.retire(["r1"])
        _ = subject.scrape()
        #expect(subject.scrape() == ["r2": 1])

        // An in-flight request finishing after the reload writes through its old handle.
        old()
        #expect(subject.scrape() == ["r2": 1])

        // The route comes back: the same storage, with everything recorded so far.
        let revived = try subject.recorder("r1")
        #expect(subject.scrape() == ["r1": 2, "r2": 1])
        revived()
        old()
        #expect(subject.scrape() == ["r1": 4, "r2": 1])
    }

    @Test func resolvingBeforeTheNextScrapeCancelsTheRetirement() throws {
        let subject = try Subject(.counter)
        try subject.recorder("r1")()
        _ = try subject.retire(["r1"])
        try subject.recorder("r1")()
        #expect(subject.scrape() == ["r1": 2])
        #expect(subject.scrape() == ["r1": 2])
    }

    @Test func retiredSeriesDoNotCountTowardTheLimitUntilRevived() throws {
        let registry = MetricRegistry(writerCapacity: 1)
        let family = try registry.counter("hits_total", help: "Hits.", labelNames: ["route"], maxSeries: 2)
        try family.handle(["a"]).increment(by: 5)
        try family.handle(["b"]).increment()
        #expect(try family.retire(labelValues: ["a"]))

        // A reload replacing a with c: c gets its own series even though a is still to be scraped once.
        try family.handle(["c"]).increment()
        let overflow = FamilyCore.overflowLabelValue
        #expect(Self.values(of: "hits_total", in: Self.text(registry)) == ["a": 5, "b": 1, "c": 1])
        #expect(Self.values(of: "hits_total", in: Self.text(registry)) == ["b": 1, "c": 1])

        // Reviving counts again: with b and c live the family is full, so a goes to the overflow series.
        try family.handle(["a"]).increment(by: 7)
        #expect(Self.values(of: "hits_total", in: Self.text(registry)) == ["b": 1, "c": 1, overflow: 7])

        // Once there is room, a comes back with the value it had.
        try family.retire(label: "route", values: ["c"])
        _ = registry.render(.text)
        try family.handle(["a"]).increment()
        #expect(Self.values(of: "hits_total", in: Self.text(registry)) == ["b": 1, "a": 6, overflow: 7])
    }

    @Test func theOverflowSeriesIsNeverRetired() throws {
        let registry = MetricRegistry(writerCapacity: 1)
        let family = try registry.counter("hits_total", help: "Hits.", labelNames: ["route"], maxSeries: 1)
        try family.handle(["a"]).increment()
        try family.handle(["b"]).increment()
        #expect(family.retire { _ in true } == 1)
        _ = registry.render(.text)
        let text = Self.text(registry)
        #expect(Self.values(of: "hits_total", in: text) == [FamilyCore.overflowLabelValue: 1])
        #expect(text.contains("telemetry_series_overflow_total{family=\"hits\"} 1\n"))
    }

    @Test func protobufAndOpenMetricsScrapesDropRetiredSeriesToo() throws {
        let subject = try Subject(.histogram)
        for route in ["r1", "r2", "r3"] {
            try subject.recorder(route)()
        }
        let latency = "latency_seconds"

        _ = try subject.retire(["r1"])
        let lastProtobuf = try Self.protobufLabels(subject.registry.render(.protobuf), family: latency, label: "route")
        #expect(lastProtobuf == ["r1", "r2", "r3"])
        #expect(
            try Self.protobufLabels(subject.registry.render(.protobuf), family: latency, label: "route") == [
                "r2", "r3",
            ]
        )

        _ = try subject.retire(["r2"])
        let lastOpenMetrics = Self.text(subject.registry, .openMetrics)
        #expect(Self.values(of: "latency_seconds_count", in: lastOpenMetrics) == ["r2": 1, "r3": 1])
        #expect(lastOpenMetrics.hasSuffix("# EOF\n"))
        let openMetrics = Self.text(subject.registry, .openMetrics)
        #expect(Self.values(of: "latency_seconds_count", in: openMetrics) == ["r3": 1])
        #expect(!openMetrics.contains("route=\"r2\""))

        // Any format's scrape is the one more: a protobuf scrape hides the series from the next text one.
        _ = try subject.retire(["r3"])
        #expect(try Self.protobufLabels(subject.registry.render(.protobuf), family: latency, label: "route") == ["r3"])
        #expect(subject.scrape().isEmpty)
        #expect(!Self.text(subject.registry).contains("route="))
    }

    @Test func theRegistryRetiresALabelValueInEveryFamilyWithThatLabel() throws {
        let registry = MetricRegistry(writerCapacity: 1)
        let requests = try registry.counter("requests_total", help: "Requests.", labelNames: ["route", "code"])
        let latency = try registry.histogram(
            "upstream_seconds",
            help: "Upstream latency.",
            labelNames: ["route", "upstream"],
            buckets: [1]
        )
        let open = try registry.gauge("upstream_open_connections", help: "Open.", labelNames: ["upstream"])
        let total = try registry.counter("all_total", help: "All.")
        try requests.handle(["r1", "200"]).increment()
        try requests.handle(["r1", "500"]).increment()
        try requests.handle(["r2", "200"]).increment()
        try latency.handle(["r1", "u1"]).observe(0.5)
        try latency.handle(["r2", "u2"]).observe(0.5)
        try open.handle(["u1"]).set(3)
        try open.handle(["u2"]).set(4)
        try total.handle().increment()

        #expect(registry.retireSeries(label: "route", values: ["r1"]) == 3)
        #expect(registry.retireSeries(label: "upstream", values: ["u2", "u9"]) == 2)
        #expect(registry.retireSeries(label: "nothing", values: ["r2"]) == 0)
        let last = Self.text(registry)
        #expect(last.contains("route=\"r1\""))
        #expect(last.contains("upstream=\"u2\""))

        let text = Self.text(registry)
        #expect(!text.contains("route=\"r1\""))
        #expect(!text.contains("upstream=\"u2\""))
        #expect(text.contains("requests_total{route=\"r2\",code=\"200\"} 1\n"))
        #expect(text.contains("upstream_open_connections{upstream=\"u1\"} 3\n"))
        #expect(!text.contains("upstream_seconds_count{"))
        #expect(text.contains("all_total 1\n"))
    }

    @Test func retirementRejectsLabelsTheFamilyDoesNotHave() throws {
        let registry = MetricRegistry()
        let family = try registry.counter("hits_total", help: "Hits.", labelNames: ["route"])
        try family.handle(["r1"]).increment()
        #expect(throws: TelemetryError.self) { try family.retire(label: "upstream", values: ["r1"]) }
        #expect(throws: TelemetryError.self) { try family.retire(labelValues: ["r1", "extra"]) }
        #expect(try family.retire(labelValues: ["r9"]) == false)
        #expect(Self.values(of: "hits_total", in: Self.text(registry)) == ["r1": 1])
        #expect(Self.values(of: "hits_total", in: Self.text(registry)) == ["r1": 1])
    }

    /// Workers keep recording on their own shards while the scraper retires, scrapes and revives the series
    /// over and over: nothing crashes and no recording is lost.
    @Test func workersRecordWhileSeriesAreRetiredAndRevived() async throws {
        let perWriter = 100_000
        let registry = MetricRegistry(writerCapacity: 2)
        let family = try registry.counter("hits_total", help: "Hits.", labelNames: ["route"])
        let handle = try family.handle(["r1"])
        let finished = Atomic<Int>(0)
        let writers = (0..<2).map { _ in
            Thread {
                let writer = try! registry.registerWriter()
                for _ in 0..<perWriter {
                    handle.increment(on: writer)
                }
                finished.add(1, ordering: .releasing)
            }
        }
        for writer in writers { writer.start() }
        var cycles = 0
        var lastSeen = 0.0
        var failures: [String] = []
        // At least one cycle even when the writers finish first on a loaded machine.
        repeat {
            family.retire { $0 == ["r1"] }
            let last = Self.values(of: "hits_total", in: Self.text(registry))
            let hidden = Self.values(of: "hits_total", in: Self.text(registry))
            let revived = try family.handle(["r1"])
            if revived.cells.blocks != handle.cells.blocks { failures.append("revival made new cells") }
            if let value = last["r1"], value >= lastSeen { lastSeen = value } else { failures.append("\(last)") }
            if !hidden.isEmpty { failures.append("retired series listed twice: \(hidden)") }
            cycles += 1
            // Leaves the test runner's shared threads to the other tests between cycles.
            try await Task.sleep(for: .microseconds(200))
        } while finished.load(ordering: .acquiring) < 2
        #expect(failures.isEmpty)
        #expect(cycles > 0)
        #expect(Self.values(of: "hits_total", in: Self.text(registry)) == ["r1": Double(2 * perWriter)])
    }
}
