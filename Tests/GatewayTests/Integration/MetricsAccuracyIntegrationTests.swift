import Foundation
import TestSupport
import Testing

/// Known traffic through a real gateway: `/metrics` counts it exactly and the access log has one line per request.
@Suite("Integration: metrics and access log accuracy")
struct MetricsAccuracyIntegrationTests {
    /// Two routes to the upstream plus the builder's mock route; anything else is unmatched (404).
    static var settings: ObservabilitySettings {
        var settings = ObservabilitySettings()
        settings.base.workers = 2
        settings.base.catchAll = false
        settings.base.extraRoutes = """
              - id: api
                uris: ["/status/*", "/echo"]
                upstream_id: backend

            """
        settings.metrics = """
            {enabled: true, node_labels: true, native_histograms: true, \
            buckets: {gateway_http_request_duration_seconds: [0.001, 0.005, 0.025, 0.1, 0.5, 1, 5]}}
            """
        return settings
    }

    static let postBody = "hello-observability"
    static let smuggling =
        "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"

    /// What was sent, and what the client saw for it.
    struct Sent {
        var route: String
        var method: String
        var path: String
        var transfer: BatchTransfer
        /// Whether the gateway itself made the response (no upstream involved, not a configured mock).
        var gatewayError: Bool
    }

    @Test("300 mixed requests: exact counters, histogram counts, one access-log line per request")
    func countersAndAccessLogMatchTraffic() async throws {
        try await withObservedGateway("metrics-exact", Self.settings) { observed in
            let sent = try await Self.driveTraffic(observed)
            let malformed = try await Self.sendMalformed(observed)
            #expect(sent.count + 1 == 300)

            // Records are counted when the log pipeline takes them, a flush interval (0.2 s) after the response.
            var (_, metrics) = try await observed.scrapeText()
            let clock = ContinuousClock()
            let deadline = clock.now.advanced(by: .seconds(3))
            while metrics.sum("gateway_access_log_records_total") < 300, clock.now < deadline {
                try await Task.sleep(for: .milliseconds(100))
                metrics = try await observed.scrapeText().exposition
            }
            #expect(metrics.sum("gateway_access_log_records_total") == 300)
            #expect(metrics.sum("gateway_access_log_dropped_total") == 0)
            #expect(metrics.sum("gateway_access_log_bytes_total", ["stage": "formatted"]) > 0)
            // The logging thread has formatted and compressed 300 lines: its CPU time is measurable
            // but far below the wall time the gateway has run.
            let logThreadCPU = metrics.sum("gateway_access_log_thread_cpu_seconds_total")
            #expect(logThreadCPU > 0 && logThreadCPU < 5, "log thread CPU \(logThreadCPU) s")
            Self.checkCounters(metrics, sent: sent)
            Self.checkHistograms(metrics, sent: sent)

            let code = await observed.stopGateway()
            #expect(code == 0, "exit status \(String(describing: code)):\n\(observed.gateway.logTail)")
            let lines = try await observed.accessLogLines()
            try Self.checkAccessLog(lines, sent: sent, malformedID: malformed, upstreamPort: observed.upstream.port)

            let tail = try await Command.run(
                IntegrationEnvironment.gatewayBinary.path,
                ["logs", "tail", "-n", "5", observed.accessLogFile.path],
                in: observed.directory
            )
            #expect(tail.exitCode == 0, "gateway logs tail: \(tail.log)")
            let tailLines = tail.stdout.split(separator: "\n", omittingEmptySubsequences: true).map(String.init)
            #expect(tailLines == Array(lines.suffix(5)), "logs tail -n 5 printed:\n\(tail.stdout)")
        }
    }

    /// 299 requests through curl: proxied 200s (GET and POST), upstream 500s, the mock route, unmatched 404s.
    static func driveTraffic(_ observed: ObservedGateway) async throws -> [Sent] {
        let base = observed.gateway.url
        let directory = observed.directory
        func batch(_ count: Int, _ path: (Int) -> String, _ arguments: [String] = []) -> Task<[BatchTransfer], Error> {
            let urls = (0..<count).map { base + path($0) }
            return Task { try await CurlBatch.run(urls, arguments, in: directory) }
        }
        let gets = (0..<3).map { part in batch(83) { "/status/200?part=\(part)&n=\($0)" } }
        let posts = batch(20, { "/echo?n=\($0)" }, ["--data-binary", postBody, "-H", "Content-Type: text/plain"])
        let errors = batch(5) { "/status/500?n=\($0)" }
        let mocks = batch(15) { "/__demo?n=\($0)" }
        let unmatched = batch(10) { "/nowhere/\($0)" }

        var sent: [Sent] = []
        func collect(
            _ task: Task<[BatchTransfer], Error>,
            route: String,
            method: String,
            gatewayError: Bool = false
        )
            async throws
        {
            for transfer in try await task.value {
                let path = String(transfer.url.dropFirst(base.count))
                sent.append(
                    Sent(route: route, method: method, path: path, transfer: transfer, gatewayError: gatewayError)
                )
            }
        }
        for task in gets { try await collect(task, route: "api", method: "GET") }
        try await collect(posts, route: "api", method: "POST")
        try await collect(errors, route: "api", method: "GET")
        try await collect(mocks, route: "demo", method: "GET")
        try await collect(unmatched, route: "__unmatched__", method: "GET", gatewayError: true)

        for item in sent {
            let expected =
                item.path.hasPrefix("/status/500") ? 500 : item.route == "__unmatched__" ? 404 : 200
            #expect(item.transfer.status == expected, "\(item.method) \(item.path) answered \(item.transfer.status)")
        }
        return sent
    }

