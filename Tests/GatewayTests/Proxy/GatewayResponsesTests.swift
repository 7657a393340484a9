import Foundation
import Testing

@testable import Gateway

/// The gateway's own responses, checked with its response parser and a JSON decoder.
@Suite("Gateway-written responses")
struct GatewayResponsesTests {
    static func write(_ body: (inout HTTPHeadWriter) -> Void) -> [UInt8] {
        var storage = [UInt8](repeating: 0, count: 4096)
        return storage.withUnsafeMutableBytes { raw in
            var writer = HTTPHeadWriter(raw)
            body(&writer)
            #expect(!writer.overflowed)
            return Array(writer.written)
        }
    }

    static func withBytes<T>(_ text: String, _ body: (UnsafeRawBufferPointer) -> T) -> T {
        Array(text.utf8).withUnsafeBytes(body)
    }

    /// Parses `bytes` as one response and returns its status, headers and body.
    static func parse(_ bytes: [UInt8], method: HTTPMethod = .get) throws -> (Int, [String: String], [UInt8]) {
        let headers = HTTPHeaderIndex()
        let head = try #require(HTTPTest.responseHead(HTTPTest.parseResponse(bytes, method: method, headers: headers)))
        var fields: [String: String] = [:]
        for (name, value) in HTTPTest.fields(bytes, headers) { fields[name.lowercased()] = value }
        return (head.status, fields, Array(bytes[head.headLength...]))
    }

    @Test(arguments: [(404, false), (502, true), (503, true), (408, false)])
    func errorBodyIsJSONWithItsExactLength(status: Int, namesUpstream: Bool) throws {
        let bytes = Self.write { writer in
            Self.withBytes("0123456789abcdef0123456789abcdef") { id in
                Self.withBytes("pool-a") { name in
                    GatewayResponses.writeError(
                        status: status,
                        message: "no available node in upstream",
                        upstreamName: namesUpstream ? name : nil,
                        requestID: id,
                        close: status == 408,
                        includeBody: true,
                        into: &writer
                    )
                }
            }
        }
        let (parsed, fields, body) = try Self.parse(bytes)
        #expect(parsed == status)
        #expect(fields["content-type"] == "application/json")
        #expect(fields["content-length"] == String(body.count))
        #expect(fields["x-request-id"] == "0123456789abcdef0123456789abcdef")
        #expect((fields["connection"] == "close") == (status == 408))
        let json = try #require(try JSONSerialization.jsonObject(with: Data(body)) as? [String: Any])
        #expect(json["error"] as? String == "no available node in upstream")
        #expect(json["status"] as? Int == status)
        #expect(json["request_id"] as? String == "0123456789abcdef0123456789abcdef")
        #expect((json["upstream"] as? String) == (namesUpstream ? "pool-a" : nil))
    }

    static func error503(includeBody: Bool) -> [UInt8] {
        write { writer in
            withBytes("id1") {
                GatewayResponses.writeError(
                    status: 503,
                    message: "m",
                    upstreamName: nil,
                    requestID: $0,
                    close: false,
                    includeBody: includeBody,
                    into: &writer
                )
            }
        }
    }

    @Test func errorToAHeadRequestAnnouncesTheBodyWithoutSendingIt() throws {
        let full = Self.error503(includeBody: true)
        let headOnly = Self.error503(includeBody: false)
        let (_, fields, body) = try Self.parse(headOnly, method: .head)
        #expect(body.isEmpty)
        let (_, fullFields, fullBody) = try Self.parse(full)
        #expect(fields["content-length"] == fullFields["content-length"])
        #expect(fields["content-length"] == String(fullBody.count))
    }

    @Test(arguments: [UInt8(0), 1])
    func mockAnswersInTheClientsVersion(versionMinor: UInt8) throws {
        let head = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n"
        for close in [false, true] {
            let bytes = Self.write { writer in
                Self.withBytes(head) { head in
                    Self.withBytes("hi") { body in
                        Self.withBytes("req-7") { id in
                            GatewayResponses.writeMock(
                                head: head,
                                body: body,
                                versionMinor: versionMinor,
                                requestID: id,
                                close: close,
                                includeBody: true,
                                into: &writer
                            )
                        }
                    }
                }
            }
            let text = String(decoding: bytes, as: UTF8.self)
            #expect(text.hasPrefix(versionMinor == 0 ? "HTTP/1.0 200 OK\r\n" : "HTTP/1.1 200 OK\r\n"), "\(text)")
            let (status, fields, body) = try Self.parse(bytes)
            #expect(status == 200 && body == Array("hi".utf8))
            #expect(fields["x-request-id"] == "req-7")
            let connection = fields["connection"]
            #expect(connection == (close ? "close" : versionMinor == 0 ? "keep-alive" : nil))
        }
    }

    @Test func continueIsAComplete1xxHead() throws {
        let bytes = Self.write { GatewayResponses.writeContinue(into: &$0) }
        #expect(String(decoding: bytes, as: UTF8.self) == "HTTP/1.1 100 Continue\r\n\r\n")
        let head = try #require(HTTPTest.responseHead(HTTPTest.parseResponse(bytes)))
        #expect(head.isInformational && head.headLength == bytes.count)
    }
}
