import Testing

@testable import Gateway

/// The transitions a connection takes once an exchange is over, as pure decisions.
@Suite("Connection transitions after an exchange")
struct ConnectionTransitionTests {
    static func client(
        requestDone: Bool = true,
        closeAfter: Bool = false,
        buffered: Bool = false,
        partialHead: Bool = false
    ) -> ClientConnection {
        var connection = ClientConnection()
        connection.requestDone = requestDone
        connection.closeAfter = closeAfter
        if buffered { connection.inputSource = .provided }
        if partialHead { connection.headBlock = 3 }
        return connection
    }

    @Test func keepAliveWaitsOrReadsWhatIsBuffered() {
        #expect(Self.client().nextStep(draining: false) == .awaitRequest)
        #expect(Self.client(buffered: true).nextStep(draining: false) == .readBufferedRequest)
    }

    @Test func closingLingersOnlyWhenSomethingIsUnread() {
        #expect(Self.client(closeAfter: true).nextStep(draining: false) == .close)
        #expect(Self.client().nextStep(draining: true) == .close)
        #expect(Self.client(closeAfter: true, buffered: true).nextStep(draining: false) == .linger)
        #expect(Self.client(closeAfter: true, partialHead: true).nextStep(draining: false) == .linger)
        // A response sent before the request body was read: the body may still be arriving.
        #expect(Self.client(requestDone: false).nextStep(draining: false) == .linger)
    }

    static func upstream(served: UInt32 = 1) -> UpstreamConnection {
        var connection = UpstreamConnection()
        connection.state = .streaming
        connection.requestsServed = served
        return connection
    }

    @Test func aCleanExchangeIsParkedWithinTheLimits() {
        let clean = Self.upstream()
        #expect(clean.isReusable(maxRequests: 100, pooled: 0, poolSize: 4, draining: false))
        #expect(!clean.isReusable(maxRequests: 1, pooled: 0, poolSize: 4, draining: false), "request cap")
        #expect(!clean.isReusable(maxRequests: 100, pooled: 4, poolSize: 4, draining: false), "pool full")
        #expect(!clean.isReusable(maxRequests: 100, pooled: 0, poolSize: 4, draining: true), "draining")
    }

    @Test func anythingLeftInFlightOrUnreadCloses() {
        var extraBytes = Self.upstream()
        extraBytes.reusable = false
        #expect(!extraBytes.isReusable(maxRequests: 100, pooled: 0, poolSize: 4, draining: false))
        var stillSending = Self.upstream()
        stillSending.sending = true
        #expect(!stillSending.isReusable(maxRequests: 100, pooled: 0, poolSize: 4, draining: false))
        var unsentOutput = Self.upstream()
        unsentOutput.outputSource = .block
        #expect(!unsentOutput.isReusable(maxRequests: 100, pooled: 0, poolSize: 4, draining: false))
        var stashed = Self.upstream()
        stashed.pendingBuffer = 2
        #expect(!stashed.isReusable(maxRequests: 100, pooled: 0, poolSize: 4, draining: false))
        var unfinished = Self.upstream()
        unfinished.responseFramer = HTTPBodyFramer(.contentLength(10), limits: HTTPLimits())
        #expect(!unfinished.isReusable(maxRequests: 100, pooled: 0, poolSize: 4, draining: false))
    }
}