    /// A request with both Content-Length and Transfer-Encoding; returns its `X-Request-Id`, if any.
    static func sendMalformed(_ observed: ObservedGateway) async throws -> String? {
        let connection = try RawConnection(port: observed.gateway.port)
        defer { connection.close() }
        try await connection.send(smuggling)
        let response = try await connection.readResponse()
        #expect(response.status == 400)
        let requestID = response.header("X-Request-Id")
        #expect(requestID != nil, "the gateway's own 400 has no X-Request-Id")
        return requestID
    }

    static func checkCounters(_ metrics: MetricsExposition, sent: [Sent]) {
        var expected: [String: Double] = [:]
        for item in sent {
            expected["\(item.route) \(item.method) \(item.transfer.status)", default: 0] += 1
        }
        let family = "gateway_http_requests_total"
        for (key, count) in expected.sorted(by: { $0.key < $1.key }) {
            let parts = key.split(separator: " ").map(String.init)
            let value = metrics.value(family, ["route": parts[0], "method": parts[1], "code": parts[2]])
            #expect(value == count, "\(family){route=\(parts[0]),method=\(parts[1]),code=\(parts[2])}")
        }
        // The malformed request has no parsed method: only its route and code are fixed.
        #expect(metrics.sum(family, ["route": "__unmatched__", "code": "400"]) == 1)
        #expect(metrics.sum(family) == 300, "total requests counted")
        let unexpected = metrics.samples(family).filter { sample in
            sample.value != 0
                && expected[
                    "\(sample.labels["route"] ?? "") \(sample.labels["method"] ?? "") \(sample.labels["code"] ?? "")"
                ]
                    == nil
                && !(sample.labels["route"] == "__unmatched__" && sample.labels["code"] == "400")
        }
        #expect(unexpected.isEmpty, "series nobody sent: \(unexpected)")
        #expect(metrics.value("gateway_http_rejected_requests_total", ["reason": "cl_and_te"]) == 1)
        #expect(metrics.sum("gateway_http_rejected_requests_total") == 1)

        let proxied = Double(sent.filter { $0.route == "api" }.count)
        let opened = metrics.sum("gateway_upstream_connections_total", ["upstream": "backend", "event": "opened"])
        let reused = metrics.sum("gateway_upstream_connections_total", ["upstream": "backend", "event": "reused"])
        #expect(opened >= 1)
        #expect(opened + reused == proxied, "upstream connections opened \(opened) + reused \(reused)")
        #expect(metrics.sum("gateway_upstream_connections_total", ["event": "failed"]) == 0)
        let node = metrics.samples("gateway_upstream_connections_total", ["event": "opened"]).first?.labels["node"]
        #expect(node?.hasPrefix("127.0.0.1:") == true, "node label with node_labels: true: \(String(describing: node))")
        // 7 curl processes (each keeping its connection alive) and the raw connection.
        let connections = metrics.sum("gateway_downstream_connections_total")
        #expect(connections >= 8 && connections <= 300, "downstream connections \(connections)")
        #expect(metrics.samples("gateway_downstream_connections_total").count == 2, "one series per worker")
    }

