import Glibc
import Testing

@testable import Gateway

/// Reloads under requests in flight, on scripted events: a request finishes on the plan it started on,
/// new requests take the new one, and old plans are let go once their last request ends.
@Suite("Worker reloads with requests in flight")
struct WorkerReloadTests {
    /// Route `/small` takes 4-byte bodies; `api` goes to `pair` (ports 9 and 10, one retry on a refused
    /// connect). The reloaded config raises the body limit and moves `api` to `other` (port 11).
    static let before = """
        workers: 1
        listen: "127.0.0.1:0"
        limits: {header_timeout: 1, keepalive_timeout: 5, body_timeout: 3, send_timeout: 4}
        upstreams:
          - id: pair
            nodes: {"127.0.0.1:9": 1, "127.0.0.1:10": 1}
            timeout: {connect: 1, send: 2, read: 3}
            retries: 1
            retry_on: [connect_failure]
            retry_backoff: {base: 0.4, max: 0.4}
          - id: other
            nodes: {"127.0.0.1:11": 1}
            timeout: {connect: 1, send: 2, read: 3}
        routes:
          - {id: small, uri: /small, upstream_id: pair, client_max_body_size: 4}
          - {id: api, uris: ["/*"], upstream_id: pair}
        """
    static let after =
        before
        .replacingOccurrences(of: "client_max_body_size: 4", with: "client_max_body_size: 100")
        .replacingOccurrences(
            of: "{id: api, uris: [\"/*\"], upstream_id: pair}",
            with: "{id: api, uris: [\"/*\"], upstream_id: other}"
        )

    static func reloaded(_ h: WorkerHarness, _ yaml: String) throws -> ProxyPlan {
        let config = try ConfigLoader.parse(yaml: yaml, sourceName: "reload")
        let current = h.worker.plan
        return try ProxyPlan(config: config, layout: current.layout, previous: current, now: h.now)
    }

