import Glibc
import Testing

@testable import Gateway

/// The worker's connection logic under scripted events: the paths that real sockets reach only by
/// timing (a stale pooled connection, buffer starvation, interim responses, pipelining).
@Suite("Worker exchanges on scripted events")
struct WorkerExchangeTests {
    static let get = "GET /items HTTP/1.1\r\nHost: api\r\n\r\n"

    /// Proxies one GET over a new upstream connection and returns (client, upstream) descriptors,
    /// with the upstream connection parked in the pool and the client waiting for its next request.
    static func firstExchange(_ h: WorkerHarness) throws -> (client: Int32, upstream: Int32) {
        let client = h.connectClient()
        h.clientSends(get, on: client)
        let upstream = try h.upstreamConnects()
        let request = try h.sent(on: upstream)
        #expect(request.hasPrefix("GET /items HTTP/1.1\r\n"), "\(request)")
        h.executor.deliver(WorkerHarness.okResponse, to: upstream)
        h.turn()
        let response = try h.sent(on: client)
        #expect(response.hasPrefix("HTTP/1.1 200 OK\r\n") && response.hasSuffix("\r\n\r\nok"), "\(response)")
        #expect(h.executor.receives[upstream] != nil, "the pooled connection is not watched for a close")
        #expect(h.executor.receives[client] != nil, "the client is not read for its next request")
        return (client, upstream)
    }

    @Test("a pooled connection the upstream closed: the same request goes out again on a fresh one")
    func stalePooledConnectionIsResent() throws {
        let h = try WorkerHarness()
        let (client, stale) = try Self.firstExchange(h)
        h.clientSends(Self.get, on: client)
        let resent = try #require(h.executor.pendingSend(stale), "the second request did not reuse the pool")
        // The upstream had closed the idle connection: its watch receive reports end of stream.
        h.executor.endOfStream(stale)
        h.turn()
        #expect(h.executor.closed.contains(stale))
        let fresh = try h.upstreamConnects()
        #expect(fresh != stale)
        #expect(try h.sent(on: fresh) == resent, "the resent request differs")
        h.executor.deliver(WorkerHarness.okResponse, to: fresh)
        h.turn()
        #expect(try h.sent(on: client).hasPrefix("HTTP/1.1 200 OK"))
        // Not a retry to another node, and not a failure of the node.
        #expect(h.counter("gateway_upstream_retries_total", "upstream=\"backend\",reason=\"connect_failure\"") == 0)
        #expect(h.executor.buffersInUse == 0)
    }

    @Test("a send on a stale pooled connection fails: resent on a fresh connection")
    func stalePooledConnectionFailingTheSend() throws {
        let h = try WorkerHarness()
        let (client, stale) = try Self.firstExchange(h)
        h.clientSends(Self.get, on: client)
        h.executor.completeSend(stale, error: EPIPE)
        h.turn()
        let fresh = try h.upstreamConnects()
        #expect(try h.sent(on: fresh).hasPrefix("GET /items HTTP/1.1\r\n"))
        h.executor.deliver(WorkerHarness.okResponse, to: fresh)
        h.turn()
        #expect(try h.sent(on: client).hasPrefix("HTTP/1.1 200 OK"))
    }

    @Test("every receive buffer busy: the client's receive is posted again on the next turn, nothing fails")
    func bufferStarvation() throws {
        let h = try WorkerHarness()
        let client = h.connectClient()
        h.executor.starve(client)
        h.turn()
        #expect(h.executor.receives[client] != nil, "the starved receive was not posted again")
        #expect(!h.executor.closed.contains(client))
        h.clientSends(Self.get, on: client)
        #expect(h.executor.opened.count == 1, "the request did not go upstream after the starvation")
    }

    @Test("a pool with no free buffer: the receive reports ENOBUFS and is posted again until one is free")
    func starvationByAnExhaustedPool() throws {
        let h = try WorkerHarness(buffers: 1)
        let first = h.connectClient()
        let second = h.connectClient()
        h.clientSends(Self.get, on: first)
        let upstream = try h.upstreamConnects()
        try h.sent(on: upstream)
        h.executor.deliver("HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nok", to: upstream)
        h.turn()
        #expect(try h.sent(on: first).hasSuffix("\r\n\r\nok"))
        // Later body bytes are forwarded from the receive buffer itself, held until the client has them.
        h.executor.deliver("ab", to: upstream)
        h.turn()
        #expect(h.executor.pendingSend(first) == "ab")
        #expect(h.executor.buffersInUse == 1)
        h.executor.deliver(Self.get, to: second)  // the only buffer is taken: ENOBUFS
        h.turn()
        #expect(h.executor.receives[second] != nil, "the starved receive was not posted again")
        #expect(!h.executor.closed.contains(second))
        try h.sent(on: first)
        #expect(h.executor.buffersInUse == 0)
        h.clientSends(Self.get, on: second)
        #expect(h.executor.pendingSend(upstream)?.hasPrefix("GET /items ") == true, "the second client was not served")
    }

