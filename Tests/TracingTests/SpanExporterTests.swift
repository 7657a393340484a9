import AccessLog
import Foundation
import TestSupport
import Testing
import Tracing

/// The exporter against a real OTLP/HTTP receiver (Tests/Support/otlp_receiver.py, decoding with PyPI's
/// `opentelemetry-proto`), and against a dead port.
@Suite struct SpanExporterTests {
    private static let traceHigh: UInt64 = 0x4bf9_2f35_77b3_4da6
    private static let traceLow: UInt64 = 0xa3ce_929d_0e0e_4736

    /// A span with distinct ids and times derived from `id`.
    private static func span(_ id: UInt64, kind: SpanRecord.Kind = .server, parent: UInt64 = 0) -> SpanRecord {
        var record = SpanRecord()
        record.traceIDHigh = traceHigh
        record.traceIDLow = traceLow &+ id
        record.spanID = 0x1000 &+ id
        record.parentSpanID = parent
        record.kind = kind
        record.startTime = 1_700_000_000_000_000_000 + Int64(id) * 1000
        record.endTime = record.startTime + 250_000
        record.status = 200
        record.traceFlags = 1
        return record
    }

    private static func configuration(
        _ endpoint: String,
        _ change: (inout SpanExporterConfiguration) -> Void = { _ in }
    ) throws -> SpanExporterConfiguration {
        var configuration = try SpanExporterConfiguration(endpoint: endpoint)
        configuration.pollInterval = .milliseconds(5)
        configuration.initialBackoff = .milliseconds(20)
        configuration.maxBackoff = .milliseconds(100)
        configuration.timeout = .seconds(10)
        change(&configuration)
        return configuration
    }

    private static func droppedTotal(_ exporter: SpanExporter) -> UInt64 {
        SpanDropReason.allCases.reduce(0) { $0 + exporter.droppedSpans($1) }
    }

