import Foundation
import Testing

/// Requests the gateway ends itself after a timeout: counted by kind, by status, and logged with an error.
@Suite("Integration: timeout metrics")
struct TimeoutMetricsIntegrationTests {
    @Test("an upstream read timeout and a client header timeout are counted, answered and logged")
    func timeoutsAreMeasured() async throws {
        var settings = ObservabilitySettings()
        settings.base.readTimeout = 0.5
        settings.base.headerTimeout = 0.5
        try await withObservedGateway("timeouts", settings) { observed in
            let hung = try await Curl.run(observed.gateway.url + "/hang", in: observed.directory)
            #expect(hung.status == 504, "GET /hang with read timeout 0.5 s: \(hung.status)")
            let requestID = hung.header("X-Request-Id")

            // Half a request head, then silence until the header timeout.
            let slow = try RawConnection(port: observed.gateway.port)
            try await slow.send("GET /status/200 HTTP/1.1\r\nHost: t\r\n")
            let answer = try await slow.readResponse(timeout: .seconds(5))
            #expect(answer.status == 408, "header timeout answered \(answer.status)")
            slow.close()

            let (_, metrics) = try await observed.scrapeText()
            #expect(metrics.value("gateway_timeouts_total", ["kind": "upstream_read"]) == 1)
            #expect(metrics.value("gateway_timeouts_total", ["kind": "client_header"]) == 1)
            #expect(metrics.sum("gateway_timeouts_total") == 2, "\(metrics.samples("gateway_timeouts_total"))")
            #expect(
                metrics.value("gateway_http_requests_total", ["route": "api", "method": "GET", "code": "504"]) == 1
            )
            #expect(metrics.sum("gateway_http_requests_total", ["code": "408"]) == 1)

            #expect(await observed.stopGateway() == 0)
            let lines = try await observed.accessLogLines()
            #expect(lines.count == 2, "access log:\n\(lines.joined(separator: "\n"))")
            let objects = lines.compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
            let timedOut = objects.first { $0["request_id"] as? String == requestID }
            #expect(timedOut?["status"] as? Int == 504, "no 504 line for \(String(describing: requestID))")
            #expect(timedOut?["error"] != nil, "the gateway's 504 has no error field")
            #expect(timedOut?["route"] as? String == "api")
            let headerTimeout = objects.first { $0["status"] as? Int == 408 }
            #expect(headerTimeout?["error"] != nil, "the gateway's 408 has no error field: \(lines)")
        }
    }
}
