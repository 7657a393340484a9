import Foundation
import TestSupport
import Testing
import Tracing

/// ``SpanExporter/reconfigure(_:)`` against real OTLP receivers (Tests/Support/otlp_receiver.py): what a
/// reload of `tracing.otlp` does to the running exporter, with the workers' rings left as they are.
@Suite struct SpanExporterReconfigureTests {
    private static func span(_ id: UInt64) -> SpanRecord {
        var record = SpanRecord()
        record.traceIDHigh = 0x0af7_6519_16cd_43dd
        record.traceIDLow = 0x8448_eb21_1c80_319c
        record.spanID = 0x1000 &+ id
        record.kind = .server
        record.startTime = 1_700_000_000_000_000_000 + Int64(id) * 1000
        record.endTime = record.startTime + 250_000
        record.status = 200
        record.traceFlags = 1
        return record
    }

    private static func configuration(
        _ endpoint: String,
        service: String
    ) throws -> SpanExporterConfiguration {
        var configuration = try SpanExporterConfiguration(endpoint: endpoint)
        configuration.pollInterval = .milliseconds(5)
        configuration.initialBackoff = .milliseconds(20)
        configuration.maxBackoff = .milliseconds(50)
        configuration.maxAttempts = 3
        configuration.shutdownTimeout = .seconds(5)
        configuration.flushInterval = .milliseconds(50)
        configuration.serviceName = service
        return configuration
    }

    private static func spanIDs(_ receiver: OTLPReceiver) -> Set<String> {
        Set(receiver.acceptedSpans().map(\.spanID))
    }

    private static func hex(_ id: UInt64) -> String { String(format: "%016llx", 0x1000 + id) }

    @Test func spansAfterAReconfigurationGoToTheNewEndpointUnderTheNewResource() async throws {
        let directory = try TestFiles.makeTemporaryDirectory("otlp-reconfigure")
        defer { try? FileManager.default.removeItem(at: directory) }
        let a = try await OTLPReceiver.start(in: directory)
        let b = try await OTLPReceiver.start(in: directory)
        defer {
            Task {
                await a.stop()
                await b.stop()
            }
        }
        let exporter = try SpanExporter(configuration: try Self.configuration(a.endpoint, service: "edge-a"))
        let ring = exporter.makeRing()
        try exporter.start()
        defer { exporter.shutdown() }
        for id in 0..<3 { #expect(ring.push(Self.span(UInt64(id)))) }
        #expect(try await eventually(timeout: .seconds(20)) { Self.spanIDs(a).count == 3 })

        try exporter.reconfigure(try Self.configuration(b.endpoint, service: "edge-b"))
        #expect(exporter.configuration.endpoint.port == b.port)
        #expect(exporter.resourceAttributes["service.name"] == "edge-b")
        for id in 10..<14 { #expect(ring.push(Self.span(UInt64(id)))) }
        #expect(try await eventually(timeout: .seconds(20)) { Self.spanIDs(b).count == 4 })
        #expect(Self.spanIDs(b) == Set((10..<14).map { Self.hex(UInt64($0)) }))
        #expect(Self.spanIDs(a) == Set((0..<3).map { Self.hex(UInt64($0)) }))
        let resourceA = try #require(a.requests().first?.resource)
        let resourceB = try #require(b.requests().first?.resource)
        #expect(resourceA["service.name"] as? String == "edge-a")
        #expect(resourceB["service.name"] as? String == "edge-b")
        // Still the same process: its instance id does not change with the configuration.
        #expect(resourceB["service.instance.id"] as? String == resourceA["service.instance.id"] as? String)
        #expect(exporter.exportedSpans == 7)
        #expect(SpanDropReason.allCases.allSatisfy { exporter.droppedSpans($0) == 0 })
    }

    @Test func spansQueuedForAnEndpointThatIsDownAreCountedNotMovedAndTheNewEndpointGetsTheRest() async throws {
        let directory = try TestFiles.makeTemporaryDirectory("otlp-reconfigure-down")
        defer { try? FileManager.default.removeItem(at: directory) }
        let b = try await OTLPReceiver.start(in: directory)
        defer { Task { await b.stop() } }
        let down = try RefusingPort()
        defer { withExtendedLifetime(down) {} }
        let exporter = try SpanExporter(
            configuration: try Self.configuration("http://127.0.0.1:\(down.port)/v1/traces", service: "a")
        )
        let ring = exporter.makeRing()
        try exporter.start()
        defer { exporter.shutdown() }
        for id in 0..<3 { #expect(ring.push(Self.span(UInt64(id)))) }
        // Taken off the ring: from here they are owed to the old endpoint.
        #expect(try await eventually(timeout: .seconds(10)) { ring.count == 0 })
        try exporter.reconfigure(try Self.configuration(b.endpoint, service: "edge-b"))
        for id in 10..<12 { #expect(ring.push(Self.span(UInt64(id)))) }
        #expect(try await eventually(timeout: .seconds(20)) { Self.spanIDs(b).count >= 2 })
        #expect(try await eventually(timeout: .seconds(20)) { exporter.droppedSpans(.exportFailed) == 3 })
        // The spans queued before the change were owed to the old endpoint: they never reach the new one.
        #expect(Self.spanIDs(b) == Set((10..<12).map { Self.hex(UInt64($0)) }))
        #expect(exporter.exportedSpans == 2)
    }

    @Test func aBadConfigurationIsRefusedAndTheRunningOneStays() throws {
        let exporter = try SpanExporter(
            configuration: try Self.configuration("http://127.0.0.1:4318/v1/traces", service: "a")
        )
        var bad = try Self.configuration("http://127.0.0.1:4319/v1/traces", service: "b")
        bad.batchSize = 0
        #expect(throws: SpanExporterError.self) { try exporter.reconfigure(bad) }
        #expect(exporter.configuration.endpoint.port == 4318)
        exporter.shutdown()
        #expect(throws: SpanExporterError.self) {
            try exporter.reconfigure(try Self.configuration("http://127.0.0.1:4319/v1/traces", service: "b"))
        }
    }
}
