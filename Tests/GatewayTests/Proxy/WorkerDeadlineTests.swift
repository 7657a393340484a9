import Glibc
import Testing

@testable import Gateway

/// Each kind of deadline on a manual clock: what fires, when, and what the client and upstream see.
@Suite("Worker deadlines on a manual clock")
struct WorkerDeadlineTests {
    static let get = "GET /items HTTP/1.1\r\nHost: api\r\n\r\n"
    static let demo = "GET /__demo HTTP/1.1\r\nHost: api\r\n\r\n"

    /// A client sends the head of a 10-byte upload with `Expect: 100-continue`; the head goes upstream.
    static func uploadWithContinue(_ h: WorkerHarness) throws -> (client: Int32, upstream: Int32) {
        let client = h.connectClient()
        h.clientSends(
            "POST /upload HTTP/1.1\r\nHost: api\r\nContent-Length: 10\r\nExpect: 100-continue\r\n\r\n",
            on: client
        )
        let upstream = try h.upstreamConnects()
        try h.sent(on: upstream)
        return (client, upstream)
    }

    @Test("header: a partial head gets 408 after header_timeout; a silent connection is just closed")
    func headerTimeout() throws {
        let h = try WorkerHarness()
        let partial = h.connectClient()
        let silent = h.connectClient()
        h.clientSends("GET /items HTTP/1.1\r\nHo", on: partial)
        h.wait(0.9)
        #expect(h.executor.sends[partial] == nil && !h.executor.closed.contains(silent))
        h.wait(0.2)
        let response = try #require(h.executor.pendingSend(partial))
        #expect(response.hasPrefix("HTTP/1.1 408 Request Timeout\r\n"), "\(response)")
        #expect(response.contains("\"error\":\"timed out reading the request head\""))
        #expect(response.contains("Connection: close"))
        #expect(h.executor.closed.contains(silent))
        #expect(h.executor.sends[silent] == nil, "a connection that sent nothing got a response")
        #expect(h.timeouts("client_header") == 1)
    }

    @Test("keep-alive: an idle connection closes after keepalive_timeout; a new request's head gets header_timeout")
    func keepAliveTimeout() throws {
        let h = try WorkerHarness()
        let client = h.connectClient()
        h.clientSends(Self.demo, on: client)
        #expect(try h.sent(on: client).hasSuffix("hi"))
        h.wait(4.9)
        #expect(!h.executor.closed.contains(client))
        // The first byte of the next request switches to the head deadline (1 s), not the idle one.
        h.clientSends("GET /__de", on: client)
        h.wait(1.1)
        #expect(h.executor.pendingSend(client)?.hasPrefix("HTTP/1.1 408") == true)

        let idle = h.connectClient()
        h.clientSends(Self.demo, on: idle)
        try h.sent(on: idle)
        h.wait(5.1)
        #expect(h.executor.closed.contains(idle))
    }

    @Test("body: no more request body within body_timeout gives 408 and closes the upstream connection")
    func bodyTimeout() throws {
        let h = try WorkerHarness()
        let client = h.connectClient()
        h.clientSends("POST /upload HTTP/1.1\r\nHost: api\r\nContent-Length: 10\r\n\r\nabc", on: client)
        let upstream = try h.upstreamConnects()
        try h.sent(on: upstream)
        h.wait(2.9)
        #expect(h.executor.sends[client] == nil)
        h.wait(0.2)
        #expect(h.executor.pendingSend(client)?.hasPrefix("HTTP/1.1 408 Request Timeout") == true)
        #expect(h.executor.closed.contains(upstream))
        #expect(h.timeouts("client_body") == 1)
    }