    @Test("a body limit stays the one the request started with; the next request gets the new one")
    func bodyLimitAcrossReload() throws {
        #expect(Self.after != Self.before)
        let h = try WorkerHarness(yaml: Self.before)
        let client = h.connectClient()
        h.clientSends("POST /small HTTP/1.1\r\nHost: api\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nab\r\n", on: client)
        let upstream = try h.upstreamConnects()
        try h.sent(on: upstream)
        #expect(h.worker.adopt(try Self.reloaded(h, Self.after)))
        h.turn()
        // 2 + 4 bytes: over the 4 the request started with, under the reloaded 100.
        h.clientSends("4\r\ncdef\r\n0\r\n\r\n", on: client)
        let response = try #require(h.executor.pendingSend(client))
        #expect(response.hasPrefix("HTTP/1.1 413 "), "\(response)")

        let next = h.connectClient()
        h.clientSends("POST /small HTTP/1.1\r\nHost: api\r\nContent-Length: 6\r\n\r\nabcdef", on: next)
        #expect(
            h.executor.pendingSend(next) == nil,
            "the new request was refused: \(h.executor.pendingSend(next) ?? "")"
        )
        #expect(h.executor.connectPorts[try #require(h.executor.opened.last)] != nil)
    }

    @Test("a retry goes to the upstream the route had when the request started")
    func retryKeepsTheStartingUpstream() throws {
        let h = try WorkerHarness(yaml: Self.before)
        let client = h.connectClient()
        h.clientSends("GET /a HTTP/1.1\r\nHost: api\r\n\r\n", on: client)
        let first = try #require(h.executor.opened.last)
        let firstPort = try #require(h.executor.connectPorts[first])
        #expect(firstPort == 9 || firstPort == 10)
        #expect(h.worker.adopt(try Self.reloaded(h, Self.after)))
        h.executor.completeConnect(first, result: -ECONNREFUSED)
        h.turn()
        let second = try #require(h.executor.opened.last)
        #expect(second != first, "no retry")
        #expect(h.executor.connectPorts[second] == (firstPort == 9 ? 10 : 9), "the retry left the starting upstream")

        // A request that starts after the reload goes to the route's new upstream.
        let next = h.connectClient()
        h.clientSends("GET /b HTTP/1.1\r\nHost: api\r\n\r\n", on: next)
        #expect(h.executor.connectPorts[try #require(h.executor.opened.last)] == 11)
    }

    @Test("an old plan is held while a request uses it and let go after its last request ends")
    func oldPlansAreLetGo() throws {
        let h = try WorkerHarness(yaml: Self.before)
        let client = h.connectClient()
        h.clientSends("GET /slow HTTP/1.1\r\nHost: api\r\n\r\n", on: client)
        let upstream = try h.upstreamConnects()
        try h.sent(on: upstream)
        let slot = try #require((0..<h.worker.clientCapacity).first { h.worker.clients[$0].fd == client })
        let started = h.worker.clients[slot].planSlot
        // Reloads while the request waits: its plan stays; the others come and go.
        for round in 0..<(PlanSlots.capacity * 2) {
            #expect(h.worker.adopt(try Self.reloaded(h, round % 2 == 0 ? Self.after : Self.before)))
            h.turn()
            #expect(h.worker.planSlots.userCount(started) == 1)
            #expect(h.worker.planSlots.heldCount <= 3, "plans pile up: \(h.worker.planSlots.heldCount)")
        }
        h.executor.deliver(WorkerHarness.okResponse, to: upstream)
        h.turn()
        #expect(try h.sent(on: client).hasPrefix("HTTP/1.1 200 OK"))
        #expect(h.worker.planSlots.userCount(started) == 0)
        #expect(h.worker.adopt(try Self.reloaded(h, Self.before)))
        h.turn()
        #expect(h.worker.planSlots.heldCount == 2, "the current plan and the one it replaced")
    }

    @Test("with every plan slot held by a request, a reload moves the oldest plan's requests to the current one")
    func fullSlotsMoveTheOldestRequests() throws {
        let h = try WorkerHarness(yaml: Self.before, buffers: 32)
        var upstreams: [Int32] = []
        var clients: [Int32] = []
        var slots: [Int] = []
        // One slow request per plan.
        for round in 0..<PlanSlots.capacity {
            let client = h.connectClient()
            h.clientSends("GET /slow\(round) HTTP/1.1\r\nHost: api\r\n\r\n", on: client)
            let upstream = try h.upstreamConnects()
            try h.sent(on: upstream)
            clients.append(client)
            upstreams.append(upstream)
            slots.append(try #require((0..<h.worker.clientCapacity).first { h.worker.clients[$0].fd == client }))
            if round < PlanSlots.capacity - 1 {
                #expect(h.worker.adopt(try Self.reloaded(h, round % 2 == 0 ? Self.after : Self.before)))
                h.turn()
            }
        }
        let oldest = h.worker.clients[slots[0]].planSlot
        let current = h.worker.planSlots.current
        let generation = h.worker.plan.generation
        #expect(h.worker.planSlots.heldCount == PlanSlots.capacity)
        #expect(h.worker.adopt(try Self.reloaded(h, Self.after)), "a reload stalled behind long requests")
        #expect(h.worker.plan.generation != generation)
        #expect(h.worker.clients[slots[0]].planSlot == current, "the oldest request did not move")
        #expect(h.worker.planSlots.current == oldest, "the new plan did not take the freed slot")
        #expect(h.worker.planSlots.heldCount == PlanSlots.capacity)
        // Every request still completes.
        for (client, upstream) in zip(clients, upstreams) {
            h.executor.deliver(WorkerHarness.okResponse, to: upstream)
            h.turn()
            #expect(try h.sent(on: client).hasPrefix("HTTP/1.1 200 OK"))
        }
        h.turn()
        #expect(h.worker.planSlots.heldCount == 2)
    }
}
