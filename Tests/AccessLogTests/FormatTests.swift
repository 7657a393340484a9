import AccessLog
import Foundation
import TestSupport
import Testing

@Suite struct FormatTests {
    static func lines(
        format: AccessLogFormat,
        fields: [AccessLogField] = AccessLogField.defaultFields()
    ) async throws -> [String] {
        let directory = try TemporaryDirectory()
        defer { directory.cleanup() }
        var configuration = testConfiguration(directory.path, fields: fields)
        configuration.format = format
        let logger = try AccessLogger(configuration: configuration)
        let ring = logger.makeRing()
        let route = try logger.register("api")
        let node = try logger.register("10.0.0.9:80")
        try logger.start()
        ring.push { record in
            record.time = 1_700_000_000_250_000_000  // 2023-11-14T22:13:20.250Z
            record.duration = 1_500_000
            record.method = .post
            record.status = 201
            record.bytesIn = 10
            record.bytesOut = 20
            record.client = ClientAddress(ipv4: (127, 0, 0, 1))
            record.route = route
            record.upstream = node
            record.upstreamStatus = 201
            record.upstreamDuration = 1_000_000
            record.setRequestID("abc")
            record.setPath("/a b\"c")
            record.setUserAgent("agent/1.0")
        }
        ring.push { record in
            record.time = 1_700_000_000_000_000_000
            record.status = 404
            record.setPath("/x\u{7}\u{FF}")
        }
        logger.shutdown()
        let (status, lines) = try await Command.zstdDecompress([directory.file("access.log.zst")])
        #expect(status == 0)
        return lines
    }

    @Test func combined() async throws {
        #expect(
            try await Self.lines(format: .combined) == [
                #"127.0.0.1 - - [14/Nov/2023:22:13:20 +0000] "POST /a b\x22c HTTP/1.1" 201 20 "-" "agent/1.0""#,
                #"- - - [14/Nov/2023:22:13:20 +0000] "GET /x\x07\xc3\xbf HTTP/1.1" 404 0 "-" """#,
            ]
        )
    }

    @Test func logfmt() async throws {
        #expect(
            try await Self.lines(format: .logfmt) == [
                #"time=2023-11-14T22:13:20.250Z request_id=abc client=127.0.0.1 method=POST path="/a b\"c" "#
                    + #"protocol=HTTP/1.1 status=201 bytes_in=10 bytes_out=20 duration=0.001500 upstream=10.0.0.9:80 "#
                    + #"upstream_status=201 upstream_duration=0.001000 route=api user_agent=agent/1.0"#,
                #"time=2023-11-14T22:13:20.000Z request_id="" client=- method=GET path="/x\u0007ÿ" "#
                    + #"protocol=HTTP/1.1 status=404 bytes_in=0 bytes_out=0 duration=0.000000 route="" user_agent="""#,
            ]
        )
    }

    @Test func jsonWithAChosenFieldSet() async throws {
        #expect(
            try await Self.lines(format: .json, fields: [.status, .path, .time]) == [
                #"{"status":201,"path":"/a b\"c","time":"2023-11-14T22:13:20.250Z"}"#,
                #"{"status":404,"path":"/x\u0007ÿ","time":"2023-11-14T22:13:20.000Z"}"#,
            ]
        )
    }

    @Test func tailConvertsBetweenFormats() {
        let json =
            #"{"time":"2023-11-14T22:13:20.250Z","client":"127.0.0.1","method":"GET","path":"/p","protocol":"HTTP/1.1","status":200,"bytes_out":5,"user_agent":"ua x"}"#
        let line = AccessLogLine(json)
        #expect(
            line.rendered(as: .combined)
                == #"127.0.0.1 - - [14/Nov/2023:22:13:20 +0000] "GET /p HTTP/1.1" 200 5 "-" "ua x""#
        )
        let logfmt = line.rendered(as: .logfmt)
        #expect(logfmt.hasSuffix(#"bytes_out=5 user_agent="ua x""#))
        let back = AccessLogLine(logfmt)
        #expect(back.matches(key: "status", expected: "200"))
        #expect(back.rendered(as: .json) == json)
        #expect(AccessLogLine("not a log line").rendered(as: .json) == "not a log line")
        #expect(AccessLogLine(#"{"broken":"#).fields.isEmpty)
    }
}

@Suite struct PlainOutputTests {
    @Test func plainFilesAreTextAndTailReadsThem() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.cleanup() }
        var configuration = testConfiguration(directory.path, fields: [.bytesOut])
        configuration.compression = .none
        let logger = try AccessLogger(configuration: configuration)
        let ring = logger.makeRing()
        try logger.start()
        RotationTests.pushAll(ring, 0..<30, route: .none)
        // Rotation is not ordered with records still in the ring: let the first 30 reach the file first.
        #expect(try await RotationTests.waitUntil { logger.stats().recordsWritten == 30 })
        logger.rotate()
        #expect(try await RotationTests.waitUntil { logger.stats().rotations == 1 })
        RotationTests.pushAll(ring, 30..<40, route: .none)
        logger.shutdown()
        let files = AccessLogFiles(directory: directory.path, suffix: ".log")
        #expect(files.rotatedPaths().count == 1)
        let text = try String(contentsOfFile: files.currentPath, encoding: .utf8)
        #expect(text == (30..<40).map { #"{"bytes_out":\#($0)}"# + "\n" }.joined())
        var lines: [String] = []
        try AccessLogTail(path: directory.path, options: AccessLogTailOptions(lines: 15)).run { lines.append($0) }
        #expect(lines == (25..<40).map { #"{"bytes_out":\#($0)}"# })
    }
}

@Suite struct StandardOutputTests {
    @Test(.enabled(if: gatewayBinary != nil, "gateway binary not built next to the test bundle; run `swift build`"))
    func standardOutputCarriesZstdFramesAndPlainText() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.cleanup() }
        let zstd = try await Command.run(gatewayBinary!, ["logs", "generate", "--count", "500", "--stdout"])
        #expect(zstd.exitCode == 0)
        try zstd.output.writeTestFile(to: URL(fileURLWithPath: directory.file("stdout.zst")))
        let (zstdStatus, lines) = try await Command.zstdDecompress([directory.file("stdout.zst")])
        #expect(zstdStatus == 0)
        #expect(lines.map { jsonObject($0)?["request_id"] as? String } == (0..<500).map { "gen-\($0)" })

        let plain = try await Command.run(gatewayBinary!, ["logs", "generate", "--count", "20", "--stdout", "--plain"])
        #expect(plain.exitCode == 0)
        let plainLines = plain.stdout.split(separator: "\n")
        #expect(plainLines.map { jsonObject(String($0))?["request_id"] as? String } == (0..<20).map { "gen-\($0)" })
    }
}
