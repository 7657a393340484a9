import Testing

@testable import Gateway

/// The transitions the worker drives outside I/O completions: the state each sets and the deadline it
/// names, checked on the machines alone.
@Suite("Machine transitions and the deadlines they name")
struct MachineTransitionTests {
    static func exchanging(
        requestDone: Bool = true,
        buffered: Bool = false,
        closeAfter: Bool = false
    )
        -> ClientConnection
    {
        var connection = ClientConnection()
        connection.state = .exchanging
        connection.route = 4
        connection.requestDone = requestDone
        connection.closeAfter = closeAfter
        if buffered { connection.inputSource = .provided }
        return connection
    }

    @Test func aFinishedResponseWaitsWithTheKeepAliveDeadlineOrTrimsTLSFirst() {
        var plain = Self.exchanging()
        #expect(plain.responseFinished(draining: false, trimTLSWhenIdle: false) == .awaitRequest(deadline: .keepAlive))
        #expect(plain.state == .idle && plain.route == -1 && plain.requestsServed == 1)
        var tls = Self.exchanging()
        #expect(tls.responseFinished(draining: false, trimTLSWhenIdle: true) == .awaitRequest(deadline: .tlsIdleTrim))
    }

    @Test func aFinishedResponseReadsAPipelinedRequestOrEnds() {
        var pipelined = Self.exchanging(buffered: true)
        #expect(pipelined.responseFinished(draining: false, trimTLSWhenIdle: false) == .readBufferedRequest)
        #expect(pipelined.state == .readingHead && pipelined.route == -1)
        var closing = Self.exchanging(closeAfter: true)
        #expect(closing.responseFinished(draining: false, trimTLSWhenIdle: false) == .close)
        var draining = Self.exchanging()
        #expect(draining.responseFinished(draining: true, trimTLSWhenIdle: false) == .close)
        // An error answered before the body was read: unread bytes must not turn the close into a reset.
        var unread = Self.exchanging(requestDone: false)
        #expect(unread.responseFinished(draining: false, trimTLSWhenIdle: false) == .linger)
        #expect(unread.requestsServed == 1)
        #expect(unread.lingerStarted() == .linger)
        #expect(unread.state == .lingering)
    }

    @Test func theHeadDeadlineIsArmedOnceAndAnswersAreMarkedStarted() {
        var connection = ClientConnection()
        connection.state = .idle
        connection.deadline = .keepAlive
        connection.requestArrived()
        #expect(connection.state == .readingHead)
        #expect(connection.incompleteHeadDeadline == .header)
        connection.deadline = .header
        #expect(connection.incompleteHeadDeadline == nil, "a fresh connection's head deadline runs from accept")
        connection.exchangeStarted()
        #expect(connection.state == .exchanging)
        connection.gatewayResponseStarted(status: 503, close: true)
        #expect(connection.state == .responding && connection.status == 503)
        #expect(connection.closeAfter && connection.responseStarted)
        connection.fd = 9
        connection.closed()
        #expect(connection.state == .closed && connection.fd == -1 && connection.deadline == .none)
    }

    @Test func upstreamTransitionsNameTheirDeadlines() {
        var connection = UpstreamConnection()
        #expect(connection.connectStarted(fd: 7, upstream: 2, node: 5) == .connect)
        #expect(
            connection.state == .connecting && connection.fd == 7 && connection.upstream == 2 && connection.node == 5
        )
        #expect(!connection.isConnected)
        connection.client = 3
        connection.state = .exchanging
        #expect(!connection.responseStarted)
        connection.responseHeadForwarded()
        #expect(connection.state == .streaming && connection.responseStarted)
        #expect(connection.parked() == .poolIdle)
        #expect(connection.state == .pooled && connection.client == -1)
        connection.reusable = false
        connection.takenFromPool()
        #expect(connection.state == .exchanging && connection.reused && connection.reusable)
        connection.closed()
        #expect(connection.state == .closed && connection.fd == -1 && connection.deadline == .none)
    }
}
