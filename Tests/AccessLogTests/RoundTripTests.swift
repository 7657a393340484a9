import AccessLog
import Foundation
import TestSupport
import Testing

@Suite struct RoundTripTests {
    /// Records covering every field, escaping, truncation and absent optional fields.
    static func writeRecords(into logger: AccessLogger, count: Int) throws {
        let ring = logger.makeRing()
        let route = try logger.register("orders-api")
        let node = try logger.register("10.1.2.3:8080")
        let timeout = try logger.register("upstream_timeout")
        let consumer = try logger.register("jack \"the\" consumer")
        let keyAuth = try logger.register("key-auth")
        let tierName = try logger.register("ratelimit_tier")
        let tierValue = try logger.register("gold")
        var v6 = in6_addr()
        inet_pton(AF_INET6, "2001:db8::42", &v6)
        for index in 0..<count {
            var record = AccessRecord()
            record.time = 1_700_000_000_000_000_000 + Int64(index) * 1_234_000_000
            record.duration = Int64(index) * 1_000 + 5_000_000
            record.bytesIn = UInt64(index * 3)
            record.bytesOut = UInt64(index * 7)
            record.method = index % 2 == 0 ? .get : .post
            record.httpVersion = .http1_1
            record.setRequestID("req-\(index)")
            record.route = route
            record.setUserAgent("curl/8.5 \"quoted\" \\ tab\there ünï")
            switch index % 3 {
            case 0:
                record.status = 200
                record.upstream = node
                record.upstreamStatus = 200
                record.upstreamDuration = 4_000_000
                record.client = ClientAddress(ipv4: (192, 168, 1, UInt8(index % 256)))
                record.setPath("/orders/\(index)?q=a%20b")
                record.consumer = consumer
                record.pluginFieldName = tierName
                record.pluginFieldValue = tierValue
            case 1:
                record.status = 504
                record.error = timeout
                record.upstream = node
                record.client = ClientAddress(v6)
                record.setPath("/ctl\u{1}\n/\(index)")
                record.rejectedBy = keyAuth
                // A name without a value is not written.
                record.pluginFieldName = tierName
            default:
                record.status = 404
                record.route = .none
                record.setPath("/" + String(repeating: "é", count: 200) + "/\(index)")
            }
            #expect(ring.push(record))
        }
    }

    static func checkJSONLines(_ lines: [String], count: Int) {
        #expect(lines.count == count)
        for (index, line) in lines.enumerated() {
            guard let object = jsonObject(line) else {
                Issue.record("line \(index) is not valid JSON: \(line)")
                continue
            }
            #expect(object["request_id"] as? String == "req-\(index)")
            #expect((object["bytes_in"] as? NSNumber)?.intValue == index * 3)
            #expect((object["bytes_out"] as? NSNumber)?.intValue == index * 7)
            #expect(object["method"] as? String == (index % 2 == 0 ? "GET" : "POST"))
            #expect(object["protocol"] as? String == "HTTP/1.1")
            #expect(object["user_agent"] as? String == "curl/8.5 \"quoted\" \\ tab\there ünï")
            let expectedDuration = Double(index * 1_000 + 5_000_000) / 1e9
            #expect(abs(((object["duration"] as? NSNumber)?.doubleValue ?? -1) - expectedDuration) < 1e-6)
            // 1_700_000_000 s is 2023-11-14T22:13:20Z; each record adds 1.234 s.
            let milliseconds = Int64(index) * 1234
            let seconds = 1_700_000_000 + milliseconds / 1000
            let date = Date(timeIntervalSince1970: TimeInterval(seconds))
            let formatter = ISO8601DateFormatter()
            formatter.timeZone = TimeZone(identifier: "UTC")
            let expectedTime =
                formatter.string(from: date).dropLast() + "." + String(format: "%03d", milliseconds % 1000) + "Z"
            #expect(object["time"] as? String == String(expectedTime))
            switch index % 3 {
            case 0:
                #expect((object["status"] as? NSNumber)?.intValue == 200)
                #expect(object["route"] as? String == "orders-api")
                #expect(object["upstream"] as? String == "10.1.2.3:8080")
                #expect((object["upstream_status"] as? NSNumber)?.intValue == 200)
                #expect((object["upstream_duration"] as? NSNumber)?.doubleValue == 0.004)
                #expect(object["client"] as? String == "192.168.1.\(index % 256)")
                #expect(object["path"] as? String == "/orders/\(index)?q=a%20b")
                #expect(object["error"] == nil)
                #expect(object["consumer"] as? String == "jack \"the\" consumer")
                #expect(object["rejected_by"] == nil)
                #expect(object["ratelimit_tier"] as? String == "gold")
            case 1:
                #expect((object["status"] as? NSNumber)?.intValue == 504)
                #expect(object["error"] as? String == "upstream_timeout")
                #expect(object["upstream_status"] == nil)
                #expect(object["upstream_duration"] == nil)
                #expect(object["client"] as? String == "2001:db8::42")
                #expect(object["path"] as? String == "/ctl\u{1}\n/\(index)")
                #expect(object["rejected_by"] as? String == "key-auth")
                #expect(object["consumer"] == nil)
                #expect(object["ratelimit_tier"] == nil)
            default:
                #expect((object["status"] as? NSNumber)?.intValue == 404)
                #expect(object["route"] as? String == "")
                #expect(object["upstream"] == nil)
                #expect(object["consumer"] == nil)
                #expect(object["rejected_by"] == nil)
                #expect(object["ratelimit_tier"] == nil)
                let path = object["path"] as? String ?? ""
                #expect(path.utf8.count <= AccessRecord.pathCapacity)
                #expect(path.hasSuffix("é…"))
                #expect(path.hasPrefix("/éé"))
            }
        }
    }