    @Test("body after 100 Continue: sending the interim response does not cancel body_timeout")
    func bodyTimeoutAfterContinue() throws {
        // A read timeout longer than the body timeout, so only the body deadline can answer in time.
        let h = try WorkerHarness(yaml: WorkerHarness.yaml.replacingOccurrences(of: "read: 3", with: "read: 10"))
        let (client, upstream) = try Self.uploadWithContinue(h)
        // The interim response goes out after the gateway started waiting for the body.
        #expect(try h.sent(on: client).hasPrefix("HTTP/1.1 100 Continue\r\n"))
        h.wait(2.9)
        #expect(h.executor.sends[client] == nil)
        h.wait(0.2)
        #expect(
            h.executor.pendingSend(client)?.hasPrefix("HTTP/1.1 408 Request Timeout") == true,
            "\(h.executor.pendingSend(client) ?? "nothing sent")"
        )
        #expect(h.executor.closed.contains(upstream))
        #expect(h.timeouts("client_body") == 1)
    }

    @Test("send: a client that stops reading is closed after send_timeout")
    func sendTimeout() throws {
        let h = try WorkerHarness()
        let client = h.connectClient()
        h.clientSends(Self.demo, on: client)
        #expect(h.executor.sends[client] != nil)
        h.wait(3.9)
        #expect(!h.executor.closed.contains(client))
        h.wait(0.2)
        #expect(h.executor.closed.contains(client))
        #expect(h.timeouts("client_send") == 1)
        #expect(h.executor.buffersInUse == 0)
    }

    @Test("linger: after an error answered before the body was read, the write side shuts and the close follows")
    func lingerTimeout() throws {
        let h = try WorkerHarness()
        let client = h.connectClient()
        h.clientSends("POST /small HTTP/1.1\r\nHost: api\r\nContent-Length: 100\r\n\r\nabc", on: client)
        #expect(try h.sent(on: client).hasPrefix("HTTP/1.1 413 "))
        #expect(h.executor.shutDown == [client])
        // Whatever the client still sends is read and dropped.
        h.clientSends("more body", on: client)
        #expect(h.executor.receives[client] != nil)
        h.wait(1.9)
        #expect(!h.executor.closed.contains(client))
        h.wait(0.2)
        #expect(h.executor.closed.contains(client))
        #expect(h.executor.buffersInUse == 0)
    }

    @Test("upstream connect: 504 after timeout.connect, counted as an upstream_connect timeout")
    func connectTimeout() throws {
        let h = try WorkerHarness()
        let client = h.connectClient()
        h.clientSends(Self.get, on: client)
        let upstream = try #require(h.executor.opened.last)
        h.wait(1.1)
        let response = try #require(h.executor.pendingSend(client))
        #expect(response.hasPrefix("HTTP/1.1 504 Gateway Timeout"), "\(response)")
        #expect(response.contains("timed out connecting to the upstream"))
        #expect(h.executor.closed.contains(upstream))
        #expect(h.timeouts("upstream_connect") == 1)
    }

    @Test("upstream send: 504 after timeout.send when the request cannot be written")
    func upstreamSendTimeout() throws {
        let h = try WorkerHarness()
        let client = h.connectClient()
        h.clientSends(Self.get, on: client)
        _ = try h.upstreamConnects()
        h.wait(2.1)
        #expect(h.executor.pendingSend(client)?.contains("timed out sending the request to the upstream") == true)
        #expect(h.timeouts("upstream_send") == 1)
    }

    @Test("upstream read: 504 after timeout.read without a response; a slow body after the head cuts the client")
    func upstreamReadTimeout() throws {
        let h = try WorkerHarness()
        let client = h.connectClient()
        h.clientSends(Self.get, on: client)
        let upstream = try h.upstreamConnects()
        try h.sent(on: upstream)
        h.wait(2.9)
        #expect(h.executor.sends[client] == nil)
        h.wait(0.2)
        #expect(h.executor.pendingSend(client)?.contains("timed out waiting for the upstream") == true)
        #expect(h.timeouts("upstream_read") == 1)

        // Once the head went out, a timeout can only close the client connection.
        let second = h.connectClient()
        h.clientSends(Self.get, on: second)
        let other = try h.upstreamConnects()
        try h.sent(on: other)
        h.executor.deliver("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nab", to: other)
        h.turn()
        try h.sent(on: second)
        h.wait(3.1)
        #expect(h.executor.closed.contains(second))
        #expect(h.executor.closed.contains(other))
        #expect(h.executor.buffersInUse == 0)
    }

    @Test("upstream read: the timeout starts once the whole request went out, not while the body still arrives")
    func upstreamReadTimeoutWaitsForTheBody() throws {
        // Gaps in the body longer than `read` (3 s) but within `body_timeout` (10 s): the client is slow, and
        // the upstream, which is waiting for it, must not be blamed.
        let h = try WorkerHarness(
            yaml: WorkerHarness.yaml.replacingOccurrences(of: "body_timeout: 3", with: "body_timeout: 10")
        )
        let (client, upstream) = try Self.uploadWithContinue(h)
        #expect(try h.sent(on: client).hasPrefix("HTTP/1.1 100 Continue\r\n"))
        h.wait(3.5)
        h.clientSends("01234", on: client)
        #expect(try h.sent(on: upstream) == "01234")
        h.wait(3.5)
        #expect(h.executor.sends[client] == nil, "answered while the client was still sending within body_timeout")
        #expect(!h.executor.closed.contains(upstream))
        h.clientSends("56789", on: client)
        #expect(try h.sent(on: upstream) == "56789")
        // From the last byte sent, the upstream has `read` (3 s) to answer.
        h.wait(2.9)
        #expect(h.executor.sends[client] == nil)
        h.wait(0.2)
        #expect(h.executor.pendingSend(client)?.contains("timed out waiting for the upstream") == true)
        #expect(h.timeouts("upstream_read") == 1)
        #expect(h.timeouts("client_body") == 0)
    }

    @Test("pool idle: a parked upstream connection closes after keepalive_pool.idle_timeout")
    func poolIdleTimeout() throws {
        let h = try WorkerHarness()
        let client = h.connectClient()
        h.clientSends(Self.get, on: client)
        let upstream = try h.upstreamConnects()
        try h.sent(on: upstream)
        h.executor.deliver(WorkerHarness.okResponse, to: upstream)
        h.turn()
        try h.sent(on: client)
        h.wait(5.9)
        #expect(!h.executor.closed.contains(upstream))
        h.wait(0.2)
        #expect(h.executor.closed.contains(upstream))
        #expect(h.counter("gateway_upstream_pool_idle_connections", "upstream=\"backend\"") == 0)
    }
}