    static func checkHistograms(_ metrics: MetricsExposition, sent: [Sent]) {
        let perRoute = Dictionary(grouping: sent, by: \.route).mapValues { Double($0.count) }
        let expectedCounts = perRoute.merging(["__unmatched__": perRoute["__unmatched__", default: 0] + 1]) { $1 }
        for (route, count) in expectedCounts.sorted(by: { $0.key < $1.key }) {
            let name = "gateway_http_request_duration_seconds"
            #expect(metrics.value("\(name)_count", ["route": route]) == count, "\(name)_count{route=\(route)}")
            #expect(metrics.value("\(name)_bucket", ["route": route, "le": "+Inf"]) == count)
            let sum = metrics.value("\(name)_sum", ["route": route]) ?? -1
            #expect(sum > 0 && sum < count * 1.0, "\(name)_sum{route=\(route)} = \(sum) for \(count) requests")
            let buckets = metrics.samples("\(name)_bucket", ["route": route]).map { $0.labels["le"] ?? "" }
            #expect(Set(buckets) == ["0.001", "0.005", "0.025", "0.1", "0.5", "1", "5", "+Inf"], "\(buckets)")
            #expect(metrics.value("gateway_http_request_size_bytes_count", ["route": route]) == count)
            #expect(metrics.value("gateway_http_response_size_bytes_count", ["route": route]) == count)
        }
        let proxied = perRoute["api", default: 0]
        let upstream = "gateway_upstream_request_duration_seconds"
        #expect(metrics.value("\(upstream)_count", ["route": "api", "upstream": "backend"]) == proxied)
        #expect(metrics.sum("\(upstream)_count") == proxied, "only proxied requests have an upstream duration")
        let upstreamSum = metrics.value("\(upstream)_sum", ["route": "api", "upstream": "backend"]) ?? -1
        let totalSum = metrics.value("gateway_http_request_duration_seconds_sum", ["route": "api"]) ?? -1
        #expect(upstreamSum > 0 && upstreamSum <= totalSum, "upstream time \(upstreamSum) vs total \(totalSum)")
        let bodies = Double(sent.filter { $0.route == "api" }.reduce(0) { $0 + $1.transfer.bodyBytes })
        let responseSum = metrics.value("gateway_http_response_size_bytes_sum", ["route": "api"]) ?? -1
        #expect(responseSum >= bodies, "response bytes \(responseSum) below the bodies sent \(bodies)")
    }

    static func checkAccessLog(_ lines: [String], sent: [Sent], malformedID: String?, upstreamPort: Int) throws {
        #expect(lines.count == 300, "access log has \(lines.count) lines for 300 requests")
        let byID = Dictionary(sent.map { ($0.transfer.requestID, $0) }, uniquingKeysWith: { first, _ in first })
        #expect(byID.count == sent.count, "X-Request-Id values are not unique or missing")
        #expect(!byID.keys.contains(""), "some responses had no X-Request-Id")
        var seen: Set<String> = []
        for line in lines {
            guard let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] else {
                Issue.record("access log line is not a JSON object: \(line)")
                continue
            }
            let requestID = object["request_id"] as? String ?? ""
            #expect(seen.insert(requestID).inserted, "request id \(requestID) logged twice")
            let status = object["status"] as? Int
            #expect(object["time"] is String, "time in \(line)")
            #expect((object["duration"] as? NSNumber)?.doubleValue ?? -1 >= 0, "duration in \(line)")
            if requestID == malformedID || (malformedID == nil && status == 400) {
                #expect(status == 400)
                #expect(object["error"] != nil, "the gateway's 400 has no error field: \(line)")
                continue
            }
            guard let item = byID[requestID] else {
                Issue.record("access log line with a request id nobody received: \(line)")
                continue
            }
            #expect(status == item.transfer.status, "status in \(line)")
            #expect(object["method"] as? String == item.method, "method in \(line)")
            #expect(object["path"] as? String == item.path, "path in \(line)")
            let bytesOut = object["bytes_out"] as? Int ?? -1
            #expect(
                bytesOut == item.transfer.bodyBytes + item.transfer.headerBytes,
                "bytes_out \(bytesOut), curl got head \(item.transfer.headerBytes) + body \(item.transfer.bodyBytes): \(line)"
            )
            let bytesIn = object["bytes_in"] as? Int ?? -1
            #expect(bytesIn > (item.method == "POST" ? postBody.utf8.count : 0), "bytes_in in \(line)")
            if item.route == "api" {
                #expect(object["route"] as? String == "api", "route in \(line)")
                #expect(object["upstream"] as? String == "127.0.0.1:\(upstreamPort)", "upstream in \(line)")
                #expect(object["upstream_status"] as? Int == item.transfer.status, "upstream_status in \(line)")
                let total = (object["duration"] as? NSNumber)?.doubleValue ?? -1
                let upstream = (object["upstream_duration"] as? NSNumber)?.doubleValue ?? -1
                #expect(upstream >= 0 && upstream <= total && total < 5, "durations in \(line)")
                #expect(object["error"] == nil, "error on a proxied response: \(line)")
            } else if item.route == "demo" {
                #expect(object["route"] as? String == "demo", "route in \(line)")
                #expect(object["upstream"] == nil, "a mock response names an upstream: \(line)")
            } else {
                #expect(object["error"] != nil, "the gateway's \(item.transfer.status) has no error field: \(line)")
                #expect(object["upstream"] == nil, "upstream on an unmatched request: \(line)")
            }
        }
        #expect(Set(byID.keys).subtracting(seen).isEmpty, "requests missing from the access log")
    }
}