    @Test func aRetriedRequestShowsParentAndChildSpansWithTheirAttributes() async throws {
        let directory = try TestFiles.makeTemporaryDirectory("otlp-spans")
        let receiver = try await OTLPReceiver.start(in: directory)
        defer { Task { await receiver.stop() } }
        let exporter = try SpanExporter(
            configuration: try Self.configuration(receiver.endpoint) { configuration in
                configuration.serviceName = "edge"
                configuration.serviceVersion = "1.2.3"
                configuration.resourceAttributes = ["deployment.environment.name": "test"]
                configuration.flushInterval = .milliseconds(50)
            }
        )
        let ring = exporter.makeRing()
        try exporter.start()

        // One request to route "orders": the first upstream attempt was refused, the retry answered 200.
        var server = Self.span(1)
        server.method = .post
        server.peer = ClientAddress(ipv4: (10, 1, 2, 3))
        Array("/orders/42".utf8).withUnsafeBytes { server.setPath($0) }
        Array("orders".utf8).withUnsafeBytes { server.setRoute($0) }
        Array("shop.example".utf8).withUnsafeBytes { server.setServerAddress($0) }
        var first = Self.span(2, kind: .client, parent: server.spanID)
        first.traceIDLow = server.traceIDLow
        first.method = .post
        first.attempt = 1
        first.status = 0
        Array("127.0.0.1:9".utf8).withUnsafeBytes { first.setServerAddress($0) }
        Array("connect_refused".utf8).withUnsafeBytes { first.setErrorType($0) }
        var second = Self.span(3, kind: .client, parent: server.spanID)
        second.traceIDLow = server.traceIDLow
        second.method = .post
        second.attempt = 2
        Array("/orders/42".utf8).withUnsafeBytes { second.setPath($0) }
        Array("127.0.0.1:8080".utf8).withUnsafeBytes { second.setServerAddress($0) }
        #expect(ring.push(first))
        #expect(ring.push(second))
        #expect(ring.push(server))

        #expect(try await eventually(timeout: .seconds(30)) { exporter.exportedSpans == 3 })
        exporter.shutdown()
        let requests = receiver.requests()
        let spans = requests.flatMap(\.spans)
        try #require(spans.count == 3)
        let request = try #require(requests.first)
        #expect(request.path == "/v1/traces")
        #expect(request.contentType == "application/x-protobuf")
        #expect(request.resource["service.name"] as? String == "edge")
        #expect(request.resource["service.version"] as? String == "1.2.3")
        #expect(request.resource["deployment.environment.name"] as? String == "test")
        #expect((request.resource["service.instance.id"] as? String)?.count == 32)
        #expect(request.scopes.first?["name"] as? String == "gateway")

        let byID = Dictionary(uniqueKeysWithValues: spans.map { ($0.spanID, $0) })
        let serverSpan = try #require(byID[server.spanIDHex])
        #expect(serverSpan.traceID == server.traceIDHex)
        #expect(serverSpan.parentSpanID == "")
        #expect(serverSpan.kind == 2)
        #expect(serverSpan.name == "POST orders")
        #expect(serverSpan.start == server.startTime && serverSpan.end == server.endTime)
        #expect(serverSpan.flags == 1)
        #expect(serverSpan.statusCode == 0)
        #expect(serverSpan.attributes["http.request.method"] as? String == "POST")
        #expect(serverSpan.attributes["url.path"] as? String == "/orders/42")
        #expect(serverSpan.attributes["http.route"] as? String == "orders")
        #expect(serverSpan.attributes["http.response.status_code"] as? Int == 200)
        #expect(serverSpan.attributes["server.address"] as? String == "shop.example")
        #expect(serverSpan.attributes["network.peer.address"] as? String == "10.1.2.3")
        #expect(serverSpan.attributes["error.type"] == nil)

        let firstSpan = try #require(byID[first.spanIDHex])
        #expect(firstSpan.traceID == server.traceIDHex)
        #expect(firstSpan.parentSpanID == server.spanIDHex)
        #expect(firstSpan.kind == 3)
        #expect(firstSpan.name == "POST")
        #expect(firstSpan.statusCode == 2)
        #expect(firstSpan.attributes["error.type"] as? String == "connect_refused")
        #expect(firstSpan.attributes["http.response.status_code"] == nil)
        #expect(firstSpan.attributes["http.request.resend_count"] == nil)
        #expect(firstSpan.attributes["server.address"] as? String == "127.0.0.1:9")

        let secondSpan = try #require(byID[second.spanIDHex])
        #expect(secondSpan.parentSpanID == server.spanIDHex)
        #expect(secondSpan.start == second.startTime && secondSpan.end == second.endTime)
        #expect(secondSpan.statusCode == 0)
        #expect(secondSpan.attributes["http.request.resend_count"] as? Int == 1)
        #expect(secondSpan.attributes["http.response.status_code"] as? Int == 200)
        #expect(Self.droppedTotal(exporter) == 0)
    }