    @Test func recordsRoundTripThroughTheZstdCLI() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.cleanup() }
        let logger = try AccessLogger(configuration: testConfiguration(directory.path))
        try logger.start()
        try Self.writeRecords(into: logger, count: 3000)
        logger.shutdown()
        let (status, lines) = try await Command.zstdDecompress([directory.file("access.log.zst")])
        #expect(status == 0)
        Self.checkJSONLines(lines, count: 3000)
        let stats = logger.stats()
        #expect(stats.recordsWritten == 3000)
        #expect(stats.recordsDropped == 0)
        #expect(stats.frames >= 1)
        #expect(stats.bytesUncompressed > stats.bytesWritten * 4)
        let size = (try FileManager.default.attributesOfItem(atPath: directory.file("access.log.zst"))[.size] as? Int)
        // The file also starts with an empty frame (about 9 bytes) so that it decodes before any line.
        #expect(UInt64(size ?? 0) > stats.bytesWritten && UInt64(size ?? 0) < stats.bytesWritten + 32)
    }

    @Test(.enabled(if: gatewayBinary != nil, "gateway binary not built next to the test bundle; run `swift build`"))
    func recordsRoundTripThroughGatewayLogsTail() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.cleanup() }
        let logger = try AccessLogger(configuration: testConfiguration(directory.path))
        try logger.start()
        try Self.writeRecords(into: logger, count: 1500)
        logger.shutdown()
        let all = try await Command.run(gatewayBinary!, ["logs", "tail", "-n", "1500", directory.path])
        #expect(all.exitCode == 0)
        let lines = all.stdout.split(separator: "\n").map(String.init)
        Self.checkJSONLines(lines, count: 1500)
        // -n keeps the end; --where filters by value.
        let tail = try await Command.run(
            gatewayBinary!,
            ["logs", "tail", "-n", "2", "--where", "status=504", directory.path]
        )
        let filtered = tail.stdout.split(separator: "\n").map { jsonObject(String($0)) }
        #expect(filtered.map { $0?["request_id"] as? String } == ["req-1495", "req-1498"])
        // The plugin fields filter like any other.
        let rejected = try await Command.run(
            gatewayBinary!,
            ["logs", "tail", "-n", "2", "--where", "rejected_by=key-auth", directory.path]
        )
        let rejectedIDs = rejected.stdout.split(separator: "\n").map {
            jsonObject(String($0))?["request_id"] as? String
        }
        #expect(rejectedIDs == ["req-1495", "req-1498"])
        let gold = try await Command.run(
            gatewayBinary!,
            ["logs", "tail", "-n", "1", "--where", "ratelimit_tier=gold", "--format", "logfmt", directory.path]
        )
        #expect(gold.stdout.contains(#"consumer="jack \"the\" consumer" ratelimit_tier=gold"#))
        #expect(gold.stdout.contains("request_id=req-1497 "))
    }

    @Test func emptyLogHasNoFramesAndDecodes() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.cleanup() }
        let logger = try AccessLogger(configuration: testConfiguration(directory.path))
        try logger.start()
        logger.shutdown()
        let (status, lines) = try await Command.zstdDecompress([directory.file("access.log.zst")])
        #expect(status == 0)
        #expect(lines.isEmpty)
        #expect(logger.stats().frames == 0)
    }

    @Test func badConfigurationIsAClearError() {
        var configuration = testConfiguration("/tmp")
        configuration.compression = .zstd(level: 40)
        #expect(throws: AccessLogError.self) { try AccessLogger(configuration: configuration) }
        let unwritable = testConfiguration("/proc/no-such-dir/logs")
        #expect(throws: AccessLogError.self) { try AccessLogger(configuration: unwritable) }
    }
}

@Suite struct SymbolRegistrationTests {
    /// Symbols registered while the logger runs (new routes, new nodes) appear in the very next lines,
    /// even when the logging thread took its view of the table just before.
    @Test func symbolsRegisteredWhileRunningAreNamedInTheirLines() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.cleanup() }
        let logger = try AccessLogger(configuration: testConfiguration(directory.path, ringCapacity: 8192))
        let ring = logger.makeRing()
        try logger.start()
        let count = 4000
        for index in 0..<count {
            let node = try logger.register("10.9.\(index / 250).\(index % 250):80")
            #expect(
                ring.push { record in
                    record.status = 200
                    record.upstream = node
                    record.setRequestID("r\(index)")
                }
            )
        }
        logger.shutdown()
        let (status, lines) = try await Command.zstdDecompress([directory.file("access.log.zst")])
        #expect(status == 0)
        #expect(lines.count == count)
        var unnamed = 0
        for (index, line) in lines.enumerated()
        where jsonObject(line)?["upstream"] as? String != "10.9.\(index / 250).\(index % 250):80" {
            unnamed += 1
        }
        #expect(unnamed == 0, "\(unnamed) of \(count) lines lost their upstream name")
    }
}
