import Foundation
import TestSupport
import Testing

/// Chunked bodies both ways, trailers, Expect: 100-continue.
@Suite("Integration: streaming bodies")
struct StreamingIntegrationTests {
    @Test("chunked upload from curl arrives whole")
    func chunkedUpload() async throws {
        try await withProxy("chunked-up") { gateway, _, directory in
            let file = directory.appendingPathComponent("payload")
            try Data(Pattern.bytes(size: 1_000_003)).writeTestFile(to: file)
            let result = try await Curl.run(
                "\(gateway.url)/upload",
                ["-X", "POST", "-H", "Transfer-Encoding: chunked", "-T", "-"],
                in: directory,
                stdinFile: file
            )
            #expect(result.status == 200)
            let json = try result.jsonObject()
            #expect(json["bytes"] as? Int == 1_000_003)
            #expect(try await json["sha256"] as? String == Pattern.sha256(file: file))
        }
    }

    @Test("chunked upload with extensions and trailers from a raw client")
    func rawChunkedUpload() async throws {
        try await withProxy("chunked-raw") { gateway, _, _ in
            let connection = try RawConnection(port: gateway.port)
            try await connection.send(
                "POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
                    + "5;ext=1\r\nhello\r\n1\r\n \r\nA\r\n0123456789\r\n0\r\nX-Trailer: t\r\n\r\n"
            )
            let response = try await connection.readResponse()
            #expect(response.status == 200)
            #expect(response.bodyString == "hello 0123456789")
        }
    }

    @Test("chunked download keeps its trailers")
    func chunkedDownload() async throws {
        try await withProxy("chunked-down") { gateway, _, _ in
            let connection = try RawConnection(port: gateway.port)
            try await connection.send("GET /chunked?chunks=7&size=5000 HTTP/1.1\r\nHost: t\r\nTE: trailers\r\n\r\n")
            let response = try await connection.readResponse()
            #expect(response.status == 200)
            #expect(response.framing == "chunked")
            #expect(response.body.count == 35000)
            let expected = try await Pattern.sha256(
                Array(repeating: Pattern.bytes(size: 5000), count: 7).flatMap { $0 }
            )
            #expect(try await Pattern.sha256(response.body) == expected)
            #expect(response.trailers.map(\.name) == ["X-Checksum"])
            #expect(response.trailers.first?.value == expected)
            // The connection remains usable after the trailer section.
            try await connection.send("GET /status/202 HTTP/1.1\r\nHost: t\r\n\r\n")
            #expect(try await connection.readResponse().status == 202)
        }
    }

    @Test("curl decodes a chunked download")
    func curlChunkedDownload() async throws {
        try await withProxy("chunked-curl") { gateway, _, directory in
            let result = try await Curl.run("\(gateway.url)/chunked?chunks=100&size=10000", in: directory)
            #expect(result.exitCode == 0)
            #expect(result.status == 200)
            #expect(result.body.count == 1_000_000)
        }
    }

    @Test("curl's 2 MB POST with Expect: 100-continue gets 100 then 200")
    func expectContinueCurl() async throws {
        try await withProxy("expect-curl") { gateway, _, directory in
            let file = directory.appendingPathComponent("payload")
            try Data(Pattern.bytes(size: 2 * 1024 * 1024)).writeTestFile(to: file)
            let result = try await Curl.run(
                "\(gateway.url)/upload",
                ["--data-binary", "@\(file.path)", "--expect100-timeout", "10"],
                in: directory
            )
            #expect(result.status == 200)
            #expect(result.heads.map(\.statusLine).first?.hasPrefix("HTTP/1.1 100") == true)
            let json = try result.jsonObject()
            #expect(json["bytes"] as? Int == 2 * 1024 * 1024)
            #expect(try await json["sha256"] as? String == Pattern.sha256(file: file))
            // curl waited for the 100, not for its timeout.
            #expect(result.seconds < 5)
        }
    }

    @Test("Expect: 100-continue from a raw client: 100 arrives before the body is sent")
    func expectContinueRaw() async throws {
        try await withProxy("expect-raw") { gateway, _, _ in
            let connection = try RawConnection(port: gateway.port)
            try await connection.send(
                "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 10\r\nExpect: 100-continue\r\n\r\n"
            )
            let interim = try await connection.readResponse(timeout: .seconds(3))
            #expect(interim.status == 100)
            try await connection.send("0123456789")
            let final = try await connection.readResponse()
            #expect(final.status == 200)
            #expect(final.bodyString == "0123456789")
        }
    }
}

/// Interim responses from the upstream.
@Suite("Integration: 1xx from the upstream")
struct InterimResponseIntegrationTests {
    @Test("a 103 from the upstream does not break the final response or the connection")
    func earlyHints() async throws {
        try await withProxy("early") { gateway, _, _ in
            let connection = try RawConnection(port: gateway.port)
            try await connection.send("GET /early HTTP/1.1\r\nHost: t\r\n\r\n")
            var response = try await connection.readResponse()
            if response.status == 103 {
                #expect(response.header("Link") == "</style.css>; rel=preload")
                response = try await connection.readResponse()
            }
            #expect(response.status == 200)
            #expect(response.bodyString == "after hints")
            try await connection.send("GET /status/200 HTTP/1.1\r\nHost: t\r\n\r\n")
            #expect(try await connection.readResponse().status == 200)
        }
    }
}
