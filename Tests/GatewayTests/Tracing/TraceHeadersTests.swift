import Foundation
import Testing

@testable import Gateway

/// The gateway's `traceparent` replaces the caller's in the upstream request, and its error bodies carry
/// the trace id.
@Suite struct TraceHeadersTests {
    static let ours = "00-0af7651916cd43dd8448eb211c80319c-00f067aa0ba902b7-01"

    /// The upstream head for `raw`, with the gateway's traceparent when `traceparent` is set, and where
    /// its value was written.
    static func upstreamHead(_ raw: String, traceparent: String?, dropTraceState: Bool = false) throws -> (String, Int)
    {
        let bytes = HTTPTest.bytes(raw)
        let headers = HTTPHeaderIndex()
        let head = try #require(HTTPTest.requestHead(HTTPTest.parseRequest(bytes, headers: headers)))
        var output = [UInt8](repeating: 0, count: 4096)
        var offset = -2
        let text = bytes.withUnsafeBytes { source in
            output.withUnsafeMutableBytes { out in
                var writer = HTTPHeadWriter(out)
                let client = Array("192.0.2.7".utf8)
                let id = Array("req-1".utf8)
                let value = traceparent.map { Array($0.utf8) } ?? []
                let ok = client.withUnsafeBytes { clientAddress in
                    id.withUnsafeBytes { requestID in
                        value.withUnsafeBytes { trace in
                            HTTPProxyHeads.writeUpstreamRequest(
                                head: head,
                                source: source,
                                headers: headers,
                                hostOverride: nil,
                                clientAddress: clientAddress,
                                proto: "http",
                                requestID: requestID,
                                edits: .none,
                                traceparent: traceparent == nil ? nil : trace,
                                dropTraceState: dropTraceState,
                                traceparentOffset: &offset,
                                into: &writer
                            )
                        }
                    }
                }
                #expect(ok)
                return String(decoding: writer.written, as: UTF8.self)
            }
        }
        return (text, offset)
    }

    @Test func theGatewaysTraceparentReplacesTheCallersAndTracestatePassesThrough() throws {
        let raw =
            "GET /a HTTP/1.1\r\nHost: h\r\ntraceparent: 00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01\r\n"
            + "tracestate: vendor=1\r\n\r\n"
        let (text, offset) = try Self.upstreamHead(raw, traceparent: Self.ours)
        #expect(text.components(separatedBy: "traceparent:").count == 2, "\(text)")
        #expect(text.contains("traceparent: \(Self.ours)\r\n") && text.contains("tracestate: vendor=1\r\n"))
        let bytes = Array(text.utf8)
        #expect(String(decoding: bytes[offset..<offset + 55], as: UTF8.self) == Self.ours)

        let (dropped, _) = try Self.upstreamHead(raw, traceparent: Self.ours, dropTraceState: true)
        #expect(!dropped.contains("tracestate"))
    }

    @Test func withoutATraceBothHeadersPassUntouched() throws {
        let raw = "GET /a HTTP/1.1\r\nHost: h\r\ntraceparent: not-valid\r\ntracestate: a=b\r\n\r\n"
        let (text, offset) = try Self.upstreamHead(raw, traceparent: nil)
        #expect(offset == -1)
        #expect(text.contains("traceparent: not-valid\r\n") && text.contains("tracestate: a=b\r\n"))
    }

    @Test func aRequestWithTwoTraceparentsHasNone() throws {
        let headers = HTTPHeaderIndex()
        let one = HTTPTest.bytes(
            "GET / HTTP/1.1\r\nHost: h\r\ntraceparent: 00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01\r\n\r\n"
        )
        let head = try #require(HTTPTest.requestHead(HTTPTest.parseRequest(one, headers: headers)))
        #expect(head.traceparent != nil && head.traceparentSent)
        let two = HTTPTest.bytes(
            "GET / HTTP/1.1\r\nHost: h\r\nTraceparent: 00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01\r\n"
                + "traceparent: 00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203332-01\r\n\r\n"
        )
        let twice = try #require(HTTPTest.requestHead(HTTPTest.parseRequest(two, headers: headers)))
        #expect(twice.traceparent == nil && twice.traceparentSent)
    }

    @Test func errorBodiesCarryTheTraceID() throws {
        let trace = "0af7651916cd43dd8448eb211c80319c"
        let bytes = GatewayResponsesTests.write { writer in
            GatewayResponsesTests.withBytes("req-9") { id in
                GatewayResponsesTests.withBytes(trace) { traceID in
                    GatewayResponses.writeError(
                        status: 502,
                        message: "upstream connect failed",
                        upstreamName: nil,
                        requestID: id,
                        traceID: traceID,
                        close: false,
                        includeBody: true,
                        into: &writer
                    )
                }
            }
        }
        let (_, fields, body) = try GatewayResponsesTests.parse(bytes)
        #expect(fields["content-length"] == String(body.count))
        let json = try #require(try JSONSerialization.jsonObject(with: Data(body)) as? [String: Any])
        #expect(json["trace_id"] as? String == trace && json["request_id"] as? String == "req-9")

        let rejection = GatewayResponsesTests.write { writer in
            GatewayResponsesTests.withBytes("Missing API key in request") { message in
                GatewayResponsesTests.withBytes("req-9") { id in
                    GatewayResponsesTests.withBytes(trace) { traceID in
                        GatewayResponses.writePluginRejection(
                            status: 401,
                            message: message,
                            requestID: id,
                            traceID: traceID,
                            versionMinor: 1,
                            close: false,
                            includeBody: true,
                            edits: .none,
                            into: &writer
                        )
                    }
                }
            }
        }
        let (_, rejectionFields, rejectionBody) = try GatewayResponsesTests.parse(rejection)
        #expect(rejectionFields["content-length"] == String(rejectionBody.count))
        let rejected = try #require(try JSONSerialization.jsonObject(with: Data(rejectionBody)) as? [String: Any])
        #expect(
            rejected["trace_id"] as? String == trace && rejected["message"] as? String == "Missing API key in request"
        )
    }
}
