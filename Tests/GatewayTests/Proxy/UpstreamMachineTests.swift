import Glibc
import Testing

@testable import Gateway

/// The upstream-connection machine driven by scripted events: no sockets, no worker.
@Suite("Upstream connection machine")
struct UpstreamMachineTests {
    /// A connection serving a request for client 0, its whole request kept in block 7.
    static func exchanging(reused: Bool = false) -> UpstreamConnection {
        var connection = UpstreamConnection()
        connection.state = .exchanging
        connection.client = 0
        connection.reused = reused
        connection.outputSource = .block
        connection.outputID = 7
        connection.outputLength = 100
        connection.retainedBlock = 7
        connection.retainedLength = 100
        return connection
    }

    @Test func aConnectSendsTheWaitingRequestOrFails() {
        var connecting = Self.exchanging()
        connecting.state = .connecting
        #expect(connecting.connectCompleted(result: 0) == .connected(sendRequest: true))
        #expect(connecting.state == .exchanging)

        var refused = Self.exchanging()
        refused.state = .connecting
        #expect(refused.connectCompleted(result: -ECONNREFUSED) == .fail(.connectRefused, mayRetry: true))
        #expect(UpstreamFailure.connectRefused.status == 502)
        #expect(UpstreamFailure.connectRefused.isConnectFailure)
    }

    @Test func aShortSendContinuesWhereItStopped() {
        var connection = Self.exchanging()
        connection.sending = true
        #expect(connection.sendCompleted(result: 40) == .send)
        #expect(connection.outputOffset == 40 && connection.outputLength == 60)
        #expect(!connection.sending)
        #expect(connection.sendCompleted(result: 60) == .requestSent)
    }

    @Test func aStalePooledConnectionResendsOnAFreshOne() {
        // The upstream closed the pooled connection while it was idle: the send or the first
        // receive fails before any response byte. The node never saw the request.
        var sendFailed = Self.exchanging(reused: true)
        #expect(sendFailed.sendCompleted(result: -EPIPE) == .resendOnFreshConnection)
        var closedBeforeAnswer = Self.exchanging(reused: true)
        #expect(
            closedBeforeAnswer.receiveCompleted(result: 0, buffer: 3, clientSending: false) == .resendOnFreshConnection
        )
        var reset = Self.exchanging(reused: true)
        #expect(
            reset.receiveCompleted(result: -ECONNRESET, buffer: 0, clientSending: false) == .resendOnFreshConnection
        )
    }

    @Test func aFreshConnectionThatFailsIsAFailureThatMayRetry() {
        var fresh = Self.exchanging()
        #expect(fresh.sendCompleted(result: -EPIPE) == .fail(.closedWhileSending, mayRetry: true))
        var closed = Self.exchanging()
        #expect(
            closed.receiveCompleted(result: 0, buffer: 0, clientSending: false)
                == .fail(.closedPrematurely, mayRetry: true)
        )
        var reset = Self.exchanging()
        #expect(
            reset.receiveCompleted(result: -ECONNRESET, buffer: 0, clientSending: false)
                == .fail(.connectionFailed, mayRetry: true)
        )
    }

    @Test func afterHeadBytesTheRequestIsNeverSentAgain() {
        var partHead = Self.exchanging(reused: true)
        partHead.headLength = 20
        #expect(
            partHead.receiveCompleted(result: 0, buffer: 0, clientSending: false)
                == .fail(.closedPrematurely, mayRetry: false)
        )
    }

    @Test func aCloseEndsOnlyACloseDelimitedBody() {
        var closeDelimited = Self.exchanging()
        closeDelimited.state = .streaming
        closeDelimited.responseFramer = HTTPBodyFramer(.closeDelimited, limits: HTTPLimits())
        #expect(closeDelimited.receiveCompleted(result: 0, buffer: 0, clientSending: false) == .endOfResponse)
        #expect(!closeDelimited.reusable)

        var framed = Self.exchanging()
        framed.state = .streaming
        framed.responseFramer = HTTPBodyFramer(.contentLength(1000), limits: HTTPLimits())
        #expect(framed.receiveCompleted(result: 0, buffer: 0, clientSending: false) == .cutClient)
        var reset = Self.exchanging()
        reset.state = .streaming
        reset.responseFramer = HTTPBodyFramer(.closeDelimited, limits: HTTPLimits())
        #expect(reset.receiveCompleted(result: -ECONNRESET, buffer: 0, clientSending: false) == .cutClient)
    }

    @Test func responseBytesWaitWhileTheClientIsStillBeingSent() {
        var connection = Self.exchanging()
        connection.receiving = true
        #expect(connection.receiveCompleted(result: 512, buffer: 9, clientSending: true) == .none)
        #expect(connection.pendingBuffer == 9 && connection.pendingLength == 512)
        #expect(!connection.receiving)
        var flowing = Self.exchanging()
        #expect(
            flowing.receiveCompleted(result: 512, buffer: 9, clientSending: false) == .forward(buffer: 9, length: 512)
        )
    }

    @Test func bufferStarvationReceivesAgain() {
        var connection = Self.exchanging()
        #expect(connection.receiveCompleted(result: -ENOBUFS, buffer: 0, clientSending: false) == .receive)
    }

    @Test func aPooledConnectionThatSpeaksOrClosesIsDropped() {
        var pooled = UpstreamConnection()
        pooled.state = .pooled
        #expect(pooled.receiveCompleted(result: 10, buffer: 4, clientSending: false) == .discardAndClose(buffer: 4))
        var closed = UpstreamConnection()
        closed.state = .pooled
        #expect(closed.receiveCompleted(result: 0, buffer: 0, clientSending: false) == .close)
        var idle = UpstreamConnection()
        idle.state = .pooled
        idle.deadline = .poolIdle
        #expect(idle.deadlineReached() == .close)
    }

    @Test func eachDeadlineFailsItsOwnWay() {
        var connect = Self.exchanging()
        connect.state = .connecting
        connect.deadline = .connect
        #expect(connect.deadlineReached() == .fail(.connectTimeout, mayRetry: true))
        #expect(connect.deadline == .none)

        var send = Self.exchanging()
        send.deadline = .send
        #expect(send.deadlineReached() == .fail(.sendTimeout, mayRetry: true))

        var read = Self.exchanging()
        read.deadline = .read
        #expect(read.deadlineReached() == .fail(.readTimeout, mayRetry: true))

        var streaming = Self.exchanging()
        streaming.state = .streaming
        streaming.deadline = .read
        #expect(streaming.deadlineReached() == .fail(.readTimeout, mayRetry: false), "the client has the head already")

        var cleared = Self.exchanging()
        #expect(cleared.deadlineReached() == .none)
    }

    @Test func failuresMapToStatusHealthAndRetryCondition() {
        #expect(UpstreamFailure.connectTimeout.status == 504)
        #expect(UpstreamFailure.connectTimeout.timeout == .upstreamConnect)
        #expect(UpstreamFailure.connectTimeout.outcome == .timeout)
        #expect(UpstreamFailure.connectTimeout.retryCondition == .connectFailure)
        #expect(UpstreamFailure.readTimeout.retryCondition == .timeout)
        #expect(UpstreamFailure.sendTimeout.timeout == .upstreamSend)
        #expect(UpstreamFailure.closedPrematurely.outcome == .connectFailure)
        #expect(UpstreamFailure.closedPrematurely.timeout == nil)
        #expect(!UpstreamFailure.readTimeout.isConnectFailure)
    }
}
