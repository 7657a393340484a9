import AccessLog
import Telemetry
import Testing

@testable import Gateway

/// The pipeline's own pieces: secrets found by hash and compared in constant time, change records and
/// how the head writers apply them, chain order, consumer merging, a plugin's own counter.
@Suite struct PluginCoreTests {
    @Test func credentialIndexFindsEachSecretAndNothingElse() {
        let secrets = (0..<200).map { (secret: Array("key-\($0)".utf8), value: Int32($0)) }
        let index = CredentialIndex(secrets)
        for (secret, value) in secrets {
            #expect(secret.withUnsafeBytes { index.lookup($0) } == value)
        }
        for miss in ["", "key-", "key-2000", "key-1 ", "KEY-1"] {
            #expect(Array(miss.utf8).withUnsafeBytes { index.lookup($0) } == -1, "\(miss)")
        }
        let empty = CredentialIndex([])
        #expect(Array("x".utf8).withUnsafeBytes { empty.lookup($0) } == -1)
    }

    @Test func constantTimeEqualsComparesWholeValues() {
        func equal(_ a: String, _ b: String) -> Bool {
            Array(a.utf8).withUnsafeBytes { x in
                Array(b.utf8).withUnsafeBytes { y in CredentialIndex.constantTimeEquals(x, y) }
            }
        }
        #expect(equal("secret", "secret"))
        #expect(!equal("secret", "secreT"))
        #expect(!equal("secret", "secret2"))
        #expect(!equal("", "a"))
        #expect(equal("", ""))
    }

    @Test func editsRewriteTheUpstreamRequestHead() throws {
        let harness = PluginHarness()
        harness.begin(
            "GET /a/b?apikey=k&x=1&flag HTTP/1.1\r\nHost: h\r\nApiKey: secret\r\nX-Keep: 1\r\nX-Set: old\r\n\r\n"
        )
        let request = harness.request
        request.record(.requestRemove, name: UnsafeRawBufferPointer("apikey"), value: UnsafeRawBufferPointer(""))
        request.record(.requestSet, name: UnsafeRawBufferPointer("X-Set"), value: UnsafeRawBufferPointer("new"))
        request.record(.requestAdd, name: UnsafeRawBufferPointer("X-Added"), value: UnsafeRawBufferPointer("yes"))
        request.record(.removeQueryArgument, name: UnsafeRawBufferPointer("apikey"), value: UnsafeRawBufferPointer(""))
        let written = try writeUpstream(harness)
        #expect(written.hasPrefix("GET /a/b?x=1&flag HTTP/1.1\r\nHost: h\r\n"))
        #expect(!written.lowercased().contains("apikey: secret"))
        #expect(written.contains("X-Keep: 1\r\n"))
        #expect(written.contains("X-Set: new\r\n") && !written.contains("X-Set: old"))
        #expect(written.contains("X-Added: yes\r\n"))

        harness.begin("POST /old?q=1 HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\n\r\n")
        request.record(.uri, name: UnsafeRawBufferPointer(""), value: UnsafeRawBufferPointer("/new/path?z=2"))
        request.record(.method, name: UnsafeRawBufferPointer(""), value: UnsafeRawBufferPointer("PUT"))
        request.record(.host, name: UnsafeRawBufferPointer(""), value: UnsafeRawBufferPointer("inner.local"))
        let rewritten = try writeUpstream(harness)
        #expect(rewritten.hasPrefix("PUT /new/path?z=2 HTTP/1.1\r\nHost: inner.local\r\n"), "\(rewritten)")
        #expect(rewritten.contains("X-Forwarded-Host: h\r\n"))
    }