    @Test("1xx interim responses are skipped, alone in a buffer or in front of the final response")
    func interimResponsesAreSkipped() throws {
        let h = try WorkerHarness()
        let client = h.connectClient()
        h.clientSends(Self.get, on: client)
        let upstream = try h.upstreamConnects()
        try h.sent(on: upstream)
        h.executor.deliver("HTTP/1.1 100 Continue\r\n\r\n", to: upstream)
        h.turn()
        #expect(h.executor.sends[client] == nil, "the 100 was forwarded")
        h.executor.deliver(
            "HTTP/1.1 103 Early Hints\r\nLink: </a.css>\r\n\r\n" + WorkerHarness.okResponse,
            to: upstream
        )
        h.turn()
        let response = try h.sent(on: client)
        #expect(response.hasPrefix("HTTP/1.1 200 OK\r\n"), "\(response)")
        #expect(!response.contains("103") && !response.contains("Early Hints"))
        #expect(h.executor.buffersInUse == 0)
    }

    @Test("pipelined requests behind a slow upstream: the second waits for the first response, answers stay in order")
    func pipeliningBehindASlowUpstream() throws {
        let h = try WorkerHarness()
        let client = h.connectClient()
        h.clientSends(Self.get + "GET /second HTTP/1.1\r\nHost: api\r\n\r\n", on: client)
        let upstream = try h.upstreamConnects()
        #expect(try h.sent(on: upstream).hasPrefix("GET /items "))
        // The upstream is slow: nothing else goes to it, and nothing goes back to the client.
        h.wait(1)
        #expect(h.executor.sends[upstream] == nil, "the second request went out before the first answer")
        #expect(h.executor.sends[client] == nil)
        h.executor.deliver(WorkerHarness.okResponse, to: upstream)
        h.turn()
        #expect(try h.sent(on: client).hasSuffix("ok"))
        // The first exchange is over: the second request goes out on the pooled connection.
        #expect(try h.sent(on: upstream).hasPrefix("GET /second "))
        h.executor.deliver("HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\ntwo", to: upstream)
        h.turn()
        #expect(try h.sent(on: client).hasSuffix("two"))
        #expect(h.executor.opened.count == 1)
    }

    @Test("a client closing mid-body closes the upstream connection and frees every buffer")
    func clientClosesMidBody() throws {
        let h = try WorkerHarness()
        let client = h.connectClient()
        h.clientSends("POST /upload HTTP/1.1\r\nHost: api\r\nContent-Length: 10\r\n\r\nabcd", on: client)
        let upstream = try h.upstreamConnects()
        #expect(try h.sent(on: upstream).hasSuffix("\r\n\r\nabcd"))
        #expect(h.executor.receives[client] != nil, "the rest of the body is not read")
        h.executor.endOfStream(client)
        h.turn()
        #expect(h.executor.closed.contains(client))
        #expect(h.executor.closed.contains(upstream), "the upstream connection outlived its client")
        #expect(h.executor.buffersInUse == 0)
        #expect(h.executor.sends[client] == nil)
    }

    @Test("Expect: 100-continue gets the gateway's own 100 before the body is read")
    func expectContinue() throws {
        let h = try WorkerHarness()
        let client = h.connectClient()
        h.clientSends(
            "POST /upload HTTP/1.1\r\nHost: api\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n",
            on: client
        )
        #expect(try h.sent(on: client) == "HTTP/1.1 100 Continue\r\n\r\n")
        let upstream = try h.upstreamConnects()
        let head = try h.sent(on: upstream)
        #expect(head.hasPrefix("POST /upload HTTP/1.1\r\n"))
        #expect(!head.lowercased().contains("expect:"), "Expect was forwarded: \(head)")
        h.clientSends("hello", on: client)
        #expect(try h.sent(on: upstream) == "hello")
        h.executor.deliver(WorkerHarness.okResponse, to: upstream)
        h.turn()
        #expect(try h.sent(on: client).hasPrefix("HTTP/1.1 200 OK"))
    }
}
