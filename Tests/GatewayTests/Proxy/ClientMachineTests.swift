import Glibc
import Testing

@testable import Gateway

/// The client-connection machine driven by scripted events: no sockets, no worker.
@Suite("Client connection machine")
struct ClientMachineTests {
    static func connection(_ state: ClientState) -> ClientConnection {
        var connection = ClientConnection()
        connection.state = state
        connection.fd = 5
        return connection
    }

    @Test func receivedBytesBecomeTheInput() {
        var connection = Self.connection(.idle)
        connection.receiving = true
        #expect(connection.receiveCompleted(result: 120, buffer: 11) == .processInput)
        #expect(!connection.receiving)
        #expect(connection.inputSource == .provided && connection.inputID == 11)
        #expect(connection.inputOffset == 0 && connection.inputLength == 120)
        #expect(connection.bytesIn == 120)
    }

    @Test func bytesThatWouldReorderInputCloseTheConnection() {
        var connection = Self.connection(.exchanging)
        connection.inputSource = .block
        #expect(connection.receiveCompleted(result: 10, buffer: 4) == .discardAndClose(buffer: 4))
    }

    @Test func bufferStarvationWaitsInsteadOfFailing() {
        var connection = Self.connection(.readingHead)
        #expect(connection.receiveCompleted(result: -ENOBUFS, buffer: 0) == .awaitBuffers)
        #expect(connection.inputSource == .none)
    }

    @Test func aClientClosingMidBodyClosesTheConnection() {
        var connection = Self.connection(.exchanging)
        connection.requestDone = false
        #expect(connection.receiveCompleted(result: 0, buffer: 0) == .close(timeout: nil))
        var reset = Self.connection(.exchanging)
        #expect(reset.receiveCompleted(result: -ECONNRESET, buffer: 0) == .close(timeout: nil))
    }

    @Test func aShortSendContinuesWhereItStopped() {
        var connection = Self.connection(.responding)
        connection.outputSource = .block
        connection.outputLength = 300
        connection.sending = true
        #expect(connection.sendCompleted(result: 100) == .send)
        #expect(connection.outputOffset == 100 && connection.outputLength == 200 && !connection.sending)
        #expect(connection.sendCompleted(result: 200) == .outputSent(then: .finishResponse))
        #expect(connection.bytesOut == 300)
        #expect(connection.sendCompleted(result: -EPIPE) == .close(timeout: nil))
    }

    @Test func aSentChunkOfAProxiedResponseLetsMoreFlow() {
        var streaming = Self.connection(.exchanging)
        streaming.upstream = 3
        streaming.outputLength = 10
        #expect(streaming.sendCompleted(result: 10) == .outputSent(then: .resumeUpstream(3)))
        var done = Self.connection(.exchanging)
        done.upstream = 3
        done.responseDone = true
        done.outputLength = 10
        #expect(done.sendCompleted(result: 10) == .outputSent(then: .finishExchange))
        // A 100 Continue sent before any upstream is attached.
        var interim = Self.connection(.exchanging)
        interim.outputLength = 25
        #expect(interim.sendCompleted(result: 25) == .outputSent(then: .idle))
    }

    @Test func theHeaderDeadlineAnswersOnlyAClientThatStartedAHead() {
        var silent = Self.connection(.idle)
        silent.deadline = .header
        #expect(silent.deadlineReached() == .close(timeout: nil))
        #expect(silent.deadline == .none)
        var partial = Self.connection(.readingHead)
        partial.deadline = .header
        partial.headBlock = 2
        #expect(partial.deadlineReached() == .respond(.headerTimeout))
        #expect(ClientFailure.headerTimeout.status == 408)
        #expect(ClientFailure.headerTimeout.timeout == .clientHeader)
    }

    @Test func eachOtherDeadlineHasItsOwnAction() {
        var body = Self.connection(.exchanging)
        body.deadline = .body
        #expect(body.deadlineReached() == .abortExchange(.bodyTimeout))
        var send = Self.connection(.responding)
        send.deadline = .send
        #expect(send.deadlineReached() == .close(timeout: .clientSend))
        var backoff = Self.connection(.exchanging)
        backoff.deadline = .retryBackoff
        #expect(backoff.deadlineReached() == .startRetry)
        var keepAlive = Self.connection(.idle)
        keepAlive.deadline = .keepAlive
        #expect(keepAlive.deadlineReached() == .close(timeout: nil))
        var linger = Self.connection(.lingering)
        linger.deadline = .linger
        #expect(linger.deadlineReached() == .close(timeout: nil))
    }

    @Test func theDeadlinesOfPluginsTLSTunnelsAndHTTP2HaveTheirOwnActions() {
        // Every kind of client deadline is listed here or above: a new kind without a case fails to compile
        // in the machine, and without a line here goes untested.
        let expected: [(ClientState, ClientDeadline, ClientAction)] = [
            (.exchanging, .pluginDelay, .resumePlugins),
            (.exchanging, .backendWait, .backendTimeout),
            (.readingHead, .tlsHandshake, .close(timeout: .tlsHandshake)),
            (.idle, .tlsIdleTrim, .trimIdleTLS),
            (.tunneling, .tunnelIdle, .tunnelIdle),
            (.http2, .keepAlive, .http2Idle),
            (.idle, .none, .close(timeout: nil)),
        ]
        for (state, kind, action) in expected {
            var connection = Self.connection(state)
            connection.deadline = kind
            #expect(connection.deadlineReached() == action, "\(kind) in \(state)")
            #expect(connection.deadline == .none, "\(kind) stays armed after it fired")
        }
    }
}