    @Test func editsShapeResponses() {
        let harness = PluginHarness()
        harness.begin("GET / HTTP/1.1\r\nHost: h\r\n\r\n")
        let request = harness.request
        request.record(.responseSet, name: UnsafeRawBufferPointer("X-RateLimit-Limit"), decimal: 10)
        request.record(.responseSet, name: UnsafeRawBufferPointer("X-RateLimit-Remaining"), decimal: -1)
        request.record(.responseRemove, name: UnsafeRawBufferPointer("X-Request-Id"), value: UnsafeRawBufferPointer(""))
        var bytes = [UInt8](repeating: 0, count: 2048)
        let text = bytes.withUnsafeMutableBytes { buffer -> String in
            var writer = HTTPHeadWriter(buffer)
            GatewayResponses.writePluginRejection(
                status: 429,
                message: UnsafeRawBufferPointer("Too many"),
                requestID: UnsafeRawBufferPointer("id1"),
                versionMinor: 1,
                close: false,
                includeBody: true,
                edits: request.edits,
                into: &writer
            )
            return String(decoding: UnsafeRawBufferPointer(rebasing: buffer[0..<writer.count]), as: UTF8.self)
        }
        #expect(text.hasPrefix("HTTP/1.1 429 Too Many Requests\r\n"), "\(text)")
        #expect(text.contains("X-RateLimit-Limit: 10\r\n"))
        #expect(text.contains("X-RateLimit-Remaining: -1\r\n"))
        #expect(!text.contains("X-Request-Id"), "a plugin removed it")
        #expect(text.hasSuffix("\r\n\r\n{\"message\":\"Too many\",\"request_id\":\"id1\"}"))
        let length = text.split(separator: "\r\n").first { $0.hasPrefix("Content-Length: ") }
        #expect(length == "Content-Length: \(#"{"message":"Too many","request_id":"id1"}"#.utf8.count)")
    }

    @Test func editAreaOverflowIsReportedNotWritten() {
        let harness = PluginHarness()
        harness.begin("GET / HTTP/1.1\r\nHost: h\r\n\r\n")
        let value = [UInt8](repeating: UInt8(ascii: "v"), count: 1000)
        var accepted = 0
        for _ in 0..<10 {
            if value.withUnsafeBytes({
                harness.request.record(.responseAdd, name: UnsafeRawBufferPointer("X-Big"), value: $0)
            }) {
                accepted += 1
            }
        }
        #expect(accepted == 4)
        #expect(harness.state.pointee.editOverflow)
        #expect(harness.edits.count == 4)
    }

    @Test func chainsRunByPriorityAndConsumersReplaceTheRoutesPlugins() throws {
        let consumers = ConsumerTable(names: ["jack"], credentials: [(0, .keyAuth(key: "k"))], chains: [])
        let harness = PluginHarness(consumers: consumers)
        let keyAuth = try harness.compile("key-auth", "{}")
        let restriction = try harness.compile("consumer-restriction", "{whitelist: [jack]}")
        let basic = try harness.compile("basic-auth", "{}")
        let chain = PluginChain([
            PluginChain.Entry(
                plugin: restriction,
                priority: 2400,
                kind: PluginRegistry.kind(named: "consumer-restriction")!
            ),
            PluginChain.Entry(plugin: keyAuth, priority: 2500, kind: PluginRegistry.kind(named: "key-auth")!),
            PluginChain.Entry(plugin: basic, priority: 2520, kind: PluginRegistry.kind(named: "basic-auth")!),
        ])
        #expect(chain.plugins.map(\.plugin.descriptor.name) == ["basic-auth", "key-auth", "consumer-restriction"])
        #expect(chain.count(.rewrite) == 2)
        #expect(chain.count(.access) == 1)
        #expect(chain.count(.log) == 0)
        #expect(chain.contains(kind: PluginRegistry.kind(named: "key-auth")!))
        #expect(!chain.contains(kind: PluginRegistry.kind(named: "jwt-auth") ?? 63))
        #expect(PluginRegistry.builtins.map(\.priority) == PluginRegistry.builtins.map(\.priority).sorted(by: >))
    }