    @Test func aFullBatchIsSentAtOnceAndTheRestAtShutdown() async throws {
        let directory = try TestFiles.makeTemporaryDirectory("otlp-batch")
        let receiver = try await OTLPReceiver.start(in: directory)
        defer { Task { await receiver.stop() } }
        let exporter = try SpanExporter(
            configuration: try Self.configuration(receiver.endpoint) { configuration in
                configuration.batchSize = 5
                configuration.flushInterval = .seconds(3600)
            }
        )
        let rings = [exporter.makeRing(), exporter.makeRing()]
        try exporter.start()
        for id in 1...12 { #expect(rings[id % 2].push(Self.span(UInt64(id)))) }
        #expect(try await eventually(timeout: .seconds(30)) { receiver.requests().count == 2 })
        // The remaining 2 wait for a full batch (the interval is an hour) until shutdown sends them.
        #expect(try await eventually(timeout: .seconds(30)) { exporter.exportedSpans == 10 })
        #expect(exporter.queuedSpans == 2)
        exporter.shutdown()
        #expect(receiver.requests().map(\.spans.count) == [5, 5, 2])
        #expect(exporter.exportedSpans == 12)
        let ids = Set(receiver.acceptedSpans().map(\.spanID))
        #expect(ids == Set((1...12).map { Self.span(UInt64($0)).spanIDHex }))
    }

    @Test func aPartialBatchIsSentAfterTheFlushInterval() async throws {
        let directory = try TestFiles.makeTemporaryDirectory("otlp-interval")
        let receiver = try await OTLPReceiver.start(in: directory)
        defer { Task { await receiver.stop() } }
        let interval = Duration.milliseconds(400)
        let exporter = try SpanExporter(
            configuration: try Self.configuration(receiver.endpoint) { configuration in
                configuration.flushInterval = interval
            }
        )
        let ring = exporter.makeRing()
        try exporter.start()
        defer { exporter.shutdown() }
        let pushed = ContinuousClock.now
        for id in 1...3 { ring.push(Self.span(UInt64(id))) }
        #expect(try await eventually(timeout: .seconds(30)) { receiver.requests().count == 1 })
        // Never before the interval (a lower bound holds on a loaded machine too).
        #expect(ContinuousClock.now - pushed >= interval)
        #expect(receiver.requests().first?.spans.count == 3)
        // The receiver records a request before it answers: the count follows the answer.
        #expect(try await eventually(timeout: .seconds(30)) { exporter.exportedSpans == 3 })
    }

    @Test func aDeadReceiverLosesOnlyCountedSpansAndNeverHoldsUpThePushes() async throws {
        let dead = try RefusingPort()
        let exporter = try SpanExporter(
            configuration: try Self.configuration("http://127.0.0.1:\(dead.port)/v1/traces") { configuration in
                configuration.batchSize = 8
                configuration.maxQueueSize = 16
                configuration.flushInterval = .milliseconds(10)
                configuration.maxAttempts = 2
                configuration.ringCapacity = 32
                configuration.shutdownTimeout = .milliseconds(500)
            }
        )
        let ring = exporter.makeRing()
        try exporter.start()
        var accepted: UInt64 = 0
        var pushed: UInt64 = 0
        // Rounds of pushes, each waiting until the exporter has emptied the ring, so that spans reach its
        // queue (and overflow it) as well as the ring.
        for round in 0..<20 {
            for index in 0..<40 {
                pushed += 1
                if ring.push(Self.span(UInt64(round * 40 + index))) { accepted += 1 }
            }
            _ = try await eventually(timeout: .seconds(10)) { ring.count == 0 }
        }
        // The producer was never held up: every push returned at once, either taking a slot or counted.
        #expect(accepted + ring.dropped == pushed)
        #expect(exporter.droppedSpans(.ringFull) == ring.dropped)
        #expect(try await eventually(timeout: .seconds(30)) { exporter.droppedSpans(.exportFailed) > 0 })
        #expect(exporter.lastError != nil)
        exporter.shutdown()
        #expect(exporter.exportedSpans == 0)
        #expect(exporter.droppedSpans(.queueFull) > 0)
        // Every span is accounted for once: nothing is lost without a count.
        #expect(Self.droppedTotal(exporter) == pushed)
    }

    @Test func shutdownIsBoundedWhenTheReceiverHangs() async throws {
        let silent = try SilentListener()
        let exporter = try SpanExporter(
            configuration: try Self.configuration("http://127.0.0.1:\(silent.port)/v1/traces") { configuration in
                configuration.batchSize = 4
                configuration.flushInterval = .milliseconds(10)
                // Far longer than the shutdown timeout: only the shutdown bound can end the request early.
                configuration.timeout = .seconds(120)
                configuration.shutdownTimeout = .milliseconds(300)
            }
        )
        let ring = exporter.makeRing()
        try exporter.start()
        for id in 1...10 { ring.push(Self.span(UInt64(id))) }
        // One batch is in flight (the receiver never answers), the rest wait in the queue.
        #expect(try await eventually(timeout: .seconds(30)) { ring.count == 0 && exporter.queuedSpans >= 6 })
        let started = ContinuousClock.now
        exporter.shutdown()
        #expect(ContinuousClock.now - started < .seconds(60))
        #expect(exporter.exportedSpans == 0)
        #expect(exporter.droppedSpans(.exportFailed) == 10)
        #expect(exporter.lastError?.code == .timeout)
    }

    @Test func spansAreDeliveredWhenTheReceiverComesBack() async throws {
        let directory = try TestFiles.makeTemporaryDirectory("otlp-recover")
        // A port held bound but not listening: the exporter starts against a dead receiver, and no other
        // process of a parallel test can take the port before the receiver comes back on it.
        var held: RefusingPort? = try RefusingPort()
        let port = try #require(held).port
        let exporter = try SpanExporter(
            configuration: try Self.configuration("http://127.0.0.1:\(port)/v1/traces") { configuration in
                configuration.flushInterval = .milliseconds(20)
                configuration.maxAttempts = 10_000
                configuration.initialBackoff = .milliseconds(50)
                configuration.maxBackoff = .milliseconds(200)
            }
        )
        let ring = exporter.makeRing()
        try exporter.start()
        defer { exporter.shutdown() }
        for id in 1...5 { ring.push(Self.span(UInt64(id))) }
        #expect(try await eventually(timeout: .seconds(30)) { exporter.lastError?.code == .connection })
        #expect(exporter.exportedSpans == 0)
        held = nil
        let receiver = try await OTLPReceiver.start(in: directory, port: port)
        defer { Task { await receiver.stop() } }
        #expect(try await eventually(timeout: .seconds(30)) { exporter.exportedSpans == 5 })
        #expect(receiver.acceptedSpans().count == 5)
        #expect(Self.droppedTotal(exporter) == 0)
    }

    @Test func serviceUnavailableIsRetriedUntilAccepted() async throws {
        let directory = try TestFiles.makeTemporaryDirectory("otlp-503")
        let receiver = try await OTLPReceiver.start(in: directory, arguments: ["--fail-first", "2"])
        defer { Task { await receiver.stop() } }
        let exporter = try SpanExporter(
            configuration: try Self.configuration(receiver.endpoint) { $0.flushInterval = .milliseconds(20) }
        )
        let ring = exporter.makeRing()
        try exporter.start()
        defer { exporter.shutdown() }
        for id in 1...4 { ring.push(Self.span(UInt64(id))) }
        #expect(try await eventually(timeout: .seconds(30)) { exporter.exportedSpans == 4 })
        let requests = receiver.requests()
        #expect(requests.map(\.status) == [503, 503, 200])
        // The same batch each time.
        #expect(Set(requests.map { $0.spans.map(\.spanID) }).count == 1)
        #expect(Self.droppedTotal(exporter) == 0)
    }

    @Test func aPermanentRefusalIsNotRetried() async throws {
        let directory = try TestFiles.makeTemporaryDirectory("otlp-400")
        let receiver = try await OTLPReceiver.start(in: directory, arguments: ["--status", "400"])
        defer { Task { await receiver.stop() } }
        let exporter = try SpanExporter(
            configuration: try Self.configuration(receiver.endpoint) { $0.flushInterval = .milliseconds(20) }
        )
        let ring = exporter.makeRing()
        try exporter.start()
        for id in 1...3 { ring.push(Self.span(UInt64(id))) }
        #expect(try await eventually(timeout: .seconds(30)) { exporter.droppedSpans(.exportFailed) == 3 })
        exporter.shutdown()
        #expect(receiver.requests().count == 1)
        #expect(exporter.exportedSpans == 0)
    }

    @Test func spansTheReceiverRejectsAreCountedAsFailed() async throws {
        let directory = try TestFiles.makeTemporaryDirectory("otlp-partial")
        let receiver = try await OTLPReceiver.start(in: directory, arguments: ["--reject", "2"])
        defer { Task { await receiver.stop() } }
        let exporter = try SpanExporter(
            configuration: try Self.configuration(receiver.endpoint) { $0.batchSize = 5 }
        )
        let ring = exporter.makeRing()
        try exporter.start()
        for id in 1...5 { ring.push(Self.span(UInt64(id))) }
        #expect(try await eventually(timeout: .seconds(30)) { exporter.exportedSpans == 3 })
        exporter.shutdown()
        #expect(exporter.droppedSpans(.exportFailed) == 2)
    }
}