/// Retries on scripted events: which node, which bytes, and the backoff deadline on the manual clock.
@Suite("Worker retries on scripted events")
struct WorkerRetryTests {
    /// Two nodes, retries on connect failures and timeouts, 1 s read timeout, backoff 0.2–0.4 s.
    static let yaml = """
        workers: 1
        listen: "127.0.0.1:0"
        upstreams:
          - id: pair
            nodes: {"127.0.0.1:9": 1, "127.0.0.1:10": 1}
            timeout: {connect: 1, send: 1, read: 1}
            retries: 1
            retry_on: [connect_failure, timeout]
            retry_backoff: {base: 0.4, max: 0.4}
        routes:
          - {id: api, uris: ["/*"], upstream_id: pair}
        """

    @Test("a refused connect goes to the other node at once with the same request")
    func refusedConnectIsRetriedAtOnce() throws {
        let h = try WorkerHarness(yaml: Self.yaml)
        let client = h.connectClient()
        h.clientSends("GET /a HTTP/1.1\r\nHost: api\r\n\r\n", on: client)
        let first = try #require(h.executor.opened.last)
        h.executor.completeConnect(first, result: -ECONNREFUSED)
        h.turn()
        #expect(h.executor.closed.contains(first))
        let second = try h.upstreamConnects()
        #expect(second != first, "no second connection")
        #expect(try h.sent(on: second).hasPrefix("GET /a HTTP/1.1\r\n"))
        h.executor.deliver(WorkerHarness.okResponse, to: second)
        h.turn()
        #expect(try h.sent(on: client).hasPrefix("HTTP/1.1 200 OK"))
        #expect(h.counter("gateway_upstream_retries_total", "upstream=\"pair\",reason=\"connect_failure\"") == 1)
    }

    @Test("a read timeout backs off on the client's deadline, then retries the other node")
    func timeoutRetriesAfterTheBackoff() throws {
        let h = try WorkerHarness(yaml: Self.yaml)
        let client = h.connectClient()
        h.clientSends("GET /b HTTP/1.1\r\nHost: api\r\n\r\n", on: client)
        let first = try h.upstreamConnects()
        let request = try h.sent(on: first)
        h.wait(1.05)
        #expect(h.executor.closed.contains(first), "the timed-out connection stayed open")
        #expect(h.executor.opened.count == 1, "retried before the backoff")
        // Backoff: a random delay in [0.2, 0.4) s.
        h.wait(0.45)
        #expect(h.executor.opened.count == 2, "no retry after the backoff")
        let second = try h.upstreamConnects()
        #expect(try h.sent(on: second) == request)
        h.executor.deliver(WorkerHarness.okResponse, to: second)
        h.turn()
        #expect(try h.sent(on: client).hasPrefix("HTTP/1.1 200 OK"))
        #expect(h.timeouts("upstream_read") == 1)
        #expect(h.counter("gateway_upstream_retries_total", "upstream=\"pair\",reason=\"timeout\"") == 1)
    }
}