    @Test func aPluginCounterCountsPerWorkerIntoTheRegistry() throws {
        let registry = MetricRegistry()
        let config = try ConfigLoader.parse(
            yaml: "upstreams: [{id: u, nodes: {\"127.0.0.1:9\": 1}}]\nroutes: [{id: r, uri: /, upstream_id: u}]",
            sourceName: "test",
            environment: [:],
            resolveHostnames: false
        )
        let plan = try ProxyPlan(config: config)
        let metrics = try GatewayMetrics(registry: registry, plan: plan)
        let counter = PluginCounter("gateway_test_plugin_events_total", help: "Test.", labels: ["route": "r"])
        for worker in 0..<2 {
            let telemetry = try WorkerTelemetry(metrics: metrics, plan: plan, worker: worker)
            let headers = HTTPHeaderIndex()
            let request = PluginRequest(worker: worker, headers: headers, consumers: .empty, telemetry: telemetry)
            for _ in 0..<(worker + 2) { counter.increment(request) }
        }
        let text = String(decoding: registry.render(.text), as: UTF8.self)
        #expect(
            text.contains("gateway_test_plugin_events_total{route=\"r\"} 5"),
            "\(text.split(separator: "\n").filter { $0.contains("plugin_events") })"
        )
    }

    @Test func sharedStateSurvivesRecompilesOfTheSameSettingsOnly() {
        final class Box: Sendable {}
        let shared = PluginSharedState()
        let context = PluginCompileContext(consumers: .empty, shared: shared, workerCount: 2)
        func state(_ settings: String, _ scope: PluginScope = .route("r")) -> Box {
            context.sharedState("limit-count", scope: scope, settings: settings) { Box() }
        }
        let first = state("{count: 1}")
        #expect(state("{count: 1}") === first)
        #expect(state("{count: 2}") !== first)
        #expect(state("{count: 1}", .route("other")) !== first)
        shared.keepOnlyUsed()
        // The next plan only has count 2: count 1's state is dropped after it is published.
        let second = state("{count: 2}")
        shared.keepOnlyUsed()
        #expect(state("{count: 2}") === second)
        #expect(state("{count: 1}") !== first)
        let validating = PluginCompileContext(consumers: .empty, shared: nil, workerCount: 1)
        let a = validating.sharedState("limit-count", scope: .route("r"), settings: "{count: 2}") { Box() }
        #expect(a !== second, "validation never touches the process's state")
    }

    @Test func aLogFieldAndTheConsumerStayWithTheRequestUntilItEnds() {
        let harness = PluginHarness()
        harness.begin("GET / HTTP/1.1\r\nHost: h\r\n\r\n")
        harness.request.setLogField(name: AccessLogSymbol(rawValue: 3), value: AccessLogSymbol(rawValue: 4))
        harness.request.authenticate(consumer: 7)
        harness.request.stash = 42
        harness.respond(status: 200)
        #expect(harness.state.pointee.logFieldName == AccessLogSymbol(rawValue: 3))
        #expect(harness.state.pointee.logFieldValue == AccessLogSymbol(rawValue: 4))
        #expect(harness.request.consumer == 7)
        #expect(harness.request.stash == 42)
        harness.request.finish(harness.state)
        #expect(!harness.state.pointee.active)
        #expect(harness.state.pointee.logFieldName == .none)
    }

    private func writeUpstream(_ harness: PluginHarness) throws -> String {
        var bytes = [UInt8](repeating: 0, count: 4096)
        let request = harness.request
        return bytes.withUnsafeMutableBytes { buffer -> String in
            var writer = HTTPHeadWriter(buffer)
            _ = HTTPProxyHeads.writeUpstreamRequest(
                head: request.head!,
                source: request.source,
                headers: harness.headers,
                hostOverride: nil,
                clientAddress: UnsafeRawBufferPointer("127.0.0.1"),
                proto: "http",
                requestID: request.requestID,
                edits: request.edits,
                into: &writer
            )
            return String(decoding: UnsafeRawBufferPointer(rebasing: buffer[0..<writer.count]), as: UTF8.self)
        }
    }
}
